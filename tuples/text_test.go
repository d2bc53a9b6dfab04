package tuples

import (
	"encoding/json"
	"testing"
)

func TestObjectAndSubjectJSON(t *testing.T) {
	type pair struct {
		Object  Object    `json:"object"`
		Subject Subject   `json:"subject"`
		Many    []Subject `json:"many"`
	}
	in := pair{
		Object:  Object{Type: "case", ID: "1"},
		Subject: Subject{Type: "team", ID: "east", Relation: "member"},
		Many:    []Subject{{Type: "user", ID: Wildcard}, {Type: "user", ID: "bob"}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"object":"case:1","subject":"team:east#member","many":["user:*","user:bob"]}`
	if string(b) != want {
		t.Fatalf("marshal: got %s, want %s", b, want)
	}
	var out pair
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Object != in.Object || out.Subject != in.Subject || len(out.Many) != 2 || out.Many[0] != in.Many[0] || out.Many[1] != in.Many[1] {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
	for _, bad := range []string{`{"object":"case"}`, `{"subject":"user:bob#"}`, `{"object":"case:a b"}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("unmarshal %s: want an error", bad)
		}
	}
}
