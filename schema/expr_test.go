package schema

import (
	"strings"
	"testing"
)

// parseOneExpr parses src as the expression of a computed relation.
func parseOneExpr(t *testing.T, src string) Expr {
	t.Helper()
	f, err := Parse("expr.rebac", []byte("type t {\n  relation r = "+src+"\n}\n"))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return f.Types[0].Relations[0].Expr
}

// topTree is treeString without the outermost parentheses.
func topTree(e Expr) string {
	s := treeString(e)
	if _, ok := e.(*BinaryExpr); ok {
		s = s[1 : len(s)-1]
	}
	return s
}

// TestPrecedence pins the precedence table (path, then &, then |, then -)
// and left associativity.
func TestPrecedence(t *testing.T) {
	tests := []struct{ in, tree string }{
		{"creator | assignee | assignee.team#member | access_list | public - deny_list",
			"((((creator | assignee) | assignee.team#member) | access_list) | public) - deny_list"},
		{"a", "a"},
		{"a#b", "a#b"},
		{"a.b.c#d", "a.b.c#d"},
		{"(a)", "a"},
		{"((a#b))", "a#b"},
		{"a - b - c", "(a - b) - c"},
		{"a | b | c", "(a | b) | c"},
		{"a & b & c", "(a & b) & c"},
		{"a | b & c", "a | (b & c)"},
		{"a & b | c", "(a & b) | c"},
		{"(a | b) & c", "(a | b) & c"},
		{"a - (b - c)", "a - (b - c)"},
		{"a - b | c", "a - (b | c)"},
		{"a | b - c", "(a | b) - c"},
		{"a & b - c", "(a & b) - c"},
		{"a - b & c", "a - (b & c)"},
		{"a & b - c | d", "(a & b) - (c | d)"},
		{"a | b & c - d & e | f", "(a | (b & c)) - ((d & e) | f)"},
		{"a - b - c - d", "((a - b) - c) - d"},
		{"a | (b | c)", "a | (b | c)"},
		{"a & (b & c)", "a & (b & c)"},
		{"(a - b) - c", "(a - b) - c"},
		{"(a | b) - (c & d)", "(a | b) - (c & d)"},
		{"a & (b | c) & d", "(a & (b | c)) & d"},
		{"x.y#z & p#q | r", "(x.y#z & p#q) | r"},
		{"a-b", "a - b"},
		{"a|b&c", "a | (b & c)"},
		{"a\n  | b\n  - c", "(a | b) - c"},
	}
	for _, tc := range tests {
		if got := topTree(parseOneExpr(t, tc.in)); got != tc.tree {
			t.Errorf("%q parsed as %s, want %s", tc.in, got, tc.tree)
		}
	}
}

// TestFormatParentheses checks that the formatter writes only the
// parentheses the tree needs, and that parsing the output gives back the
// same tree.
func TestFormatParentheses(t *testing.T) {
	tests := []struct{ in, out string }{
		{"(a | b) - c", "a | b - c"},
		{"a | (b & c)", "a | b & c"},
		{"(a & b) | c", "a & b | c"},
		{"(a | b) & c", "(a | b) & c"},
		{"a & (b | c)", "a & (b | c)"},
		{"a - (b - c)", "a - (b - c)"},
		{"(a - b) - c", "a - b - c"},
		{"a | (b | c)", "a | (b | c)"},
		{"(a | b) | c", "a | b | c"},
		{"a & (b & c)", "a & (b & c)"},
		{"a - (b | c)", "a - (b | c)"},
		{"a - b | c", "a - (b | c)"},
		{"a - (b & c)", "a - (b & c)"},
		{"(a - b) & c", "(a - b) & c"},
		{"(a - b) | c", "(a - b) | c"},
		{"a & (b - c)", "a & (b - c)"},
		{"((((a))))", "a"},
		{"(p.q#r)", "p.q#r"},
		{"creator | assignee | assignee.team#member | access_list | public - deny_list",
			"creator | assignee | assignee.team#member | access_list | public - deny_list"},
		{"(assignee | access_list) & viewer", "(assignee | access_list) & viewer"},
	}
	for _, tc := range tests {
		e := parseOneExpr(t, tc.in)
		got := ExprString(e)
		if got != tc.out {
			t.Errorf("format(%q) = %q, want %q", tc.in, got, tc.out)
		}
		if a, b := treeString(e), treeString(parseOneExpr(t, got)); a != b {
			t.Errorf("format(%q) = %q changes the tree: %s became %s", tc.in, got, a, b)
		}
	}
}

// TestFormatRoundTripAllShapes formats every expression tree of up to four
// operands over all operator combinations and bracketings, and checks that
// the printed form parses back to the same tree and is a fixed point.
func TestFormatRoundTripAllShapes(t *testing.T) {
	ops := []Op{OpUnion, OpIntersect, OpExclude}
	leaf := func(name string) Expr { return &RefExpr{Target: Ident{Name: name}} }
	var build func(names []string) []Expr
	build = func(names []string) []Expr {
		if len(names) == 1 {
			return []Expr{leaf(names[0])}
		}
		var out []Expr
		for split := 1; split < len(names); split++ {
			for _, x := range build(names[:split]) {
				for _, y := range build(names[split:]) {
					for _, op := range ops {
						out = append(out, &BinaryExpr{Op: op, X: x, Y: y})
					}
				}
			}
		}
		return out
	}
	n := 0
	for _, e := range build([]string{"a", "b", "c", "d"}) {
		text := ExprString(e)
		back := parseOneExpr(t, text)
		if a, b := treeString(e), treeString(back); a != b {
			t.Errorf("tree %s prints as %q, which parses as %s", a, text, b)
		}
		if again := ExprString(back); again != text {
			t.Errorf("%q formats again as %q", text, again)
		}
		n++
	}
	if n != 5*27 { // Catalan(3) bracketings × 3³ operator choices
		t.Fatalf("built %d trees, want %d", n, 5*27)
	}
}

// TestFormatIdempotentAndCommentsKept formats a schema with every kind of
// comment and checks that nothing is lost and a second pass changes nothing.
func TestFormatIdempotentAndCommentsKept(t *testing.T) {
	src := `// header

// doc of user
type user // line of user

type doc { // line of doc
  // doc of owner
  relation owner: user // line of owner

  // detached in doc

  // doc of viewer
  relation viewer = (owner) // line of viewer
  // inner of doc
}
// trailing
`
	f, err := Parse("c.rebac", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := Format(f)
	for _, want := range []string{
		"// header\n\n// doc of user\ntype user // line of user\n",
		"type doc { // line of doc\n  // doc of owner\n  relation owner: user // line of owner\n",
		"\n  // detached in doc\n\n  // doc of viewer\n  relation viewer = owner // line of viewer\n",
		"\n  // inner of doc\n}\n",
		"\n// trailing\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("formatted text lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "//") != strings.Count(src, "//") {
		t.Errorf("formatting changed the number of comments:\n%s", out)
	}
	f2, err := Parse("c.rebac", []byte(out))
	if err != nil {
		t.Fatalf("formatted text does not parse: %v\n%s", err, out)
	}
	if again := Format(f2); again != out {
		t.Errorf("format is not idempotent:\n--- once ---\n%s--- twice ---\n%s", out, again)
	}
	if a, b := fileTree(f), fileTree(f2); a != b {
		t.Errorf("tree changed:\n%s\n%s", a, b)
	}
	if got := f.Types[0].Doc; len(got) != 1 || got[0] != " doc of user" {
		t.Errorf("user doc = %q", got)
	}
	if got := f.Types[1].Relations[1].Detached; len(got) != 1 || got[0][0] != " detached in doc" {
		t.Errorf("viewer detached = %q", got)
	}
}

// TestTextRoundTrip checks that a schema's canonical text compiles to an
// identical schema, for the design example.
func TestTextRoundTrip(t *testing.T) {
	s := loadCasebook(t)
	again, err := Load("again.rebac", []byte(s.Text()))
	if err != nil {
		t.Fatalf("Text() does not load: %v\n%s", err, s.Text())
	}
	if a, b := dumpSchema(s), dumpSchema(again); a != b {
		t.Errorf("compiled forms differ:\n--- first ---\n%s--- from Text() ---\n%s", a, b)
	}
	if again.Text() != s.Text() {
		t.Errorf("Text() is not a fixed point")
	}
	if s.Type("user").Doc != "Casebook, cb Engage: who may see a case." {
		t.Errorf("type doc = %q", s.Type("user").Doc)
	}
}
