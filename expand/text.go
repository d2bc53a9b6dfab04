package expand

import (
	"fmt"
	"strconv"
	"strings"
)

// String renders the tree indented, one node a line: operators with their
// label, leaves as the subject with where it came from.
func (n *Node) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return strings.TrimRight(b.String(), "\n")
}

func (n *Node) line() string {
	switch n.Kind {
	case Leaf:
		s := n.Subject.String() + n.payload() + "  [" + n.Label + "]"
		if n.Truncated {
			s += " (not expanded: depth bound)"
		}
		return s
	case Cycle:
		return n.Subject.String() + "  [" + n.Label + "] (cycle: already expanded above)"
	}
	return string(n.Kind) + " " + n.Label + n.payload()
}

// payload is the bracket suffix of a leaf's tuple, as tuples are written.
func (n *Node) payload() string {
	s := ""
	if n.Condition != "" {
		s = "[" + n.Condition
		if n.Context != "" {
			s += ":" + n.Context
		}
		s += "]"
	}
	if n.Expires != "" {
		s += "[expiration:" + n.Expires + "]"
	}
	return s
}

func (n *Node) write(b *strings.Builder, indent int) {
	b.WriteString(strings.Repeat("  ", indent))
	b.WriteString(n.line())
	b.WriteByte('\n')
	for _, c := range n.Children {
		c.write(b, indent+1)
	}
}

// DOT renders the tree in Graphviz's dot language.
func DOT(n *Node) string {
	var b strings.Builder
	b.WriteString("digraph userset {\n  node [fontname=\"monospace\"];\n")
	id := 0
	var walk func(n *Node) int
	walk = func(n *Node) int {
		me := id
		id++
		shape := "box"
		switch n.Kind {
		case Leaf:
			shape = "ellipse"
		case Cycle:
			shape = "doubleoctagon"
		}
		fmt.Fprintf(&b, "  n%d [shape=%s, label=%s];\n", me, shape, strconv.Quote(n.line()))
		for _, c := range n.Children {
			fmt.Fprintf(&b, "  n%d -> n%d;\n", me, walk(c))
		}
		return me
	}
	if n != nil {
		walk(n)
	}
	b.WriteString("}\n")
	return b.String()
}
