package lsp

import (
	"sort"

	"github.com/docketdb/docket/schema"
)

// span is a stretch of schema text in the schema's own coordinates:
// 1-based lines, 1-based character columns, end exclusive.
type span struct {
	line, col       int
	endLine, endCol int
}

func (s span) contains(line, col int) bool {
	if line < s.line || line > s.endLine {
		return false
	}
	if line == s.line && col < s.col {
		return false
	}
	// A cursor just after the last character still touches the name, as
	// editors place it after typing.
	return line < s.endLine || col <= s.endCol
}

// identSpan is where a name is written, from the syntax tree's start and
// end positions.
func identSpan(id schema.Ident) span {
	end := id.End()
	return span{line: id.Pos.Line, col: id.Pos.Column, endLine: end.Line, endCol: end.Column}
}

// symKind is what a name in a schema names.
type symKind int

const (
	symType symKind = iota + 1
	symRelation
	symPartial
	symCondition
)

// symbol identifies a declared type, partial or relation by name. A
// relation declared in a partial has the partial's name in typ and
// inPartial set: it is one declaration, however many types include it.
type symbol struct {
	kind      symKind
	typ       string
	rel       string // for relations
	inPartial bool
}

func (s symbol) String() string {
	switch {
	case s.kind == symRelation && s.inPartial:
		return "..." + s.typ + " " + s.rel
	case s.kind == symRelation:
		return s.typ + "#" + s.rel
	case s.kind == symPartial:
		return "..." + s.typ
	}
	return s.typ
}

// occurrence is one place a name is written: a declaration or a reference.
type occurrence struct {
	span span
	name string
	// targets are the symbols the name refers to: one, except for a path
	// segment that exists on several of the types the previous hop reaches.
	targets []symbol
	decl    bool
}

// index lists every name written in a parsed schema and what it refers
// to. It is built from the syntax tree alone, so it exists even when the
// schema does not compile (an unknown name is an occurrence with no
// target).
type index struct {
	occs     []occurrence
	types    map[string]*schema.TypeDecl
	partials map[string]*schema.PartialDecl
	rels     map[symbol]*schema.RelationDecl
	// includes lists the partials each type and partial includes
	// directly, keyed by symType or symPartial symbols.
	includes map[symbol][]string
	// conditions by name, the first declaration of each.
	conditions map[string]*schema.ConditionDecl
}

func buildIndex(f *schema.File) *index {
	ix := &index{types: map[string]*schema.TypeDecl{}, partials: map[string]*schema.PartialDecl{},
		rels: map[symbol]*schema.RelationDecl{}, includes: map[symbol][]string{}}
	declare := func(owner symbol, rels []*schema.RelationDecl, incs []*schema.Include) {
		for _, rd := range rels {
			key := symbol{kind: symRelation, typ: owner.typ, rel: rd.Name.Name, inPartial: owner.kind == symPartial}
			if ix.rels[key] == nil {
				ix.rels[key] = rd
			}
		}
		for _, inc := range incs {
			ix.includes[owner] = append(ix.includes[owner], inc.Name.Name)
		}
	}
	for _, td := range f.Types {
		if ix.types[td.Name.Name] == nil {
			ix.types[td.Name.Name] = td
			declare(symbol{kind: symType, typ: td.Name.Name}, td.Relations, td.Includes)
		}
	}
	for _, pd := range f.Partials {
		if ix.partials[pd.Name.Name] == nil {
			ix.partials[pd.Name.Name] = pd
			declare(symbol{kind: symPartial, typ: pd.Name.Name}, pd.Relations, pd.Includes)
		}
	}
	ix.declareConditions(f)
	body := func(owner symbol, rels []*schema.RelationDecl, incs []*schema.Include) {
		for _, inc := range incs {
			ix.add(inc.Name, false, ix.partialSym(inc.Name.Name)...)
		}
		for _, rd := range rels {
			ix.add(rd.Name, true, symbol{kind: symRelation, typ: owner.typ, rel: rd.Name.Name, inPartial: owner.kind == symPartial})
			for _, s := range rd.Subjects {
				ix.add(s.Type, false, ix.typeSym(s.Type.Name)...)
				if s.Relation != nil {
					ix.add(*s.Relation, false, ix.relSyms([]string{s.Type.Name}, s.Relation.Name)...)
				}
				if s.Condition != nil {
					ix.add(*s.Condition, false, ix.conditionSym(s.Condition.Name)...)
				}
			}
			if rd.Expr != nil {
				ix.expr(owner, rd.Expr)
			}
		}
	}
	for _, td := range f.Types {
		ix.add(td.Name, true, symbol{kind: symType, typ: td.Name.Name})
		body(symbol{kind: symType, typ: td.Name.Name}, td.Relations, td.Includes)
	}
	for _, pd := range f.Partials {
		ix.add(pd.Name, true, symbol{kind: symPartial, typ: pd.Name.Name})
		body(symbol{kind: symPartial, typ: pd.Name.Name}, pd.Relations, pd.Includes)
	}
	sort.SliceStable(ix.occs, func(i, j int) bool {
		a, b := ix.occs[i].span, ix.occs[j].span
		return a.line < b.line || a.line == b.line && a.col < b.col
	})
	return ix
}

func (ix *index) add(id schema.Ident, decl bool, targets ...symbol) {
	ix.occs = append(ix.occs, occurrence{span: identSpan(id), name: id.Name, targets: targets, decl: decl})
}

func (ix *index) typeSym(name string) []symbol {
	if ix.types[name] == nil {
		return nil
	}
	return []symbol{{kind: symType, typ: name}}
}

func (ix *index) partialSym(name string) []symbol {
	if ix.partials[name] == nil {
		return nil
	}
	return []symbol{{kind: symPartial, typ: name}}
}

// relSyms returns the relations named rel on any of types: declared in
// the type's body or in a partial it includes.
func (ix *index) relSyms(types []string, rel string) []symbol {
	var out []symbol
	for _, t := range types {
		out = append(out, ix.relOn(symbol{kind: symType, typ: t}, rel)...)
	}
	return out
}

// relOn returns the relation named rel that owner (a type or a partial)
// declares or includes.
func (ix *index) relOn(owner symbol, rel string) []symbol {
	key := symbol{kind: symRelation, typ: owner.typ, rel: rel, inPartial: owner.kind == symPartial}
	if ix.rels[key] != nil {
		return []symbol{key}
	}
	var out []symbol
	seen := map[string]bool{}
	var walk func(owner symbol)
	walk = func(owner symbol) {
		for _, p := range ix.includes[owner] {
			if seen[p] || ix.partials[p] == nil {
				continue
			}
			seen[p] = true
			key := symbol{kind: symRelation, typ: p, rel: rel, inPartial: true}
			if ix.rels[key] != nil {
				out = append(out, key)
				continue
			}
			walk(symbol{kind: symPartial, typ: p})
		}
	}
	walk(owner)
	return out
}

// includers returns the types that include partial p, directly or through
// other partials.
func (ix *index) includers(p string) []string {
	var out []string
	for name := range ix.types {
		seen := map[string]bool{}
		var reaches func(owner symbol) bool
		reaches = func(owner symbol) bool {
			for _, q := range ix.includes[owner] {
				if q == p {
					return true
				}
				if !seen[q] {
					seen[q] = true
					if reaches(symbol{kind: symPartial, typ: q}) {
						return true
					}
				}
			}
			return false
		}
		if reaches(symbol{kind: symType, typ: name}) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// reached returns the subject types of the stored relations syms: the
// types a hop through them arrives at.
func (ix *index) reached(syms []symbol) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range syms {
		rd := ix.rels[s]
		if rd == nil {
			continue
		}
		for _, sub := range rd.Subjects {
			if !seen[sub.Type.Name] {
				seen[sub.Type.Name] = true
				out = append(out, sub.Type.Name)
			}
		}
	}
	return out
}

// expr indexes the names of an expression written in owner's body. In a
// partial, a name the partial does not declare is a relation of the types
// that include it.
func (ix *index) expr(owner symbol, e schema.Expr) {
	switch e := e.(type) {
	case *schema.BinaryExpr:
		ix.expr(owner, e.X)
		ix.expr(owner, e.Y)
	case *schema.RefExpr:
		first := e.Target
		if len(e.Hops) > 0 {
			first = e.Hops[0]
		}
		syms := ix.relOn(owner, first.Name)
		if len(syms) == 0 && owner.kind == symPartial {
			syms = ix.relSyms(ix.includers(owner.typ), first.Name)
		}
		ix.add(first, false, syms...)
		if len(e.Hops) == 0 {
			return
		}
		for _, hop := range e.Hops[1:] {
			syms = ix.relSyms(ix.reached(syms), hop.Name)
			ix.add(hop, false, syms...)
		}
		ix.add(e.Target, false, ix.relSyms(ix.reached(syms), e.Target.Name)...)
	}
}

// at returns the occurrence under a schema position, or nil.
func (ix *index) at(line, col int) *occurrence {
	for i := range ix.occs {
		if ix.occs[i].span.contains(line, col) {
			return &ix.occs[i]
		}
	}
	return nil
}

// of returns every occurrence that refers to sym (declarations included
// when decl is set), in source order.
func (ix *index) of(sym symbol, decl bool) []occurrence {
	var out []occurrence
	for _, o := range ix.occs {
		if o.decl && !decl {
			continue
		}
		for _, t := range o.targets {
			if t == sym {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// declaration returns the occurrence that declares sym, or nil.
func (ix *index) declaration(sym symbol) *occurrence {
	for i, o := range ix.occs {
		if o.decl && len(o.targets) == 1 && o.targets[0] == sym {
			return &ix.occs[i]
		}
	}
	return nil
}
