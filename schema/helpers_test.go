package schema

import (
	"fmt"
	"strings"
)

// treeString prints an expression fully parenthesised, without positions,
// so that two parses can be compared structurally.
func treeString(e Expr) string {
	switch e := e.(type) {
	case *RefExpr:
		var b strings.Builder
		for i, h := range e.Hops {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(h.Name)
		}
		if len(e.Hops) > 0 {
			b.WriteByte('#')
		}
		b.WriteString(e.Target.Name)
		return b.String()
	case *BinaryExpr:
		return "(" + treeString(e.X) + " " + e.Op.String() + " " + treeString(e.Y) + ")"
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("<%T>", e)
}

// fileTree prints a parsed file without positions: names, subjects,
// expressions and the comments attached to each declaration.
func fileTree(f *File) string {
	var b strings.Builder
	includes := func(incs []*Include) {
		for _, in := range incs {
			fmt.Fprintf(&b, "  ...%s at=%d doc=%q detached=%q comment=%q\n", in.Name.Name, in.Index, in.Doc, in.Detached, in.Comment)
		}
	}
	for _, p := range f.Partials {
		fmt.Fprintf(&b, "partial %s after=%d doc=%q detached=%q comment=%q inner=%q\n",
			p.Name.Name, p.TypesBefore, p.Doc, p.Detached, p.Comment, p.Inner)
		includes(p.Includes)
		relationsTree(&b, p.Relations)
	}
	for _, t := range f.Types {
		fmt.Fprintf(&b, "type %s body=%v doc=%q detached=%q comment=%q inner=%q\n",
			t.Name.Name, len(t.Relations) > 0 || len(t.Includes) > 0 || len(t.Inner) > 0, t.Doc, t.Detached, t.Comment, t.Inner)
		includes(t.Includes)
		relationsTree(&b, t.Relations)
	}
	for _, c := range f.Conditions {
		fmt.Fprintf(&b, "condition %s before=%d doc=%q detached=%q body=%q\n",
			c.Signature(), c.TypesBefore, c.Doc, c.Detached, c.BodyText())
	}
	fmt.Fprintf(&b, "trailing=%q\n", f.Trailing)
	return b.String()
}

func relationsTree(b *strings.Builder, rels []*RelationDecl) {
	for _, r := range rels {
		fmt.Fprintf(b, "  relation %s doc=%q detached=%q comment=%q ", r.Name.Name, r.Doc, r.Detached, r.Comment)
		if r.Stored() {
			subs := make([]string, len(r.Subjects))
			for i, s := range r.Subjects {
				subs[i] = s.String()
			}
			fmt.Fprintf(b, ": %s\n", strings.Join(subs, " | "))
		} else {
			fmt.Fprintf(b, "= %s\n", treeString(r.Expr))
		}
	}
}

// nodeString prints a compiled node: refs as type#relation, arrows with the
// node they evaluate per reached type.
func nodeString(s *Schema, n Node) string {
	join := func(children []Node, op string) string {
		parts := make([]string, len(children))
		for i, c := range children {
			parts[i] = nodeString(s, c)
		}
		return "(" + strings.Join(parts, " "+op+" ") + ")"
	}
	switch n := n.(type) {
	case *Ref:
		return n.Relation.String()
	case *Arrow:
		var parts []string
		for id, th := range n.Then {
			if th != nil {
				parts = append(parts, s.Types[id].Name+": "+nodeString(s, th))
			}
		}
		return fmt.Sprintf("%s->{%s}", n.Tupleset, strings.Join(parts, ", "))
	case *Union:
		return join(n.Children, "|")
	case *Intersect:
		return join(n.Children, "&")
	case *Exclude:
		return "(" + nodeString(s, n.Base) + " - " + nodeString(s, n.Subtract) + ")"
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("<%T>", n)
}

func typeSet(s *Schema, v IDSet, suffix string) string {
	var out []string
	for id := range v.All() {
		out = append(out, s.Types[id].Name+suffix)
	}
	return strings.Join(out, " ")
}

func relSet(s *Schema, v IDSet) string {
	var out []string
	for id := range v.All() {
		out = append(out, s.Relations[id].String())
	}
	return strings.Join(out, " ")
}

func edgeString(e Edge) string {
	kind := map[EdgeKind]string{EdgeRewrite: "rewrite", EdgeSubjectSet: "subjectset", EdgeArrow: "arrow"}[e.Kind]
	out := fmt.Sprintf("%s %s -> %s", kind, e.From, e.To)
	if len(e.Via) > 0 {
		via := make([]string, len(e.Via))
		for i, v := range e.Via {
			via[i] = v.String()
		}
		out += " via " + strings.Join(via, ", ")
	}
	if e.Conditional {
		out += " conditional"
	}
	return out
}

// dumpSchema prints everything the compiled form holds, in id order, so
// that two compilations can be compared.
func dumpSchema(s *Schema) string {
	var b strings.Builder
	for _, t := range s.Types {
		fmt.Fprintf(&b, "type %d %s doc=%q\n", t.ID, t.Name, t.Doc)
		for _, r := range t.Relations {
			fmt.Fprintf(&b, "  relation %d %s stored=%v doc=%q\n", r.ID, r.Name, r.Stored, r.Doc)
			if r.Stored {
				fmt.Fprintf(&b, "    allowed: %s\n", r.AllowedString())
				fmt.Fprintf(&b, "    direct: %s wildcard: %s\n", typeSet(s, r.DirectTypes, ""), typeSet(s, r.WildcardTypes, ":*"))
			} else {
				fmt.Fprintf(&b, "    rewrite: %s\n", nodeString(s, r.Rewrite))
			}
			fmt.Fprintf(&b, "    reach: %s | %s | %s\n", typeSet(s, r.ReachTypes, ""), typeSet(s, r.ReachWildcard, ":*"), relSet(s, r.ReachSets))
			for _, e := range r.Reverse {
				fmt.Fprintf(&b, "    reverse: %s\n", edgeString(e))
			}
		}
	}
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "condition %d %s doc=%q cost=%d expr=%q\n", c.ID, c.Signature(), c.Doc, c.Program.MaxCost(),
			strings.Join(strings.Fields(c.Program.Expr()), " "))
	}
	// Warnings without positions: formatting may move declarations. A
	// warning about unparenthesised `- b | c` is about how the source is
	// spelt, and formatting writes the parentheses that silence it.
	for _, w := range s.Warnings {
		if strings.Contains(w.Msg, "binds loosest") {
			continue
		}
		fmt.Fprintf(&b, "warning %s; %s\n", w.Msg, w.Hint)
	}
	return b.String()
}
