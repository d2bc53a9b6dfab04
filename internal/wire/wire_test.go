package wire

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/tuples"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestContextFromStruct(t *testing.T) {
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"n": 3, "s": "x", "b": true, "l": []any{1.5, "a", nil}, "m": map[string]any{"k": -2}}, `{"b":true,"l":[1.5,"a",null],"m":{"k":-2},"n":3,"s":"x"}`},
		// Top-level nulls are the key left out, as in a JSON context.
		{map[string]any{"gone": nil, "n": 0}, `{"n":0}`},
		// Integers exact while a double holds them; past that, exponent
		// form, which an int parameter refuses rather than rounds.
		{map[string]any{"n": float64(1 << 53)}, `{"n":9007199254740992}`},
		{map[string]any{"n": float64(1<<53) + 2}, `{"n":9.007199254740994e+15}`},
		{map[string]any{"n": 1e-7}, `{"n":1e-07}`},
	} {
		s, err := structpb.NewStruct(c.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ContextFromStruct("context", s, 1<<10)
		if err != nil {
			t.Fatalf("%v: %v", c.in, err)
		}
		if string(got.Encode()) != c.want {
			t.Errorf("%v: %s, want %s", c.in, got.Encode(), c.want)
		}
	}
	if c, err := ContextFromStruct("context", nil, 10); c != nil || err != nil {
		t.Errorf("nil struct: %v %v", c, err)
	}
	big, _ := structpb.NewStruct(map[string]any{"pad": strings.Repeat("x", 100)})
	if _, err := ContextFromStruct("items[2].context", big, 50); err == nil || !strings.Contains(err.Error(), "items[2].context: context is") {
		t.Errorf("over the limit: %v", err)
	}
	nan := &structpb.Struct{Fields: map[string]*structpb.Value{"l": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(math.NaN())}})}}
	if _, err := ContextFromStruct("context", nan, 50); err == nil || !strings.Contains(err.Error(), "context.l[0]") {
		t.Errorf("NaN: %v", err)
	}
}

func TestTupleRoundTrip(t *testing.T) {
	for _, text := range []string{
		"doc:1#reader@user:bob",
		"doc:1#reader@team:x#member[c]",
		`doc:1#reader@user:bob[c:{"a":[1,"x"],"n":2}][expiration:2030-01-02T03:04:05.5Z]`,
		"doc:1#reader@user:*[expiration:2030-01-01T00:00:00Z]",
	} {
		tu, _, err := tuples.ParseWithPayload(text)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Tuple(tu)
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromTuple("tuple", m)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if back.Text() != text || back.Key() != tu.Key() || !back.Payload.Equal(tu.Payload) {
			t.Errorf("%s came back as %s", text, back.Text())
		}
	}
	m, _ := Tuple(tuples.Tuple{ObjectType: "doc", ObjectID: "1", Relation: "r", SubjectType: "user", SubjectID: "u"})
	m.Context, _ = structpb.NewStruct(map[string]any{"a": 1})
	if _, err := FromTuple("ops[0].tuple", m); err == nil || !strings.Contains(err.Error(), "ops[0].tuple.context: a stored context needs a condition") {
		t.Errorf("context without condition: %v", err)
	}
	m.Condition, m.Context = "c", nil
	m.Expiration = Timestamp(time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)))
	back, err := FromTuple("t", m)
	if err != nil || back.Payload.Expires.Location() != time.UTC || !back.Payload.Expires.Equal(time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("expiry: %v %v", back.Payload.Expires, err)
	}
}
