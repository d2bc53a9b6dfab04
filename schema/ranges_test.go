package schema

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/alecthomas/participle/v2/lexer"
)

// checkRanges checks the start and end of every node of f against text:
// each range lies inside the text, starts with the node's first token and
// (unless the file has syntax errors, whose invalid characters the parser
// reads past) holds exactly what the node says it holds. It is shared by the range tests and
// FuzzParse, so it holds for files that failed to parse too. Where the
// file parsed (valid), each expression's range also parses back to the
// same expression.
func checkRanges(t *testing.T, text string, f *File, valid bool) {
	t.Helper()
	squeeze := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	slice := func(what string, from, to lexer.Position) string {
		t.Helper()
		if from.Offset < 0 || from.Offset > to.Offset || to.Offset > len(text) {
			t.Fatalf("%s: range %d..%d outside the text (%d bytes)\n%q", what, from.Offset, to.Offset, len(text), text)
		}
		if pos := posAt(text, from.Offset); pos.Line != from.Line || pos.Column != from.Column {
			t.Fatalf("%s: start %d:%d is offset %d, which is %d:%d\n%q", what, from.Line, from.Column, from.Offset, pos.Line, pos.Column, text)
		}
		if pos := posAt(text, to.Offset); pos.Line != to.Line || pos.Column != to.Column {
			t.Fatalf("%s: end %d:%d is offset %d, which is %d:%d\n%q", what, to.Line, to.Column, to.Offset, pos.Line, pos.Column, text)
		}
		return text[from.Offset:to.Offset]
	}
	ident := func(id Ident) {
		t.Helper()
		if got := slice("name "+id.Name, id.Pos, id.End()); got != id.Name {
			t.Fatalf("name %q covers %q", id.Name, got)
		}
	}
	var expr func(e Expr)
	expr = func(e Expr) {
		t.Helper()
		got := slice("expression", e.Start(), e.End())
		if valid {
			// The range parses back to the same expression.
			again, err := Parse("range.rebac", []byte("type t {\n  relation x = "+got+"\n}\n"))
			if err != nil || len(again.Types) != 1 || len(again.Types[0].Relations) != 1 {
				t.Fatalf("expression %s covers %q, which does not parse: %v", treeString(e), got, err)
			}
			if a, b := treeString(again.Types[0].Relations[0].Expr), treeString(e); a != b {
				t.Fatalf("expression %s covers %q, which parses to %s", b, got, a)
			}
		}
		switch e := e.(type) {
		case *RefExpr:
			for _, h := range e.Hops {
				ident(h)
			}
			ident(e.Target)
		case *BinaryExpr:
			expr(e.X)
			expr(e.Y)
		}
	}
	body := func(kind string, rels []*RelationDecl, incs []*Include) {
		t.Helper()
		for _, r := range rels {
			got := slice("relation "+r.Name.Name, r.Pos, r.EndPos)
			if !strings.HasPrefix(got, "relation") {
				t.Fatalf("relation %s covers %q", r.Name.Name, got)
			}
			ident(r.Name)
			for _, s := range r.Subjects {
				if got := squeeze(slice("subject", s.Pos, s.EndPos)); valid && got != squeeze(s.String()) {
					t.Fatalf("subject %s covers %q", s, got)
				}
				ident(s.Type)
				if s.Relation != nil {
					ident(*s.Relation)
				}
			}
			if r.Expr != nil {
				expr(r.Expr)
				if r.EndPos != r.Expr.End() {
					t.Fatalf("relation %s ends at %v, its expression at %v", r.Name.Name, r.EndPos, r.Expr.End())
				}
			} else if n := len(r.Subjects); n > 0 && r.EndPos != r.Subjects[n-1].EndPos {
				t.Fatalf("relation %s ends at %v, its last subject at %v", r.Name.Name, r.EndPos, r.Subjects[n-1].EndPos)
			}
		}
		for _, in := range incs {
			if got := squeeze(slice("inclusion", in.Pos, in.EndPos)); !strings.HasPrefix(got, "...") || valid && got != "..."+in.Name.Name {
				t.Fatalf("inclusion of %s in a %s covers %q", in.Name.Name, kind, got)
			}
			ident(in.Name)
		}
	}
	for _, td := range f.Types {
		got := slice("type "+td.Name.Name, td.Pos, td.EndPos)
		if !strings.HasPrefix(got, "type") {
			t.Fatalf("type %s covers %q", td.Name.Name, got)
		}
		ident(td.Name)
		body("type", td.Relations, td.Includes)
	}
	for _, cd := range f.Conditions {
		got := slice("condition "+cd.Name.Name, cd.Pos, cd.EndPos)
		if !strings.HasPrefix(got, "condition") || !strings.HasSuffix(got, "}") {
			t.Fatalf("condition %s covers %q", cd.Name.Name, got)
		}
		ident(cd.Name)
		for _, pm := range cd.Params {
			ident(pm.Name)
		}
	}
	for _, pd := range f.Partials {
		got := slice("partial "+pd.Name.Name, pd.Pos, pd.EndPos)
		if !strings.HasPrefix(got, "partial") {
			t.Fatalf("partial %s covers %q", pd.Name.Name, got)
		}
		ident(pd.Name)
		body("partial", pd.Relations, pd.Includes)
	}
}

// posAt is the line and column (in characters) of a byte offset.
func posAt(text string, offset int) Pos {
	line, col := 1, 1
	for _, r := range text[:offset] {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return Pos{Line: line, Column: col}
}

// TestNodeRanges checks every node's range on every test schema, valid or
// not: what parsed of a broken file has ranges as exact as a valid one.
func TestNodeRanges(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.rebac")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(filepath.Base(path), src)
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("%s: %T %v", path, err, err)
		}
		if f == nil {
			continue
		}
		// Closing braces end the bodies.
		text := strings.TrimPrefix(string(src), "\uFEFF")
		for _, td := range f.Types {
			if td.Body && err == nil && !strings.HasSuffix(text[:td.EndPos.Offset], "}") {
				t.Errorf("%s: type %s ends at %v, not after its `}`", path, td.Name.Name, td.EndPos)
			}
		}
		checkRanges(t, text, f, err == nil)
	}
}

// TestParseRecovers checks that one pass reports every syntax error and
// keeps the declarations between them.
func TestParseRecovers(t *testing.T) {
	src := "type user\n" +
		"type doc {\n" +
		"  relation owner user\n" + // missing `:`
		"  relation viewer = owner\n" +
		"}\n" +
		"type folder {\n" +
		"  relation parent: folder |\n" + // dangling `|`
		"  relation viewer = parent#viewer\n" +
		"}\n"
	f, err := Parse("r.rebac", []byte(src))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("errors = %v, want two", err)
	}
	if list[0].Pos.Line != 3 || list[1].Pos.Line != 8 {
		t.Errorf("errors at lines %d and %d, want 3 and 8", list[0].Pos.Line, list[1].Pos.Line)
	}
	var names []string
	for _, td := range f.Types {
		for _, r := range td.Relations {
			names = append(names, td.Name.Name+"#"+r.Name.Name)
		}
	}
	if got := strings.Join(names, " "); got != "doc#viewer folder#viewer" {
		t.Errorf("relations read: %s, want doc#viewer folder#viewer", got)
	}

	// At most MaxSyntaxErrors, one per line.
	var b strings.Builder
	b.WriteString("type t {\n")
	for range 3 * MaxSyntaxErrors {
		b.WriteString("  relation x = a | | b\n")
	}
	b.WriteString("}\n")
	if _, err := Parse("many.rebac", []byte(b.String())); !errors.As(err, &list) || len(list) != MaxSyntaxErrors {
		t.Errorf("got %d errors, want %d", len(list), MaxSyntaxErrors)
	}
}
