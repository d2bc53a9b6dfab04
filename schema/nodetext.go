package schema

import "strings"

// NodeString prints a compiled expression in the schema language, with the
// parentheses its precedence needs (path, then &, then |, then -), and
// around a union or intersection on the right of `-`, as the formatter
// writes them.
func NodeString(n Node) string {
	var b strings.Builder
	writeNode(&b, n, 0)
	return b.String()
}

func nodePrecedence(n Node) int {
	switch n.(type) {
	case *Exclude:
		return 1
	case *Union:
		return 2
	case *Intersect:
		return 3
	}
	return 4
}

// writeNode writes n, in parentheses when it binds looser than min.
func writeNode(b *strings.Builder, n Node, min int) {
	p := nodePrecedence(n)
	if p < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *Ref:
		b.WriteString(n.Relation.Name)
	case *Arrow:
		b.WriteString(n.Text)
	case *Union:
		for i, ch := range n.Children {
			if i > 0 {
				b.WriteString(" | ")
			}
			writeNode(b, ch, p)
		}
	case *Intersect:
		for i, ch := range n.Children {
			if i > 0 {
				b.WriteString(" & ")
			}
			writeNode(b, ch, p)
		}
	case *Exclude:
		writeNode(b, n.Base, p)
		b.WriteString(" - ")
		writeNode(b, n.Subtract, nodePrecedence(&Ref{}))
	}
}
