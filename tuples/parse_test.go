package tuples

import (
	"errors"
	"strings"
	"testing"

	"github.com/docketdb/docket/schema"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen)
	good := []struct {
		in   string
		want Tuple
	}{
		{"doc:1#viewer@user:ana", Tuple{ObjectType: "doc", ObjectID: "1", Relation: "viewer", SubjectType: "user", SubjectID: "ana", SubjectRelation: ""}},
		{"doc:1#viewer@team:east#member", Tuple{ObjectType: "doc", ObjectID: "1", Relation: "viewer", SubjectType: "team", SubjectID: "east", SubjectRelation: "member"}},
		{"doc:1#viewer@user:*", Tuple{ObjectType: "doc", ObjectID: "1", Relation: "viewer", SubjectType: "user", SubjectID: "*", SubjectRelation: ""}},
		{"doc:a@b.org#viewer@user:ana@example.org", Tuple{ObjectType: "doc", ObjectID: "a@b.org", Relation: "viewer", SubjectType: "user", SubjectID: "ana@example.org", SubjectRelation: ""}},
		{"doc:urn:x:1#viewer@user:Zoë_名", Tuple{ObjectType: "doc", ObjectID: "urn:x:1", Relation: "viewer", SubjectType: "user", SubjectID: "Zoë_名", SubjectRelation: ""}},
		{"doc:" + long + "#viewer@user:" + long, Tuple{ObjectType: "doc", ObjectID: long, Relation: "viewer", SubjectType: "user", SubjectID: long, SubjectRelation: ""}},
	}
	for _, c := range good {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("Parse(%q) = %#v, want %#v", c.in, got, c.want)
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
	bad := []struct {
		in   string
		col  int
		want string
	}{
		{"doc1#viewer@user:ana", 5, "missing `:id`"},
		{"doc:1viewer@user:ana", 21, "missing `#relation@subject`"},
		{"doc:1#viewer", 13, "missing `@subject`"},
		{"Doc:1#viewer@user:ana", 1, `unexpected 'D' in type name`},
		{"doc:1 2#viewer@user:ana", 6, "whitespace"},
		{"doc:#viewer@user:ana", 5, "empty id"},
		{"doc:*#viewer@user:ana", 5, "only as a subject id"},
		{"doc:1#view-er@user:ana", 11, `unexpected '-' in relation name`},
		{"doc:1#viewer@user:*#member", 20, "wildcard subject takes no relation"},
		{"doc:1#viewer@user:ana#", 23, "empty subject relation"},
		{"doc:1#viewer@user:a\x01b", 20, "printable"},
		{"doc:1#viewer@user:a\xffb", 20, "invalid UTF-8"},
		{"doc:1#viewer@user:" + long + "y", 19 + MaxIDLen, "at most 1024"},
	}
	for _, c := range bad {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): error %v, want a ParseError", c.in, err)
			continue
		}
		if pe.Column != c.col || !strings.Contains(pe.Msg, c.want) {
			t.Errorf("Parse(%q): column %d %q, want column %d containing %q", c.in, pe.Column, pe.Msg, c.col, c.want)
		}
	}
	if o, err := ParseObject("user:ana@x.org"); err != nil || o != (Object{"user", "ana@x.org"}) {
		t.Errorf("ParseObject: %v %v", o, err)
	}
	if _, err := ParseObject("user:*"); err == nil {
		t.Error("ParseObject accepted the wildcard")
	}
	if s, err := ParseSubject("team:e#member"); err != nil || s != (Subject{"team", "e", "member"}) || s.String() != "team:e#member" {
		t.Errorf("ParseSubject: %v %v", s, err)
	}
}

const testSchema = `type user

type team {
  relation member: user | team#member
}

type doc {
  relation owner: user
  relation viewer: user | user:* | team#member
  relation parent: doc
  relation can_view = owner | viewer
}
`

func mustSchema(t testing.TB, text string) *schema.Schema {
	t.Helper()
	s, err := schema.Load("test.rebac", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustParse(t testing.TB, s string) Tuple {
	t.Helper()
	tp, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestValidate(t *testing.T) {
	s := mustSchema(t, testSchema)
	cases := []struct {
		in, want string // want "" = valid
	}{
		{"doc:1#viewer@user:ana", ""},
		{"doc:1#viewer@user:*", ""},
		{"doc:1#viewer@team:east#member", ""},
		{"team:a#member@team:b#member", ""},
		{"dco:1#viewer@user:ana", `unknown type "dco"; did you mean "doc"?`},
		{"doc:1#veiwer@user:ana", `type doc has no relation "veiwer"; did you mean "viewer"?`},
		{"doc:1#can_view@user:ana", "relation doc#can_view is computed"},
		{"doc:1#owner@user:*", "does not allow subject user:*; it allows user"},
		{"doc:1#owner@team:east#member", "does not allow subject team#member"},
		{"doc:1#parent@user:ana", "does not allow subject user"},
		{"doc:1#viewer@team:east", "does not allow subject team; it allows user | user:* | team#member"},
		{"doc:1#viewer@team:east#membr", `type team has no relation "membr"; did you mean "member"?`},
		{"doc:1#viewer@usr:ana", `unknown subject type "usr"; did you mean "user"?`},
	}
	for _, c := range cases {
		err := Validate(mustParse(t, c.in), s)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%s): %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Validate(%s) = %v, want %q", c.in, err, c.want)
		case c.want != "" && !strings.HasPrefix(err.Error(), c.in+": "):
			t.Errorf("Validate(%s) = %v, does not name the tuple", c.in, err)
		}
	}
	// Tuples built in code are checked as strictly as parsed ones.
	built := []Tuple{
		{"doc", "a b", "viewer", "user", "ana", "", Payload{}},
		{"doc", "*", "viewer", "user", "ana", "", Payload{}},
		{"doc", "1", "viewer", "user", "", "", Payload{}},
		{"doc", "1", "viewer", "user", "a\x00b", "", Payload{}},
		{"doc", "1", "viewer", "user", "*", "member", Payload{}},
	}
	for _, b := range built {
		if err := Validate(b, s); err == nil {
			t.Errorf("Validate(%#v) accepted a malformed tuple", b)
		}
	}
	if err := Validate(mustParse(t, "doc:1#viewer@user:ana"), nil); !errors.Is(err, ErrNoSchema) {
		t.Errorf("Validate without schema = %v, want ErrNoSchema", err)
	}
}
