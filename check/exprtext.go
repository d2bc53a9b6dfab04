package check

import (
	"strings"

	"github.com/docketdb/docket/schema"
)

// exprText prints a compiled expression in the schema language, with the
// parentheses its precedence needs (path, then &, then |, then -).
func exprText(n schema.Node) string {
	var b strings.Builder
	writeExpr(&b, n, 0)
	return b.String()
}

func precedence(n schema.Node) int {
	switch n.(type) {
	case *schema.Exclude:
		return 1
	case *schema.Union:
		return 2
	case *schema.Intersect:
		return 3
	}
	return 4
}

// writeExpr writes n, in parentheses when it binds looser than min.
func writeExpr(b *strings.Builder, n schema.Node, min int) {
	p := precedence(n)
	if p < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *schema.Ref:
		b.WriteString(n.Relation.Name)
	case *schema.Arrow:
		b.WriteString(n.Text)
	case *schema.Union:
		for i, ch := range n.Children {
			if i > 0 {
				b.WriteString(" | ")
			}
			writeExpr(b, ch, p)
		}
	case *schema.Intersect:
		for i, ch := range n.Children {
			if i > 0 {
				b.WriteString(" & ")
			}
			writeExpr(b, ch, p)
		}
	case *schema.Exclude:
		writeExpr(b, n.Base, p)
		b.WriteString(" - ")
		writeExpr(b, n.Subtract, p+1)
	}
}
