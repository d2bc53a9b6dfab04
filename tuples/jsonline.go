package tuples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docketdb/docket/condition"
)

// jsonLineShape is how a JSON-lines tuple is written, quoted in errors.
const jsonLineShape = `{"object":"type:id","relation":"name","subject":"type:id"}`

// JSONLineError is a JSON-lines line that is not one tuple object;
// Column is the 1-based byte column where reading it went wrong.
type JSONLineError struct {
	Column int
	Msg    string
}

func (e *JSONLineError) Error() string { return fmt.Sprintf("column %d: %s", e.Column, e.Msg) }

// ParseJSONLine reads a line that must hold exactly one JSON object with
// the string fields object, relation and subject, optionally condition
// (a name), context (an object, with condition) and expiration (an RFC
// 3339 string), and nothing else but whitespace. It walks the tokens itself, rather than decoding into a
// struct, so that a second value on the line, a repeated field or a field
// of the wrong type is an error naming the field and the column, never
// silently dropped or reported in terms of Go types.
func ParseJSONLine(b []byte) (Tuple, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	fail := func(off int64, format string, args ...any) (Tuple, error) {
		return Tuple{}, &JSONLineError{Column: int(off) + 1, Msg: fmt.Sprintf(format, args...)}
	}
	syntax := func(err error) (Tuple, error) {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fail(max(se.Offset-1, 0), "not valid JSON: %s; write one tuple object a line: %s", trimJSONErr(se.Error()), jsonLineShape)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail(int64(len(b)), "the JSON object is not closed; write one tuple object a line: %s", jsonLineShape)
		}
		return fail(dec.InputOffset(), "not valid JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail(0, "a line must hold one JSON object, not %s: %s", jsonKind(tok), jsonLineShape)
	}
	var fields [6]string
	var seen [6]bool
	var valueAt [6]int64 // where each value's opening quote is
	names := [6]string{"object", "relation", "subject", "condition", "context", "expiration"}
	const ctxField = 4
	for dec.More() {
		at := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		key := tok.(string) // object keys are always strings
		i := 0
		for i < len(names) && names[i] != key {
			i++
		}
		if i == len(names) {
			return fail(skipSpaceComma(b, at), "unknown field %q; a tuple object has \"object\", \"relation\", \"subject\" and optionally \"condition\", \"context\", \"expiration\"", key)
		}
		if seen[i] {
			return fail(skipSpaceComma(b, at), "field %q given twice", key)
		}
		seen[i] = true
		at = dec.InputOffset()
		if i == ctxField {
			valueAt[i] = skipSpaceColon(b, at)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return syntax(err)
			}
			if len(raw) == 0 || raw[0] != '{' {
				return fail(valueAt[i], "\"context\" must be a JSON object of the condition's parameters")
			}
			fields[i] = string(raw)
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return syntax(err)
		}
		valueAt[i] = skipSpaceColon(b, at)
		s, ok := tok.(string)
		if !ok {
			return fail(valueAt[i], "%q must be a string, not %s", key, jsonKind(tok))
		}
		fields[i] = s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntax(err)
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(b[end:], " \t\r"); len(rest) > 0 {
		return fail(int64(len(b)-len(rest)), "more after the tuple object; a line holds exactly one JSON object")
	}
	for i, name := range names[:3] {
		if !seen[i] || fields[i] == "" {
			return fail(end-1, "missing %q; write %s", name, jsonLineShape)
		}
	}
	// Each field is checked on its own, so that an error names it and
	// points into it (exactly, unless the string holds escapes).
	field := func(i int, err error) (Tuple, error) {
		var pe *ParseError
		if errors.As(err, &pe) {
			return fail(valueAt[i]+int64(pe.Column), "%q: %s", names[i], pe.Msg)
		}
		return fail(valueAt[i], "%q: %v", names[i], err)
	}
	obj, err := ParseObject(fields[0])
	if err != nil {
		return field(0, err)
	}
	const probe = "x:x#" // a relation is checked as part of a tuple
	if _, err := Parse(probe + fields[1] + "@x:x"); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Column -= len(probe)
		}
		return field(1, err)
	}
	subj, err := ParseSubject(fields[2])
	if err != nil {
		return field(2, err)
	}
	var p Payload
	if seen[3] {
		if fields[3] == "" {
			return fail(valueAt[3], "\"condition\" is empty; leave it out for a tuple without a condition")
		}
		pp := parser{in: fields[3]}
		if !validName(&pp, 0, len(fields[3])) {
			return field(3, pp.err)
		}
		p.Condition = fields[3]
	}
	if seen[ctxField] {
		if p.Condition == "" {
			return fail(valueAt[ctxField], "\"context\" without \"condition\"; a context belongs to a condition")
		}
		ctx, err := condition.DecodeContext([]byte(fields[ctxField]), condition.MaxStoredContextBytes)
		if err != nil {
			return fail(valueAt[ctxField], "\"context\": %v", err)
		}
		p.Context = string(ctx.Encode())
	}
	if seen[5] {
		exp, err := ParseExpiry(fields[5])
		if err != nil {
			return fail(valueAt[5], "\"expiration\": %v", err)
		}
		p.Expires = exp
	}
	return Tuple{ObjectType: obj.Type, ObjectID: obj.ID, Relation: fields[1],
		SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation, Payload: p}, nil
}

// jsonKind names the JSON kind of a token for an error message.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// skipSpaceComma and skipSpaceColon move an offset past the separator
// and whitespace that the decoder's offset still counts before a token.
func skipSpaceComma(b []byte, at int64) int64 { return skipPast(b, at, ',') }
func skipSpaceColon(b []byte, at int64) int64 { return skipPast(b, at, ':') }

func skipPast(b []byte, at int64, sep byte) int64 {
	for at < int64(len(b)) && (b[at] == ' ' || b[at] == '\t' || b[at] == sep) {
		at++
	}
	return at
}

// trimJSONErr drops the package prefix of encoding/json's messages.
func trimJSONErr(s string) string {
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}
