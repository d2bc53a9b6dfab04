package schema

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiffConditions(t *testing.T) {
	load := func(src string) *Schema {
		t.Helper()
		s, err := Load("s.rebac", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := load(`condition a(x int) { x > 1 }
condition b(x int) { x > 1 }
condition gone(x int) { x > 1 }
type user
type doc {
  relation viewer: user with a
}
`)
	next := load(`condition a(x int) {
  x >    1
}
condition b(x uint) { x > 1u }
condition fresh(ip ipaddress) { ip.in_cidr("10.0.0.0/8") }
type user
type doc {
  relation viewer: user with a and expiration | user
}
`)
	var got []string
	for _, d := range Diff(old, next) {
		got = append(got, d.String())
	}
	want := []string{
		"~ doc#viewer: user with a and expiration | user   (was: user with a)",
		"~ condition b(x uint) { x > 1u }   (was(x int) { x > 1 })",
		"+ condition fresh(ip ipaddress) { ip.in_cidr(\"10.0.0.0/8\") }",
		"- condition gone(x int) { x > 1 }",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConditionsCompiled(t *testing.T) {
	s, err := Load("s.rebac", []byte(`type user
type condition
condition c(x int) { x > 1 }
type doc {
  relation viewer: user | user with c | user with expiration
  relation other: condition
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Type("condition") == nil {
		t.Fatal("a type named `condition` is still a type")
	}
	r := s.Relation("doc", "viewer")
	user := s.Type("user")
	for _, tc := range []struct {
		cond     string
		expiring bool
		want     bool
	}{
		{"", false, true}, {"c", false, true}, {"", true, true}, {"c", true, false}, {"d", false, false},
	} {
		if got := r.AllowsTuple(user, nil, false, tc.cond, tc.expiring); got != tc.want {
			t.Errorf("AllowsTuple(user, %q, %v) = %v", tc.cond, tc.expiring, got)
		}
	}
	if !r.HasConditions() || s.Relation("doc", "other").HasConditions() {
		t.Error("HasConditions")
	}
	c := s.Condition("c")
	if c == nil || c.Signature() != "c(x int)" || c.Program == nil {
		t.Fatalf("condition c: %+v", c)
	}
}

// TestConditionBodyPositions: CEL errors are placed inside the body, on
// the body's first line and on later ones, with tabs and wide characters.
func TestConditionBodyPositions(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"type user\ncondition c(x int) { x == = 1 }\n", "s.rebac:2:27:"},
		{"type user\ncondition c(s string) { s == \"é\" && y }\n", "s.rebac:2:37:"},
		{"type user\ncondition c(x int) {\n\tx > 1 &&\n\t\tzz\n}\n", "s.rebac:4:3:"},
		{"type user\ncondition c(x int) { \"}\" == \"{\" && q }\n", "s.rebac:2:36:"},
	} {
		_, err := Load("s.rebac", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestConditionCommentsKept(t *testing.T) {
	src := `// about users
type user

// detached

// doc of c
condition c(x int) {
  // inside
  x > 1
}
// doc of doc
type doc
// trailing
`
	f, err := Parse("s.rebac", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := Format(f)
	want := `// about users
type user

// detached

// doc of c
condition c(x int) {
  // inside
  x > 1
}

// doc of doc
type doc
// trailing
`
	if got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
}

func TestConditionedSubjectSetListedOnce(t *testing.T) {
	s, err := Load("s.rebac", []byte(`type user
type team {
  relation member: user
}
condition c(x int) { x > 1 }
type doc {
  relation viewer: team#member | team#member with c | team#member with expiration
}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Relation("doc", "viewer")
	if len(r.Allowed) != 3 || len(r.SubjectSets) != 1 {
		t.Errorf("Allowed %v, SubjectSets %v", r.AllowedString(), r.SubjectSets)
	}
}

// go test -run '^$' -bench LoadWithConditions ./schema/
func BenchmarkLoadWithConditions(b *testing.B) {
	var src strings.Builder
	src.WriteString("type user\ntype doc {\n")
	for i := range 20 {
		fmt.Fprintf(&src, "  relation r%d: user with c%d\n", i, i)
	}
	src.WriteString("}\n")
	for i := range 20 {
		fmt.Fprintf(&src, "condition c%d(now timestamp, ends timestamp, ip ipaddress, cidr string) {\n  now < ends && ip.in_cidr(cidr)\n}\n", i)
	}
	text := []byte(src.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("s.rebac", text); err != nil {
			b.Fatal(err)
		}
	}
}
