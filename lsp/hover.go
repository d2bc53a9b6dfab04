package lsp

import (
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
)

// hoverText describes the symbols a name refers to, in Markdown.
func (a *analysis) hoverText(o *occurrence) string {
	var parts []string
	for _, sym := range o.targets {
		switch sym.kind {
		case symType:
			parts = append(parts, a.typeHover(sym))
		case symRelation:
			parts = append(parts, a.relationHover(sym))
		case symPartial:
			parts = append(parts, a.partialHover(sym))
		case symCondition:
			parts = append(parts, a.conditionHover(sym))
		}
	}
	return strings.Join(parts, "\n\n---\n\n")
}

func codeBlock(s string) string { return "```rebac\n" + s + "\n```" }

func docText(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimPrefix(l, " ")
	}
	return strings.Join(out, "\n")
}

func (a *analysis) typeHover(sym symbol) string {
	td := a.idx.types[sym.typ]
	if td == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(codeBlock("type " + td.Name.Name))
	if len(td.Doc) > 0 {
		b.WriteString("\n\n" + docText(td.Doc))
	}
	if len(td.Relations) > 0 {
		var names []string
		for _, rd := range td.Relations {
			names = append(names, "`"+rd.Name.Name+"`")
		}
		b.WriteString("\n\nRelations: " + strings.Join(names, ", "))
	}
	return b.String()
}

func (a *analysis) partialHover(sym symbol) string {
	pd := a.idx.partials[sym.typ]
	if pd == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(codeBlock("partial " + pd.Name.Name))
	if len(pd.Doc) > 0 {
		b.WriteString("\n\n" + docText(pd.Doc))
	}
	var names []string
	for _, rd := range pd.Relations {
		names = append(names, "`"+rd.Name.Name+"`")
	}
	for _, inc := range pd.Includes {
		names = append(names, "`..."+inc.Name.Name+"`")
	}
	if len(names) > 0 {
		b.WriteString("\n\nRelations: " + strings.Join(names, ", "))
	}
	if types := a.idx.includers(sym.typ); len(types) > 0 {
		b.WriteString("\n\nIncluded in " + codeList(types) + ".")
	}
	return b.String()
}

func codeList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return strings.Join(out, ", ")
}

// relationLine is a relation's declaration as the formatter writes it.
func relationLine(rd *schema.RelationDecl) string {
	if rd.Stored() {
		subs := make([]string, len(rd.Subjects))
		for i, s := range rd.Subjects {
			subs[i] = s.String()
		}
		return "relation " + rd.Name.Name + ": " + strings.Join(subs, " | ")
	}
	return "relation " + rd.Name.Name + " = " + schema.ExprString(rd.Expr)
}

func (a *analysis) relationHover(sym symbol) string {
	rd := a.idx.rels[sym]
	if rd == nil {
		return ""
	}
	var b strings.Builder
	where := "// on type " + sym.typ
	// The compiled relation: of the type, or for a relation declared in a
	// partial, of the first type that includes it.
	var r *schema.Relation
	if sym.inPartial {
		types := a.idx.includers(sym.typ)
		where = "// in partial " + sym.typ
		if len(types) > 0 {
			where += ", included in " + strings.Join(types, ", ")
		}
		if a.sch != nil && len(types) > 0 {
			r = a.sch.Relation(types[0], sym.rel)
		}
	} else if a.sch != nil {
		r = a.sch.Relation(sym.typ, sym.rel)
	}
	b.WriteString(codeBlock(where + "\n" + relationLine(rd)))
	if len(rd.Doc) > 0 {
		b.WriteString("\n\n" + docText(rd.Doc))
	}
	if rd.Stored() {
		subs := make([]string, len(rd.Subjects))
		for i, s := range rd.Subjects {
			subs[i] = "`" + s.String() + "`"
		}
		b.WriteString("\n\nStored relation. Allowed subjects: " + strings.Join(subs, ", ") + ".")
		return b.String()
	}
	b.WriteString("\n\nComputed relation.")
	if r == nil {
		// Without a compiled schema the expansion is not known.
		return b.String()
	}
	if sym.inPartial {
		b.WriteString(" On `" + r.Type.Name + "` it expands to:\n")
	} else {
		b.WriteString(" Expands to:\n")
	}
	for _, l := range expansion(r.Rewrite) {
		b.WriteString("\n" + l)
	}
	if held := heldBy(a.sch, r); held != "" {
		b.WriteString("\n\nCan be held by: " + held + ".")
	}
	return b.String()
}

// expansion renders what a computed relation reads as a nested list that
// follows its expression: each operand with what it is (a relation on the
// same object, or a path with the relations it reads on the objects it
// reaches), under "any of", "all of" and "minus" for the operators.
func expansion(n schema.Node) []string {
	var out []string
	var walk func(n schema.Node, depth int, prefix string)
	item := func(depth int, text string) { out = append(out, strings.Repeat("  ", depth)+"- "+text) }
	walk = func(n schema.Node, depth int, prefix string) {
		switch n := n.(type) {
		case *schema.Union:
			item(depth, prefix+"any of:")
			for _, c := range n.Children {
				walk(c, depth+1, "")
			}
		case *schema.Intersect:
			item(depth, prefix+"all of:")
			for _, c := range n.Children {
				walk(c, depth+1, "")
			}
		case *schema.Exclude:
			walk(n.Base, depth, prefix)
			walk(n.Subtract, depth, "minus ")
		case *schema.Ref:
			item(depth, prefix+"`"+n.Relation.Name+"`: "+relationSummary(n.Relation))
		case *schema.Arrow:
			var reads []string
			collectArrow(n, &reads)
			item(depth, fmt.Sprintf("%s`%s`: follows `%s` (%s) and reads %s", prefix, n.Text,
				n.Tupleset.Name, n.Tupleset.AllowedString(), strings.Join(reads, ", ")))
		}
	}
	walk(n, 0, "")
	return out
}

// collectArrow lists the relations a path finally reads, type by type.
func collectArrow(a *schema.Arrow, reads *[]string) {
	for _, then := range a.Then {
		switch t := then.(type) {
		case *schema.Ref:
			*reads = append(*reads, "`"+t.Relation.String()+"`")
		case *schema.Arrow:
			collectArrow(t, reads)
		}
	}
}

func relationSummary(r *schema.Relation) string {
	if r.Stored {
		return "stored, " + r.AllowedString()
	}
	return "computed, " + schema.NodeString(r.Rewrite)
}

// heldBy lists the subjects that can ever hold r, from the compiled
// schema's reachability.
func heldBy(s *schema.Schema, r *schema.Relation) string {
	var out []string
	for _, t := range s.Types {
		if r.ReachTypes.Has(t.ID) {
			out = append(out, "`"+t.Name+"`")
		}
		if r.ReachWildcard.Has(t.ID) {
			out = append(out, "`"+t.Name+":*`")
		}
	}
	for _, q := range s.Relations {
		if q != r && r.ReachSets.Has(q.ID) {
			out = append(out, "`"+q.String()+"`")
		}
	}
	return strings.Join(out, ", ")
}
