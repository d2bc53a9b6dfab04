package schema

import "testing"

// A compiled expression prints as the formatter writes its source: one
// printer, so the two can never disagree on a parenthesis.
func TestNodeStringPrintsAsTheFormatterWrites(t *testing.T) {
	for _, expr := range []string{
		"a",
		"a | b | c",
		"a & b & c",
		"(a | b) & c",
		"a | b & c",
		"a - b - c",
		"a - (b - c)",
		"a - (b | c)",
		"a - (b & c)",
		"(a - b) | c",
		"(a - b) & c",
		"parent#v | a",
		"parent#v - (a | parent#w)",
	} {
		src := "type user\ntype doc {\n  relation parent: doc\n  relation a: user\n  relation b: user\n  relation c: user\n  relation v: user\n  relation w: user\n  relation x = " + expr + "\n}\n"
		s, err := Load("t.rebac", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got := NodeString(s.Relation("doc", "x").Rewrite); got != expr {
			t.Errorf("NodeString = %q, want %q", got, expr)
		}
	}
}
