package schema

import (
	"os"
	"strings"
	"testing"
)

// TestPartialsExpandInPlace checks that `...NAME` inserts the partial's
// relations where it is written, that names in a partial resolve on the
// including type, and that the expanded text compiles to the same schema.
func TestPartialsExpandInPlace(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/partials.rebac")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("partials.rebac", src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"case":   "creator assignee access_list deny_list reach view auditor",
		"intake": "creator assignee access_list deny_list reach view",
	}
	for typ, names := range want {
		if got := strings.Join(s.Type(typ).RelationNames(), " "); got != names {
			t.Errorf("%s relations = %s, want %s", typ, got, names)
		}
	}
	// One declaration, two compiled relations, each reading its own type.
	c, i := s.Relation("case", "reach"), s.Relation("intake", "reach")
	if c.Decl() != i.Decl() || c.Decl().Name.Pos.Line != 24 {
		t.Errorf("reach declarations: case %v, intake %v, want the partial's at line 24", c.Decl().Name.Pos, i.Decl().Name.Pos)
	}
	if got := nodeString(s, i.Rewrite); got != "(intake#creator | intake#assignee | intake#access_list)" {
		t.Errorf("intake#reach = %s", got)
	}

	expanded := s.ExpandedText()
	if strings.Contains(expanded, "partial") || strings.Contains(expanded, "...") {
		t.Errorf("expanded text still has partials:\n%s", expanded)
	}
	again, err := Load("expanded.rebac", []byte(expanded))
	if err != nil {
		t.Fatalf("expanded text does not load: %v\n%s", err, expanded)
	}
	if a, b := dumpSchema(s), dumpSchema(again); a != b {
		t.Errorf("expanded text compiles differently\n--- partials ---\n%s\n--- expanded ---\n%s", a, b)
	}
	if s.ExpandedText() == s.Text() {
		t.Errorf("ExpandedText equals Text for a schema with partials")
	}
}

// TestPartialNamesAreNotKeywords: `partial` starts a declaration only at
// the top level; schemas that use it as a name keep their meaning.
func TestPartialNamesAreNotKeywords(t *testing.T) {
	src := "type partial {\n  relation partial: partial\n  relation v = partial\n}\n"
	s, err := Load("p.rebac", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Relation("partial", "partial") == nil || s.Text() != src {
		t.Errorf("got\n%s", s.Text())
	}
}
