package schema

import (
	"strings"
)

// Format prints a parsed file in canonical form: one type per block with a
// blank line between types, two-space indentation, one relation per line,
// subjects and operators separated by single spaces, and only the
// parentheses that precedence needs. Comments are kept where they were: doc
// comments above their declaration, line comments at the end of it, and
// detached blocks in place. Blank lines between relations are kept (one at
// most), so authors can group them. Format(Parse(Format(f))) == Format(f).
func Format(f *File) string {
	var b strings.Builder
	nextCond := 0
	conditionsBefore := func(types int) {
		for ; nextCond < len(f.Conditions) && f.Conditions[nextCond].TypesBefore <= types; nextCond++ {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			writeCondition(&b, f.Conditions[nextCond])
		}
	}
	for i, t := range f.Types {
		conditionsBefore(i)
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		writeComments(&b, "", t.Detached, t.Doc)
		b.WriteString("type ")
		b.WriteString(t.Name.Name)
		if len(t.Relations) == 0 && len(t.Inner) == 0 {
			writeLineComment(&b, t.Comment)
			b.WriteByte('\n')
			continue
		}
		b.WriteString(" {")
		writeLineComment(&b, t.Comment)
		b.WriteByte('\n')
		prevEnd := 0
		for j, r := range t.Relations {
			start := r.Pos.Line - len(r.Doc)
			if j > 0 && (len(r.Detached) > 0 || start-prevEnd > 1) {
				b.WriteByte('\n')
			}
			prevEnd = relationEndLine(r)
			writeComments(&b, "  ", r.Detached, r.Doc)
			b.WriteString("  relation ")
			b.WriteString(r.Name.Name)
			if r.Stored() {
				b.WriteString(": ")
				for k, s := range r.Subjects {
					if k > 0 {
						b.WriteString(" | ")
					}
					b.WriteString(s.String())
				}
			} else {
				b.WriteString(" = ")
				b.WriteString(ExprString(r.Expr))
			}
			writeLineComment(&b, r.Comment)
			b.WriteByte('\n')
		}
		if len(t.Inner) > 0 {
			if t.InnerGap {
				b.WriteByte('\n')
			}
			writeBlocks(&b, "  ", t.Inner)
		}
		b.WriteString("}\n")
	}
	conditionsBefore(len(f.Types))
	if len(f.Trailing) > 0 {
		if f.TrailingGap {
			b.WriteByte('\n')
		}
		writeBlocks(&b, "", f.Trailing)
	}
	return b.String()
}

func writeCondition(b *strings.Builder, c *ConditionDecl) {
	writeComments(b, "", c.Detached, c.Doc)
	b.WriteString("condition ")
	b.WriteString(c.Signature())
	b.WriteString(" {\n")
	for _, l := range c.BodyText() {
		if l != "" {
			b.WriteString("  ")
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
}

func writeComments(b *strings.Builder, indent string, detached [][]string, doc []string) {
	for _, block := range detached {
		for _, l := range block {
			b.WriteString(indent + "//" + l + "\n")
		}
		b.WriteByte('\n')
	}
	for _, l := range doc {
		b.WriteString(indent + "//" + l + "\n")
	}
}

// writeBlocks writes comment blocks separated by blank lines.
func writeBlocks(b *strings.Builder, indent string, blocks [][]string) {
	for i, block := range blocks {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeComments(b, indent, nil, block)
	}
}

func writeLineComment(b *strings.Builder, c string) {
	if c != "" {
		b.WriteString(" // ")
		b.WriteString(c)
	}
}

// relationEndLine is the line of a relation's last token.
func relationEndLine(r *RelationDecl) int {
	end := r.Name.Pos.Line
	for _, s := range r.Subjects {
		end = max(end, s.Pos.Line)
		if s.Relation != nil {
			end = max(end, s.Relation.Pos.Line)
		}
	}
	if r.Expr != nil {
		end = max(end, exprEndLine(r.Expr))
	}
	return end
}

func exprEndLine(e Expr) int {
	switch e := e.(type) {
	case *RefExpr:
		return e.Target.Pos.Line
	case *BinaryExpr:
		return max(exprEndLine(e.X), exprEndLine(e.Y))
	}
	return 0
}
