package condition

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Size limits on contexts, in bytes of JSON. They also bound every string,
// list and map a condition can be handed, which is what lets the cost of an
// expression be bounded when the schema is compiled.
const (
	// MaxStoredContextBytes bounds the context stored with one tuple.
	MaxStoredContextBytes = 4 << 10
	// MaxRequestContextBytes bounds the context of one query.
	MaxRequestContextBytes = 64 << 10
)

// Context is a set of named parameter values as decoded from a JSON
// object: bool, string, json.Number, []any, map[string]any (nil never
// occurs at the top level: a JSON null is the same as leaving the key
// out). Values are typed only when a condition reads them.
type Context map[string]any

// DecodeContext reads a JSON object of at most limit bytes. Numbers keep
// their text, so that large integers are not rounded through float64.
func DecodeContext(data []byte, limit int) (Context, error) {
	if len(data) > limit {
		return nil, fmt.Errorf("context is %d bytes, more than the limit of %d", len(data), limit)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("context must be a JSON object, like {\"name\": value}")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("context is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("context has text after its JSON object")
	}
	ctx := make(Context, len(m))
	for k, v := range m {
		if v != nil {
			ctx[k] = v
		}
	}
	return ctx, nil
}

// Encode writes the context as canonical JSON: keys sorted, no spaces.
// An empty context encodes as nil.
func (c Context) Encode() []byte {
	if len(c) == 0 {
		return nil
	}
	b, err := json.Marshal(map[string]any(c))
	if err != nil {
		// Only values DecodeContext produced are stored in a Context, and
		// those always marshal.
		panic(fmt.Sprintf("condition: encode context: %v", err))
	}
	return b
}

// Merge returns the context a condition sees: stored values win over the
// request's, key by key.
func Merge(stored, request Context) Context {
	if len(request) == 0 {
		return stored
	}
	if len(stored) == 0 {
		return request
	}
	out := make(Context, len(stored)+len(request))
	for k, v := range request {
		out[k] = v
	}
	for k, v := range stored {
		out[k] = v
	}
	return out
}

// Keys returns the context's keys in order.
func (c Context) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValueError is a context value that does not have its parameter's type.
type ValueError struct {
	Condition string
	Param     string
	Expected  Type
	Reason    string
	// FromRequest: the value came from the request's context (not the
	// tuple's stored one), which the caller can correct and ask again.
	FromRequest bool
}

func (e *ValueError) Error() string {
	msg := fmt.Sprintf("condition %s: parameter %s: expected %s, %s", e.Condition, e.Param, e.Expected, e.Reason)
	if e.FromRequest {
		msg += fmt.Sprintf("; give %q in the request's context as %s", e.Param, example(e.Expected))
	}
	return msg
}

// example shows a JSON value of type t, for hints.
func example(t Type) string {
	switch t.Kind {
	case KindBool:
		return "true or false"
	case KindInt, KindUint:
		return "a whole number, like 42"
	case KindDouble:
		return "a number, like 1.5"
	case KindString:
		return `a string, like "text"`
	case KindBytes:
		return `a base64 string, like "aGVsbG8="`
	case KindDuration:
		return `a duration string, like "90m"`
	case KindTimestamp:
		return `an RFC 3339 string, like "2027-01-15T00:00:00Z"`
	case KindIPAddress:
		return `an IP address string, like "10.1.2.3"`
	case KindList:
		return "a JSON array of " + t.Elem.String() + " values"
	case KindMap:
		return "a JSON object of " + t.Elem.String() + " values"
	}
	return "any JSON value"
}

// toCEL converts a decoded JSON value to the CEL value of type t.
func toCEL(v any, t Type) (ref.Val, string) {
	switch t.Kind {
	case KindBool:
		if b, ok := v.(bool); ok {
			return types.Bool(b), ""
		}
	case KindInt:
		if n, ok := v.(json.Number); ok {
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, "got " + string(n) + " (not a 64-bit integer)"
			}
			return types.Int(i), ""
		}
	case KindUint:
		if n, ok := v.(json.Number); ok {
			u, err := strconv.ParseUint(string(n), 10, 64)
			if err != nil {
				return nil, "got " + string(n) + " (not an unsigned 64-bit integer)"
			}
			return types.Uint(u), ""
		}
	case KindDouble:
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err != nil || math.IsInf(f, 0) {
				return nil, "got " + string(n) + " (out of range)"
			}
			return types.Double(f), ""
		}
	case KindString:
		if s, ok := v.(string); ok {
			return types.String(s), ""
		}
	case KindBytes:
		if s, ok := v.(string); ok {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, "got a string that is not base64"
			}
			return types.Bytes(b), ""
		}
	case KindDuration:
		if s, ok := v.(string); ok {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Sprintf("got %q (a duration is written like \"90m\" or \"3600s\")", s)
			}
			return types.Duration{Duration: d}, ""
		}
	case KindTimestamp:
		if s, ok := v.(string); ok {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Sprintf("got %q (a timestamp is RFC 3339, like \"2027-01-15T00:00:00Z\")", s)
			}
			return types.Timestamp{Time: ts.UTC()}, ""
		}
	case KindIPAddress:
		if s, ok := v.(string); ok {
			ip, err := ParseIPAddress(s)
			if err != nil {
				return nil, fmt.Sprintf("got %q, which is not an IP address", s)
			}
			return ip, ""
		}
	case KindAny:
		return anyToCEL(v), ""
	case KindList:
		if l, ok := v.([]any); ok {
			vals := make([]ref.Val, len(l))
			for i, e := range l {
				if e == nil {
					return nil, fmt.Sprintf("got null at index %d", i)
				}
				cv, why := toCEL(e, *t.Elem)
				if why != "" {
					return nil, fmt.Sprintf("at index %d: expected %s, %s", i, t.Elem, why)
				}
				vals[i] = cv
			}
			return types.NewRefValList(types.DefaultTypeAdapter, vals), ""
		}
	case KindMap:
		if m, ok := v.(map[string]any); ok {
			vals := make(map[ref.Val]ref.Val, len(m))
			for k, e := range m {
				if e == nil {
					return nil, fmt.Sprintf("got null at key %q", k)
				}
				cv, why := toCEL(e, *t.Elem)
				if why != "" {
					return nil, fmt.Sprintf("at key %q: expected %s, %s", k, t.Elem, why)
				}
				vals[types.String(k)] = cv
			}
			return types.NewRefValMap(types.DefaultTypeAdapter, vals), ""
		}
	}
	return nil, "got " + jsonKind(v)
}

// anyToCEL converts JSON as CEL's own JSON values do: numbers are doubles.
func anyToCEL(v any) ref.Val {
	switch v := v.(type) {
	case nil:
		return types.NullValue
	case bool:
		return types.Bool(v)
	case string:
		return types.String(v)
	case json.Number:
		f, _ := v.Float64()
		return types.Double(f)
	case []any:
		vals := make([]ref.Val, len(v))
		for i, e := range v {
			vals[i] = anyToCEL(e)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	case map[string]any:
		vals := make(map[ref.Val]ref.Val, len(v))
		for k, e := range v {
			vals[types.String(k)] = anyToCEL(e)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, vals)
	}
	return types.NewErr("unsupported JSON value %T", v)
}

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
