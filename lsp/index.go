package lsp

import (
	"sort"
	"unicode/utf8"

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

// identSpan is where a name is written. The syntax tree gives where a name
// starts; its end is derived from its text, which is exact for a name on
// one line.
func identSpan(id schema.Ident) span {
	return span{line: id.Pos.Line, col: id.Pos.Column, endLine: id.Pos.Line, endCol: id.Pos.Column + utf8.RuneCountInString(id.Name)}
}

// symKind is what a name in a schema names.
type symKind int

const (
	symType symKind = iota + 1
	symRelation
	symCondition
)

// symbol identifies a declared type or relation by name.
type symbol struct {
	kind symKind
	typ  string
	rel  string // for relations
}

func (s symbol) String() string {
	if s.kind == symRelation {
		return s.typ + "#" + s.rel
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
	occs  []occurrence
	types map[string]*schema.TypeDecl
	rels  map[symbol]*schema.RelationDecl
	owner map[*schema.RelationDecl]*schema.TypeDecl
	// conditions by name, the first declaration of each.
	conditions map[string]*schema.ConditionDecl
}

func buildIndex(f *schema.File) *index {
	ix := &index{types: map[string]*schema.TypeDecl{}, rels: map[symbol]*schema.RelationDecl{}, owner: map[*schema.RelationDecl]*schema.TypeDecl{}}
	for _, td := range f.Types {
		if ix.types[td.Name.Name] == nil {
			ix.types[td.Name.Name] = td
		}
		for _, rd := range td.Relations {
			ix.owner[rd] = td
			key := symbol{kind: symRelation, typ: td.Name.Name, rel: rd.Name.Name}
			if ix.rels[key] == nil {
				ix.rels[key] = rd
			}
		}
	}
	ix.declareConditions(f)
	for _, td := range f.Types {
		ix.add(td.Name, true, symbol{kind: symType, typ: td.Name.Name})
		for _, rd := range td.Relations {
			ix.add(rd.Name, true, symbol{kind: symRelation, typ: td.Name.Name, rel: rd.Name.Name})
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
				ix.expr(td.Name.Name, rd.Expr)
			}
		}
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

// relSyms returns the relations named rel on any of types.
func (ix *index) relSyms(types []string, rel string) []symbol {
	var out []symbol
	for _, t := range types {
		key := symbol{kind: symRelation, typ: t, rel: rel}
		if ix.rels[key] != nil {
			out = append(out, key)
		}
	}
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

func (ix *index) expr(typ string, e schema.Expr) {
	switch e := e.(type) {
	case *schema.BinaryExpr:
		ix.expr(typ, e.X)
		ix.expr(typ, e.Y)
	case *schema.RefExpr:
		types := []string{typ}
		for _, hop := range e.Hops {
			syms := ix.relSyms(types, hop.Name)
			ix.add(hop, false, syms...)
			types = ix.reached(syms)
		}
		ix.add(e.Target, false, ix.relSyms(types, e.Target.Name)...)
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
