package lsp

import (
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// occurrenceAt returns the name under a document position, or nil.
func (a *analysis) occurrenceAt(p protocol.Position) *occurrence {
	if a.idx == nil {
		return nil
	}
	line, col, ok := a.fromDoc(p)
	if !ok {
		return nil
	}
	return a.idx.at(line, col)
}

func (a *analysis) locations(uri string, occs []occurrence) []protocol.Location {
	out := make([]protocol.Location, 0, len(occs))
	for _, o := range occs {
		out = append(out, protocol.Location{URI: uri, Range: a.spanRange(o.span)})
	}
	return out
}

func (a *analysis) definition(uri string, p protocol.Position) []protocol.Location {
	o := a.occurrenceAt(p)
	if o == nil {
		return nil
	}
	var occs []occurrence
	for _, sym := range o.targets {
		if d := a.idx.declaration(sym); d != nil {
			occs = append(occs, *d)
		}
	}
	return a.locations(uri, occs)
}

func (a *analysis) references(uri string, p protocol.Position, decl bool) []protocol.Location {
	o := a.occurrenceAt(p)
	if o == nil {
		return nil
	}
	var occs []occurrence
	seen := map[span]bool{}
	for _, sym := range o.targets {
		for _, r := range a.idx.of(sym, decl) {
			if !seen[r.span] {
				seen[r.span] = true
				occs = append(occs, r)
			}
		}
	}
	return a.locations(uri, occs)
}

// renameTarget returns the one symbol a rename at p renames.
func (a *analysis) renameTarget(p protocol.Position) (*occurrence, symbol, error) {
	if a.idx == nil || a.syntaxErrors {
		return nil, symbol{}, fmt.Errorf("the schema has a syntax error; fix it before renaming")
	}
	o := a.occurrenceAt(p)
	if o == nil {
		return nil, symbol{}, fmt.Errorf("no type or relation name here")
	}
	switch len(o.targets) {
	case 0:
		return nil, symbol{}, fmt.Errorf("`%s` is not declared in this schema", o.name)
	case 1:
	default:
		return nil, symbol{}, fmt.Errorf("`%s` here reads %s; rename it from one declaration", o.name, symbolList(o.targets))
	}
	sym := o.targets[0]
	// A path segment that reads this relation and another one would be
	// broken by renaming one of them.
	for _, r := range a.idx.of(sym, false) {
		if len(r.targets) > 1 {
			return nil, symbol{}, fmt.Errorf("`%s` at %d:%d reads %s, so renaming only `%s` would change what that path means",
				r.name, r.span.line+a.emb.lines, r.span.col+a.emb.cols, symbolList(r.targets), sym)
		}
	}
	return o, sym, nil
}

func symbolList(syms []symbol) string {
	names := make([]string, len(syms))
	for i, s := range syms {
		names[i] = "`" + s.String() + "`"
	}
	return strings.Join(names, " and ")
}

func (a *analysis) rename(uri string, p protocol.Position, newName string) (*protocol.WorkspaceEdit, error) {
	_, sym, err := a.renameTarget(p)
	if err != nil {
		return nil, err
	}
	if msg := nameProblem(newName); msg != "" {
		return nil, fmt.Errorf("cannot rename to `%s`: %s", newName, msg)
	}
	switch sym.kind {
	case symType:
		if newName != sym.typ && a.idx.types[newName] != nil {
			return nil, fmt.Errorf("type `%s` already exists", newName)
		}
	case symPartial:
		if newName != sym.typ && a.idx.partials[newName] != nil {
			return nil, fmt.Errorf("partial `%s` already exists", newName)
		}
	case symRelation:
		owner := symbol{kind: symType, typ: sym.typ}
		what := "type"
		if sym.inPartial {
			owner.kind, what = symPartial, "partial"
		}
		if newName != sym.rel && len(a.idx.relOn(owner, newName)) > 0 {
			return nil, fmt.Errorf("%s `%s` already has a relation `%s`", what, sym.typ, newName)
		}
	case symCondition:
		if newName == expirationWord {
			return nil, fmt.Errorf("cannot rename to `%s`: `with expiration` asks for an expiry, so no condition may be named so", newName)
		}
		if newName != sym.typ && a.idx.conditions[newName] != nil {
			return nil, fmt.Errorf("condition `%s` already exists", newName)
		}
	}
	var edits []protocol.TextEdit
	for _, o := range a.idx.of(sym, true) {
		edits = append(edits, protocol.TextEdit{Range: a.spanRange(o.span), NewText: newName})
	}
	return &protocol.WorkspaceEdit{Changes: map[string][]protocol.TextEdit{uri: edits}}, nil
}

// nameProblem says why name cannot be a type or relation name, or "".
func nameProblem(name string) string {
	switch {
	case name == "":
		return "a name cannot be empty"
	case name == "type" || name == "relation":
		return "it is a keyword"
	case len(name) > schema.MaxNameLen:
		return fmt.Sprintf("names are at most %d bytes", schema.MaxNameLen)
	}
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_')) {
			return "names are lowercase ASCII letters, digits and `_`, and start with a letter"
		}
	}
	return ""
}

// formatting returns the edit that puts the schema in canonical form, or
// none when it does not parse (the diagnostics say why) or is formatted.
func (a *analysis) formatting() []protocol.TextEdit {
	if a.file == nil {
		return nil
	}
	out := schema.Format(a.file)
	if !a.emb.validateYAML {
		if out == a.doc.src {
			return []protocol.TextEdit{}
		}
		return []protocol.TextEdit{{Range: a.doc.whole(), NewText: out}}
	}
	// In a validation file the block keeps its indentation; only a block
	// that ends with one line break (YAML's default) is rewritten, so the
	// lines replaced are exactly the block's.
	if !strings.HasSuffix(a.emb.schema, "\n") || strings.HasSuffix(a.emb.schema, "\n\n") {
		return nil
	}
	indent := strings.Repeat(" ", a.emb.cols)
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(indent)
		}
		b.WriteString(l)
	}
	first := a.emb.lines // 0-based index of the block's first line
	n := strings.Count(a.emb.schema, "\n")
	r := protocol.Range{Start: protocol.Position{Line: uint32(first)}, End: protocol.Position{Line: uint32(first + n)}}
	if int(r.End.Line) >= len(a.doc.lines) {
		r.End = a.doc.end()
	}
	return []protocol.TextEdit{{Range: r, NewText: b.String()}}
}

func (a *analysis) documentSymbols() []protocol.DocumentSymbol {
	if a.file == nil {
		return nil
	}
	var out []protocol.DocumentSymbol
	for _, td := range a.file.Types {
		name := identSpan(td.Name)
		ts := protocol.DocumentSymbol{Name: td.Name.Name, Kind: protocol.SymbolKindClass,
			Range:          protocol.Range{Start: a.toDoc(td.Pos.Line, td.Pos.Column), End: a.spanRange(name).End},
			SelectionRange: a.spanRange(name)}
		for _, rd := range td.Relations {
			rs := identSpan(rd.Name)
			detail := strings.TrimPrefix(relationLine(rd), "relation "+rd.Name.Name)
			detail = strings.TrimLeft(detail, ": =")
			kind := protocol.SymbolKindField
			if !rd.Stored() {
				kind = protocol.SymbolKindProperty
			}
			ts.Children = append(ts.Children, protocol.DocumentSymbol{Name: rd.Name.Name, Detail: &detail, Kind: kind,
				Range: a.spanRange(rs), SelectionRange: a.spanRange(rs)})
			ts.Range.End = maxPos(ts.Range.End, a.spanRange(rs).End)
		}
		out = append(out, ts)
	}
	for _, pd := range a.file.Partials {
		name := identSpan(pd.Name)
		ps := protocol.DocumentSymbol{Name: "..." + pd.Name.Name, Kind: protocol.SymbolKindInterface,
			Range:          protocol.Range{Start: a.toDoc(pd.Pos.Line, pd.Pos.Column), End: a.toDoc(pd.EndPos.Line, pd.EndPos.Column)},
			SelectionRange: a.spanRange(name)}
		for _, rd := range pd.Relations {
			rs := identSpan(rd.Name)
			ps.Children = append(ps.Children, protocol.DocumentSymbol{Name: rd.Name.Name, Kind: protocol.SymbolKindField,
				Range: a.spanRange(rs), SelectionRange: a.spanRange(rs)})
		}
		out = append(out, ps)
	}
	return append(out, a.conditionSymbols()...)
}

func maxPos(a, b protocol.Position) protocol.Position {
	if b.Line > a.Line || b.Line == a.Line && b.Character > a.Character {
		return b
	}
	return a
}
