package tuples

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
)

// Payload is what a tuple carries besides its identity: a condition with
// part of its context, and an expiry. A tuple is identified by object,
// relation and subject alone; writing it again with another payload
// replaces it. The zero Payload is a plain tuple.
type Payload struct {
	// Condition names a schema condition; "" for none.
	Condition string
	// Context is the stored part of the condition's context, as canonical
	// JSON (keys sorted, no spaces); "" when empty.
	Context string
	// Expires is when the tuple stops existing; zero for never. A tuple
	// whose expiry is at or before the evaluation clock is invisible.
	Expires time.Time
}

// IsZero reports a plain tuple: no condition and no expiry.
func (p Payload) IsZero() bool { return p.Condition == "" && p.Context == "" && p.Expires.IsZero() }

// ExpiredAt reports whether the tuple no longer exists at clock now.
func (p Payload) ExpiredAt(now time.Time) bool { return !p.Expires.IsZero() && !p.Expires.After(now) }

// Equal reports whether two payloads are the same (expiries compared as
// instants, whatever their time zones).
func (p Payload) Equal(o Payload) bool {
	return p.Condition == o.Condition && p.Context == o.Context && p.Expires.Equal(o.Expires)
}

// String returns the bracket suffix of the text form: `[NAME]`,
// `[NAME:{JSON}]`, `[expiration:RFC3339]`, or a condition then an expiry.
func (p Payload) String() string {
	var b strings.Builder
	if p.Condition != "" {
		b.WriteString("[" + p.Condition)
		if p.Context != "" {
			b.WriteString(":" + p.Context)
		}
		b.WriteString("]")
	}
	if !p.Expires.IsZero() {
		b.WriteString("[expiration:" + FormatExpiry(p.Expires) + "]")
	}
	return b.String()
}

// FormatExpiry writes an expiry in RFC 3339, in UTC.
func FormatExpiry(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseExpiry reads an RFC 3339 time, UTC or with an offset.
func ParseExpiry(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiration %q is not an RFC 3339 time (like 2027-01-15T00:00:00Z)", s)
	}
	return t.UTC(), nil
}

// ParseTime reads a clock given by hand (--now, a validation file's now:,
// gc --before) as ParseExpiry reads an expiry, with a message that does
// not call it an expiration.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (like 2027-01-15T00:00:00Z)", s)
	}
	return t.UTC(), nil
}

// ParseWithPayload reads a tuple in text form with an optional bracket
// suffix: `...@user:bob[NAME]`, `[NAME:{JSON}]`, `[expiration:RFC3339]`,
// or a condition followed by an expiry. Ids hold no `[`, so the first `[`
// after the subject starts the suffix.
func ParseWithPayload(s string) (Tuple, Payload, error) {
	start := suffixStart(s)
	if start < 0 {
		t, err := Parse(s)
		return t, Payload{}, err
	}
	t, err := Parse(s[:start])
	if err != nil {
		return Tuple{}, Payload{}, err
	}
	p, err := parseSuffix(s, start)
	if err != nil {
		return Tuple{}, Payload{}, err
	}
	t.Payload = p
	return t, p, nil
}

// suffixStart is the offset of the `[` that starts the suffix, or -1.
func suffixStart(s string) int {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return -1
	}
	i := strings.IndexByte(s[at:], '[')
	if i < 0 {
		return -1
	}
	return at + i
}

func parseSuffix(s string, i int) (Payload, error) {
	fail := func(at int, format string, args ...any) error {
		return &ParseError{Input: s, Column: at + 1, Msg: fmt.Sprintf(format, args...)}
	}
	var p Payload
	seenCond, seenExp := false, false
	for i < len(s) {
		if s[i] != '[' {
			return Payload{}, fail(i, "unexpected %q after `]`; a tuple ends with at most a [condition] and an [expiration:...]", s[i])
		}
		open := i
		i++
		end := i
		for end < len(s) && s[end] != ':' && s[end] != ']' {
			end++
		}
		name := s[i:end]
		if end == len(s) {
			return Payload{}, fail(open, "the `[` is never closed; write [CONDITION], [CONDITION:{JSON}] or [expiration:TIME] (ids may not contain `[` or `]`)")
		}
		if name == "expiration" {
			if seenExp {
				return Payload{}, fail(open, "the tuple has two expirations")
			}
			if s[end] != ':' {
				return Payload{}, fail(end, "expected `:` and a time after `expiration`, like [expiration:2027-01-15T00:00:00Z]")
			}
			close := strings.IndexByte(s[end:], ']')
			if close < 0 {
				return Payload{}, fail(open, "the `[` is never closed")
			}
			close += end
			exp, err := ParseExpiry(s[end+1 : close])
			if err != nil {
				return Payload{}, fail(end+1, "%v", err)
			}
			p.Expires, seenExp = exp, true
			i = close + 1
			continue
		}
		if seenCond {
			return Payload{}, fail(open, "the tuple has two conditions; a tuple carries one")
		}
		if seenExp {
			return Payload{}, fail(open, "the condition comes before the expiration: [CONDITION][expiration:TIME]")
		}
		if pp := (parser{in: s}); !validName(&pp, i, end) {
			return Payload{}, pp.err
		}
		p.Condition, seenCond = name, true
		if s[end] == ']' {
			i = end + 1
			continue
		}
		// `:` then one JSON object, then `]`.
		dec := json.NewDecoder(strings.NewReader(s[end+1:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Payload{}, fail(end+1, "the context after `%s:` is not valid JSON: %v", name, err)
		}
		after := end + 1 + int(dec.InputOffset())
		for after < len(s) && (s[after] == ' ' || s[after] == '\t') {
			after++
		}
		if after >= len(s) || s[after] != ']' {
			return Payload{}, fail(min(after, len(s)), "expected `]` after the context of %s", name)
		}
		ctx, err := condition.DecodeContext(raw, condition.MaxStoredContextBytes)
		if err != nil {
			return Payload{}, fail(end+1, "%v", err)
		}
		p.Context = string(ctx.Encode())
		i = after + 1
	}
	return p, nil
}

// DecodePayloadContext decodes a payload's stored context.
func DecodePayloadContext(p Payload) (condition.Context, error) {
	if p.Context == "" {
		return nil, nil
	}
	return condition.DecodeContext([]byte(p.Context), condition.MaxStoredContextBytes)
}

func validName(p *parser, from, to int) bool {
	_, ok := p.name(from, to, "condition")
	return ok
}

// Evaluate says whether a tuple with this payload holds at clock now for
// a query with the request context req: denied when it has expired (it
// does not exist then), allowed when it carries no condition, else the
// condition's answer over the stored context merged with req (stored
// values win), which may be conditional with the parameters missing. A
// condition the schema does not declare, a stored context that does not
// decode, or a value of the wrong type is an error, never a denial.
func (p Payload) Evaluate(s *schema.Schema, req condition.Context, now time.Time) (condition.Result, error) {
	if p.ExpiredAt(now) {
		return condition.Result{Outcome: condition.Denied}, nil
	}
	if p.Condition == "" {
		return condition.Result{Outcome: condition.Allowed}, nil
	}
	c := s.Condition(p.Condition)
	if c == nil {
		return condition.Result{}, fmt.Errorf("tuple condition %s is not declared in the schema", p.Condition)
	}
	stored, err := DecodePayloadContext(p)
	if err != nil {
		return condition.Result{}, fmt.Errorf("stored context of condition %s: %w", p.Condition, err)
	}
	return c.Program.Eval(stored, req)
}
