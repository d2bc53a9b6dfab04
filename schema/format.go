package schema

import (
	"strings"
)

// Format prints a parsed file in canonical form: one type or partial per
// block with a blank line between them, `...NAME` where it was written, two-space indentation, one relation per line,
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
	nextPartial := 0
	partialsBefore := func(types int) {
		for ; nextPartial < len(f.Partials) && f.Partials[nextPartial].TypesBefore <= types; nextPartial++ {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			p := f.Partials[nextPartial]
			writeComments(&b, "", p.Detached, p.Doc)
			b.WriteString("partial ")
			b.WriteString(p.Name.Name)
			b.WriteString(" {")
			writeLineComment(&b, p.Comment)
			b.WriteByte('\n')
			writeBody(&b, p.Relations, p.Includes, p.Inner, p.InnerGap)
		}
	}
	for i, t := range f.Types {
		conditionsBefore(i)
		partialsBefore(i)
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		writeComments(&b, "", t.Detached, t.Doc)
		b.WriteString("type ")
		b.WriteString(t.Name.Name)
		if len(t.Relations) == 0 && len(t.Includes) == 0 && len(t.Inner) == 0 {
			writeLineComment(&b, t.Comment)
			b.WriteByte('\n')
			continue
		}
		b.WriteString(" {")
		writeLineComment(&b, t.Comment)
		b.WriteByte('\n')
		writeBody(&b, t.Relations, t.Includes, t.Inner, t.InnerGap)
	}
	conditionsBefore(len(f.Types))
	partialsBefore(len(f.Types))
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

// writeBody writes the relations and inclusions of a type or partial, in
// the order written, then the comments before the closing brace and the
// brace.
func writeBody(b *strings.Builder, rels []*RelationDecl, incs []*Include, inner [][]string, innerGap bool) {
	prevEnd, written := 0, 0
	item := func(startLine, endLine int, detached [][]string, doc []string, text, comment string) {
		if written > 0 && (len(detached) > 0 || startLine-prevEnd > 1) {
			b.WriteByte('\n')
		}
		written++
		prevEnd = endLine
		writeComments(b, "  ", detached, doc)
		b.WriteString("  ")
		b.WriteString(text)
		writeLineComment(b, comment)
		b.WriteByte('\n')
	}
	include := func(in *Include) {
		item(in.Pos.Line-len(in.Doc), in.Name.Pos.Line, in.Detached, in.Doc, "..."+in.Name.Name, in.Comment)
	}
	for j, r := range rels {
		for len(incs) > 0 && incs[0].Index <= j {
			include(incs[0])
			incs = incs[1:]
		}
		var text strings.Builder
		text.WriteString("relation ")
		text.WriteString(r.Name.Name)
		if r.Stored() {
			text.WriteString(": ")
			for k, s := range r.Subjects {
				if k > 0 {
					text.WriteString(" | ")
				}
				text.WriteString(s.String())
			}
		} else {
			text.WriteString(" = ")
			text.WriteString(ExprString(r.Expr))
		}
		item(r.Pos.Line-len(r.Doc), relationEndLine(r), r.Detached, r.Doc, text.String(), r.Comment)
	}
	for _, in := range incs {
		include(in)
	}
	if len(inner) > 0 {
		if innerGap {
			b.WriteByte('\n')
		}
		writeBlocks(b, "  ", inner)
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
