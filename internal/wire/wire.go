// Package wire converts between Docket's vocabulary (tuples with their
// payloads, condition contexts, clocks) and the messages of the native API
// (gen/docket/v1), in both directions, for the server and the Go client
// alike, so that the two read and write one form.
//
// Contexts travel as google.protobuf.Struct, whose numbers are doubles.
// An integral number is handed to conditions as an integer only while a
// double holds it exactly (|n| <= 2^53); a larger one reaches them in
// exponent form, which a double parameter reads and an int or uint
// parameter refuses, rather than a rounded integer.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/docketdb/docket/condition"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/tuples"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxExactInt is the largest integer every smaller one of which a double
// holds exactly.
const maxExactInt = 1 << 53

// ContextFromStruct decodes a condition context of at most limit bytes
// of JSON; what names the field in errors ("context",
// "items[3].context"). A nil or empty Struct is no context.
func ContextFromStruct(what string, s *structpb.Struct, limit int) (condition.Context, error) {
	if len(s.GetFields()) == 0 {
		return nil, nil
	}
	m := make(map[string]any, len(s.Fields))
	for k, v := range s.Fields {
		g, err := fromValue(what+"."+k, v)
		if err != nil {
			return nil, err
		}
		m[k] = g
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c, err := condition.DecodeContext(b, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// fromValue is a Struct value as DecodeContext would have read it from
// JSON: numbers as json.Number.
func fromValue(what string, v *structpb.Value) (any, error) {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return nil, nil
	case *structpb.Value_BoolValue:
		return k.BoolValue, nil
	case *structpb.Value_StringValue:
		return k.StringValue, nil
	case *structpb.Value_NumberValue:
		return number(what, k.NumberValue)
	case *structpb.Value_ListValue:
		out := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			g, err := fromValue(fmt.Sprintf("%s[%d]", what, i), e)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case *structpb.Value_StructValue:
		out := make(map[string]any, len(k.StructValue.GetFields()))
		for key, e := range k.StructValue.GetFields() {
			g, err := fromValue(what+"."+key, e)
			if err != nil {
				return nil, err
			}
			out[key] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: unsupported value", what)
}

// number writes a double as JSON would: integers exactly while a double
// holds them, in exponent form past that (see the package comment).
func number(what string, f float64) (json.Number, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%s: %v is not a JSON number", what, f)
	}
	abs := math.Abs(f)
	if f == math.Trunc(f) && abs > maxExactInt {
		return json.Number(strconv.FormatFloat(f, 'e', -1, 64)), nil
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return json.Number(strconv.FormatFloat(f, 'e', -1, 64)), nil
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), nil
}

// StructFromJSON is the Struct of a context's JSON text ("" gives nil).
func StructFromJSON(text string) (*structpb.Struct, error) {
	if text == "" {
		return nil, nil
	}
	c, err := condition.DecodeContext([]byte(text), math.MaxInt)
	if err != nil {
		return nil, err
	}
	return StructFromContext(c)
}

// StructFromContext is the Struct of a context (nil for an empty one).
func StructFromContext(c condition.Context) (*structpb.Struct, error) {
	if len(c) == 0 {
		return nil, nil
	}
	m := make(map[string]any, len(c))
	for k, v := range c {
		m[k] = toValue(v)
	}
	return structpb.NewStruct(m)
}

func toValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = toValue(e)
		}
		return out
	}
	return v
}

// Time is a timestamp's instant, the zero time when it is unset; what
// names the field in errors.
func Time(what string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", what, err)
	}
	return ts.AsTime().UTC(), nil
}

// Timestamp is the timestamp of t, nil for the zero time.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Tuple is the message of a tuple with its payload.
func Tuple(t tuples.Tuple) (*pb.Tuple, error) {
	out := &pb.Tuple{
		Object:     &pb.ObjectRef{Type: t.ObjectType, Id: t.ObjectID},
		Relation:   t.Relation,
		Subject:    &pb.SubjectRef{Type: t.SubjectType, Id: t.SubjectID, Relation: t.SubjectRelation},
		Condition:  t.Payload.Condition,
		Expiration: Timestamp(t.Payload.Expires),
	}
	var err error
	if out.Context, err = StructFromJSON(t.Payload.Context); err != nil {
		return nil, fmt.Errorf("tuple %s: stored context: %w", t, err)
	}
	return out, nil
}

// ErrMissing is wrapped by FromTuple's errors for a field left empty.
var ErrMissing = errors.New("missing")

// FromTuple reads a tuple message with its payload; what names it in
// errors ("ops[2].tuple"). The payload is checked for form here (a
// context needs a condition, and fits the stored-context limit); the
// store validates it against the schema.
func FromTuple(what string, t *pb.Tuple) (tuples.Tuple, error) {
	switch {
	case t == nil:
		return tuples.Tuple{}, fmt.Errorf("%s is missing: %w", what, ErrMissing)
	case t.Object == nil:
		return tuples.Tuple{}, fmt.Errorf("%s.object is missing: %w", what, ErrMissing)
	case t.Object.Type == "":
		return tuples.Tuple{}, fmt.Errorf("%s.object.type is empty: %w", what, ErrMissing)
	case t.Object.Id == "":
		return tuples.Tuple{}, fmt.Errorf("%s.object.id is empty: %w", what, ErrMissing)
	case t.Relation == "":
		return tuples.Tuple{}, fmt.Errorf("%s.relation is empty: %w", what, ErrMissing)
	case t.Subject == nil:
		return tuples.Tuple{}, fmt.Errorf("%s.subject is missing: %w", what, ErrMissing)
	case t.Subject.Type == "":
		return tuples.Tuple{}, fmt.Errorf("%s.subject.type is empty: %w", what, ErrMissing)
	case t.Subject.Id == "":
		return tuples.Tuple{}, fmt.Errorf("%s.subject.id is empty: %w", what, ErrMissing)
	}
	out := tuples.Tuple{
		ObjectType: t.Object.Type, ObjectID: t.Object.Id, Relation: t.Relation,
		SubjectType: t.Subject.Type, SubjectID: t.Subject.Id, SubjectRelation: t.Subject.Relation,
	}
	out.Payload.Condition = t.Condition
	ctx, err := ContextFromStruct(what+".context", t.Context, condition.MaxStoredContextBytes)
	if err != nil {
		return tuples.Tuple{}, err
	}
	if len(ctx) > 0 && t.Condition == "" {
		return tuples.Tuple{}, fmt.Errorf("%s.context: a stored context needs a condition; set %s.condition", what, what)
	}
	out.Payload.Context = string(ctx.Encode())
	if out.Payload.Expires, err = Time(what+".expiration", t.Expiration); err != nil {
		return tuples.Tuple{}, err
	}
	return out, nil
}
