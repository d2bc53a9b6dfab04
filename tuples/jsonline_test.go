package tuples

import (
	"strings"
	"testing"
)

func TestParseJSONLineRefusesAnythingButOneTupleObject(t *testing.T) {
	const ok = `{"object":"doc:1","relation":"viewer","subject":"user:ana"}`
	for _, c := range []struct{ line, want string }{
		{ok + ok, "column 60: more after the tuple object"},
		{ok + "," + ok, "column 60: more after the tuple object"},
		{ok + " garbage", "column 61: more after the tuple object"},
		{ok + " 1", "column 61: more after the tuple object"},
		{`{"object":"doc:1","relation":"viewer","subject":"user:ana","extra":1}`, `column 60: unknown field "extra"`},
		{`{"object":"doc:1","relation":"viewer","subject":7}`, `column 49: "subject" must be a string, not a number`},
		{`{"object":["doc:1"],"relation":"viewer","subject":"user:ana"}`, `"object" must be a string, not an array`},
		{`{"object":"doc:1","relation":null,"subject":"user:ana"}`, `"relation" must be a string, not null`},
		{`{"object":"doc:1","object":"doc:2","relation":"viewer","subject":"user:ana"}`, `column 19: field "object" given twice`},
		{`{"object":"doc:1","relation":"viewer"}`, `missing "subject"`},
		{`{"object":"doc:1","relation":"","subject":"user:ana"}`, `missing "relation"`},
		{`[` + ok + `]`, "column 1: a line must hold one JSON object, not an array"},
		{`"doc:1#viewer@user:ana"`, "a line must hold one JSON object, not a string"},
		{`{"object":"doc:1","relation":"viewer","subject":"user:ana"`, "the JSON object is not closed"},
		{`{"object":"doc:1" "relation":"viewer"}`, "not valid JSON"},
		{`not json`, "column 2: not valid JSON"},
	} {
		_, err := ParseJSONLine([]byte(c.line))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "jsonTuple") {
			t.Errorf("%s: error names a Go type: %v", c.line, err)
		}
	}
	tu, err := ParseJSONLine([]byte(" " + ok + " \r"))
	if err != nil || tu.String() != "doc:1#viewer@user:ana" {
		t.Errorf("good line: %v %v", tu, err)
	}
	tu, err = ParseJSONLine([]byte(`{"subject":"team:t#member","relation":"viewer","object":"doc:1"}`))
	if err != nil || tu.String() != "doc:1#viewer@team:t#member" {
		t.Errorf("fields in another order: %v %v", tu, err)
	}
}

func TestParseJSONLineNamesTheBadField(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"object":"doc:1","relation":"viewer","subject":"user bob"}`, `column 58: "subject": missing ` + "`:id`"},
		{`{"object":"doc 1","relation":"viewer","subject":"user:bob"}`, `column 17: "object": missing ` + "`:id`"},
		{`{"object":"doc:1","relation":"Viewer","subject":"user:bob"}`, `column 31: "relation": unexpected 'V' in relation name`},
		{`{"object":"doc:*","relation":"viewer","subject":"user:bob"}`, `"object": the wildcard`},
		{`{"object":"doc:1","relation":"viewer","subject":"user:*#member"}`, `"subject": a wildcard subject takes no relation`},
	} {
		_, err := ParseJSONLine([]byte(c.line))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
	}
}
