package schema

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// MaxNameLen is the longest type or relation name, in bytes.
const MaxNameLen = 64

// Hard limits on one schema, refused at once so that no schema, however
// large or hostile, can take a machine down (an editor runs `schema
// check` on every save). They are far above any real schema: the largest
// seed schema has a few dozen types.
const (
	MaxSchemaBytes = 4 << 20
	MaxTypes       = 20000
	MaxRelations   = 100000
)

// Load parses and compiles a schema source. The error, when not nil, is an
// ErrorList holding every problem found.
func Load(filename string, src []byte) (*Schema, error) {
	f, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	return Compile(f)
}

// Compile resolves a parsed file into a Schema, running every semantic
// check. All errors are reported together, in source order, as an
// ErrorList; warnings land in Schema.Warnings.
func Compile(f *File) (s *Schema, err error) {
	if f == nil {
		return nil, ErrorList{{Pos: Pos{Line: 1, Column: 1}, Msg: "no schema to compile"}}
	}
	if d := overLimits(f); d != nil {
		return nil, ErrorList{*d}
	}
	return compile(f)
}

// compile is Compile without the limits.
func compile(f *File) (s *Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, ErrorList{{Pos: Pos{Filename: f.Name, Line: 1, Column: 1},
				Msg: fmt.Sprintf("internal compiler error: %v", r), Hint: "please report this schema"}}
		}
	}()
	c := &compiler{s: &Schema{file: f, byName: map[string]*Type{}, conditionBy: map[string]*Condition{}}}
	c.declare(f)
	c.declareConditions(f)
	c.resolveStored()
	c.resolveComputed()
	c.checkCycles()
	if len(c.errs) > 0 {
		sortDiagnostics(c.errs)
		return nil, ErrorList(c.errs)
	}
	c.computeReach()
	c.computeReverse()
	c.warnUnreachable()
	c.warnLooseExclusion()
	c.warnUnusedPartials(f)
	sortDiagnostics(c.s.Warnings)
	return c.s, nil
}

// overLimits reports the first declaration beyond MaxTypes or
// MaxRelations.
func overLimits(f *File) *Diagnostic {
	if len(f.Types) > MaxTypes {
		return &Diagnostic{Pos: posOf(f.Types[MaxTypes].Pos), Severity: Error,
			Msg:  fmt.Sprintf("the schema declares %d types; at most %d are allowed", len(f.Types), MaxTypes),
			Hint: "split it, or model the many kinds as ids of fewer types"}
	}
	n := 0
	for _, t := range f.Types {
		for _, r := range t.Relations {
			if n++; n > MaxRelations {
				total := 0
				for _, t := range f.Types {
					total += len(t.Relations)
				}
				return &Diagnostic{Pos: posOf(r.Pos), Severity: Error,
					Msg:  fmt.Sprintf("the schema declares %d relations; at most %d are allowed", total, MaxRelations),
					Hint: "split it into smaller schemas"}
			}
		}
	}
	return nil
}

type compiler struct {
	s    *Schema
	errs []Diagnostic
	// decls maps each relation to its declaration, for positions.
	decls map[*Relation]*RelationDecl
	// exprs holds computed relations' expressions until they are resolved.
	exprs map[*Relation]Expr
	// badCondition names declared conditions that failed to compile, so
	// that their uses are not reported as unknown as well.
	badCondition map[string]bool
	// partials maps partial names to their declarations; origin records,
	// for each relation a type got from a partial, where it came from.
	partials map[string]*PartialDecl
	origin   map[*Relation]*origin
	twice    map[string]bool
	// hopWarned keeps one warning per hop (a path is compiled once for
	// each type it can reach).
	hopWarned map[string]bool
	included  map[*PartialDecl]bool
	// at is the relation whose definition is being checked: diagnostics
	// about a relation written in a partial name the including type.
	at *Relation
}

// origin is how a type got a relation from a partial: the partial that
// declares it and the `...` in the type's body that brought it in.
type origin struct {
	partial *PartialDecl
	include *Include
}

func (c *compiler) errorf(pos lexer.Position, hint, format string, args ...any) {
	msg := fmt.Sprintf(format, args...) + c.inPartial(c.at)
	c.errs = append(c.errs, Diagnostic{Pos: posOf(pos), Msg: msg, Hint: hint})
}

// inPartial says, for a relation a type got from a partial, which partial
// and which inclusion: the same text in a partial means something else on
// each type that includes it.
func (c *compiler) inPartial(r *Relation) string {
	o := c.origin[r]
	if r == nil || o == nil {
		return ""
	}
	return fmt.Sprintf(" (in partial `%s`, included in type `%s` at %d:%d)",
		o.partial.Name.Name, r.Type.Name, o.include.Pos.Line, o.include.Pos.Column)
}

func (c *compiler) checkName(id Ident, what string) bool {
	name := id.Name
	switch {
	case isKeyword(name):
		c.errorf(id.Pos, "choose another name", "`%s` is a keyword and cannot be used as a %s name", name, what)
		return false
	case len(name) > MaxNameLen:
		c.errorf(id.Pos, fmt.Sprintf("shorten it to at most %d bytes", MaxNameLen),
			"%s name `%s…` is %d bytes long", what, prefix(name, 16), len(name))
		return false
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_')
		if !ok {
			hint := "names are lowercase ASCII letters, digits and `_`, and start with a letter"
			if lower := strings.ToLower(name); lower != name && validName(lower) {
				hint = fmt.Sprintf("did you mean `%s`? %s", lower, hint)
			}
			c.errorf(id.Pos, hint, "invalid %s name `%s`", what, name)
			return false
		}
	}
	return true
}

// prefix returns the first n characters of s.
func prefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func validName(name string) bool {
	if name == "" || len(name) > MaxNameLen || isKeyword(name) {
		return false
	}
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

// declare creates every type and relation so that references can be
// resolved in any order.
func (c *compiler) declare(f *File) {
	c.decls = map[*Relation]*RelationDecl{}
	c.exprs = map[*Relation]Expr{}
	if len(f.Types) == 0 {
		c.errs = append(c.errs, Diagnostic{Pos: Pos{Filename: f.Name, Line: 1, Column: 1}, Msg: "the schema declares no types",
			Hint: "start with a type, e.g. `type user`"})
		return
	}
	c.declarePartials(f)
	typePos := map[string]lexer.Position{}
	for _, td := range f.Types {
		c.checkName(td.Name, "type")
		if prev, dup := typePos[td.Name.Name]; dup {
			c.errorf(td.Name.Pos, "rename one of them or merge their relations",
				"type `%s` is declared twice (first at %d:%d)", td.Name.Name, prev.Line, prev.Column)
			continue
		}
		typePos[td.Name.Name] = td.Name.Pos
		t := &Type{ID: len(c.s.Types), Name: td.Name.Name, Doc: strings.Join(trimDoc(td.Doc), "\n"), byName: map[string]*Relation{}}
		c.s.Types = append(c.s.Types, t)
		c.s.byName[t.Name] = t
		c.declareBody(t, td.Relations, td.Includes, nil, nil)
	}
}

// declarePartials indexes the partials and checks what can be checked
// once for all the types that include them: names, relations declared
// twice in one partial, unknown partials and partials that include
// themselves.
func (c *compiler) declarePartials(f *File) {
	c.partials = map[string]*PartialDecl{}
	c.origin = map[*Relation]*origin{}
	c.twice = map[string]bool{}
	c.hopWarned = map[string]bool{}
	c.included = map[*PartialDecl]bool{}
	for _, p := range f.Partials {
		c.checkName(p.Name, "partial")
		if prev, dup := c.partials[p.Name.Name]; dup {
			c.errorf(p.Name.Pos, "rename one of them or merge their relations",
				"partial `%s` is declared twice (first at %d:%d)", p.Name.Name, prev.Name.Pos.Line, prev.Name.Pos.Column)
			continue
		}
		c.partials[p.Name.Name] = p
	}
	for _, p := range f.Partials {
		if c.partials[p.Name.Name] != p {
			continue
		}
		seen := map[string]*RelationDecl{}
		for _, rd := range p.Relations {
			c.checkName(rd.Name, "relation")
			if prev, dup := seen[rd.Name.Name]; dup {
				c.errorf(rd.Name.Pos, "relation names must be unique within a partial",
					"relation `%s` is declared twice in partial `%s` (first at %d:%d)", rd.Name.Name, p.Name.Name, prev.Name.Pos.Line, prev.Name.Pos.Column)
				continue
			}
			seen[rd.Name.Name] = rd
		}
		for _, in := range p.Includes {
			if c.partials[in.Name.Name] == nil {
				c.unknownPartial(in)
			}
		}
	}
	// A partial that includes itself, directly or through others, is
	// reported once, at the `...` that closes the loop.
	state := map[*PartialDecl]int{} // 1 on the current path, 2 done
	var visit func(p *PartialDecl)
	visit = func(p *PartialDecl) {
		state[p] = 1
		for _, in := range p.Includes {
			q := c.partials[in.Name.Name]
			switch {
			case q == nil:
			case q == p:
				c.errorf(in.Pos, "remove the `...`", "partial `%s` (declared at %d:%d) includes itself",
					p.Name.Name, p.Name.Pos.Line, p.Name.Pos.Column)
			case state[q] == 1:
				c.errorf(in.Pos, "a partial cannot include itself; move the shared relations into a third partial",
					"partial `%s` includes itself: `...%s` here, inside partial `%s` (declared at %d:%d), leads back to partial `%s` (declared at %d:%d)",
					q.Name.Name, in.Name.Name, p.Name.Name, p.Name.Pos.Line, p.Name.Pos.Column, q.Name.Name, q.Name.Pos.Line, q.Name.Pos.Column)
			case state[q] == 0:
				visit(q)
			}
		}
		state[p] = 2
	}
	for _, p := range f.Partials {
		if c.partials[p.Name.Name] == p && state[p] == 0 {
			visit(p)
		}
	}
}

func (c *compiler) unknownPartial(in *Include) {
	names := make([]string, 0, len(c.partials))
	for n := range c.partials {
		names = append(names, n)
	}
	sort.Strings(names)
	hint := didYouMean(in.Name.Name, names)
	if hint == "" {
		hint = fmt.Sprintf("declare it: `partial %s { ... }`", in.Name.Name)
	}
	c.errorf(in.Pos, hint, "unknown partial `%s` in `...%s`", in.Name.Name, in.Name.Name)
}

// declareBody creates t's relations from a body: the relations written
// there and, at each `...NAME`, those of partial NAME, in order. from and
// via are nil for the type's own body; inside a partial, from is the
// partial and via the `...` in the type's body that led there.
func (c *compiler) declareBody(t *Type, rels []*RelationDecl, incs []*Include, from *PartialDecl, via *Include) {
	include := func(in *Include) {
		p := c.partials[in.Name.Name]
		if p == nil {
			if from == nil {
				c.unknownPartial(in) // inside a partial it was reported once already
			}
			return
		}
		if via != nil && c.onPath(p, from) {
			return // a loop, reported by declarePartials
		}
		top := via
		if top == nil {
			top = in
		}
		c.included[p] = true
		c.declareBody(t, p.Relations, p.Includes, p, top)
	}
	for j, rd := range rels {
		for len(incs) > 0 && incs[0].Index <= j {
			include(incs[0])
			incs = incs[1:]
		}
		c.declareRelation(t, rd, from, via)
	}
	for _, in := range incs {
		include(in)
	}
}

// onPath reports whether partial p can reach partial q through inclusions
// (p == q included): including p again from q would loop.
func (c *compiler) onPath(p, q *PartialDecl) bool {
	seen := map[*PartialDecl]bool{}
	var reach func(x *PartialDecl) bool
	reach = func(x *PartialDecl) bool {
		if x == q {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, in := range x.Includes {
			if y := c.partials[in.Name.Name]; y != nil && reach(y) {
				return true
			}
		}
		return false
	}
	return reach(p)
}

func (c *compiler) declareRelation(t *Type, rd *RelationDecl, from *PartialDecl, via *Include) {
	if from == nil {
		c.checkName(rd.Name, "relation") // a partial's names are checked once, with the partial
	}
	if prev, dup := t.byName[rd.Name.Name]; dup {
		pd, po := c.decls[prev], c.origin[prev]
		switch {
		case po == nil && from == nil:
			p := pd.Name.Pos
			c.errorf(rd.Name.Pos, "relation names must be unique within a type",
				"relation `%s` is declared twice on type `%s` (first at %d:%d)", rd.Name.Name, t.Name, p.Line, p.Column)
		case pd == rd:
			// The same partial reached twice (`...a` and `...b` both
			// include it): said once per type and partial.
			key := t.Name + "\x00" + from.Name.Name
			if !c.twice[key] {
				c.twice[key] = true
				c.errorf(via.Pos, "include it once, in one place",
					"partial `%s` is included twice in type `%s`: through `...%s` at %d:%d and through `...%s` at %d:%d",
					from.Name.Name, t.Name, po.include.Name.Name, po.include.Pos.Line, po.include.Pos.Column,
					via.Name.Name, via.Pos.Line, via.Pos.Column)
			}
		case po != nil && from != nil && po.partial == from:
			// declared twice in one partial: reported with the partial
		default:
			at := via
			if at == nil {
				at = po.include
			}
			c.errorf(at.Pos, "rename one of them, or remove it from the type or the partial",
				"relation `%s` is defined twice on type `%s`: %s and %s", rd.Name.Name, t.Name,
				c.place(pd, po, t), c.place(rd, originOf(from, via), t))
		}
		return
	}
	r := &Relation{ID: len(c.s.Relations), Type: t, Name: rd.Name.Name, Stored: rd.Stored(),
		Doc: strings.Join(trimDoc(rd.Doc), "\n"), decl: rd}
	t.Relations = append(t.Relations, r)
	t.byName[r.Name] = r
	c.s.Relations = append(c.s.Relations, r)
	c.decls[r] = rd
	if from != nil {
		c.origin[r] = originOf(from, via)
	}
	if !r.Stored {
		c.exprs[r] = rd.Expr
	}
}

func originOf(from *PartialDecl, via *Include) *origin {
	if from == nil {
		return nil
	}
	return &origin{partial: from, include: via}
}

// place says where a relation was declared: in the type's body or in a
// partial, with its position.
func (c *compiler) place(rd *RelationDecl, o *origin, t *Type) string {
	p := rd.Name.Pos
	if o == nil {
		return fmt.Sprintf("in type `%s` at %d:%d", t.Name, p.Line, p.Column)
	}
	return fmt.Sprintf("in partial `%s` at %d:%d (through `...%s` at %d:%d)", o.partial.Name.Name, p.Line, p.Column,
		o.include.Name.Name, o.include.Pos.Line, o.include.Pos.Column)
}

func trimDoc(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimPrefix(l, " ")
	}
	return out
}

// unknownType reports a subject type that is not declared. on is the type
// whose relation lists it: a relation of that type written where a subject
// type belongs means a computed relation was meant.
func (c *compiler) unknownType(id Ident, on *Type) {
	hint := didYouMean(id.Name, c.s.TypeNames())
	if on != nil && on.Relation(id.Name) != nil {
		hint = fmt.Sprintf("`%s` is a relation of `%s`; a relation computed from others is written with `=`, e.g. `relation NAME = %s | ...`", id.Name, on.Name, id.Name)
	}
	c.errorf(id.Pos, hint, "unknown type `%s`", id.Name)
}

func (c *compiler) unknownRelation(id Ident, t *Type) {
	hint := didYouMean(id.Name, t.RelationNames())
	if hint == "" && c.s.Type(id.Name) != nil {
		hint = fmt.Sprintf("`%s` is a type; the subject types a relation stores are listed after `:`, e.g. `relation NAME: %s`", id.Name, id.Name)
	}
	c.errorf(id.Pos, hint, "unknown relation `%s` on type `%s`", id.Name, t.Name)
}

func (c *compiler) resolveStored() {
	defer func() { c.at = nil }()
	for _, r := range c.s.Relations {
		if !r.Stored {
			continue
		}
		c.at = r
		seen := map[string]bool{}
		for _, sr := range c.decls[r].Subjects {
			if isKeyword(sr.Type.Name) {
				c.errorf(sr.Type.Pos, "", "`%s` is a keyword, expected a subject type", sr.Type.Name)
				continue
			}
			t := c.s.Type(sr.Type.Name)
			if t == nil {
				c.unknownType(sr.Type, r.Type)
				continue
			}
			a := Allowed{Type: t, Wildcard: sr.Wildcard, Expiration: sr.Expiration}
			if sr.Relation != nil {
				a.Relation = t.Relation(sr.Relation.Name)
				if a.Relation == nil {
					c.unknownRelation(*sr.Relation, t)
					continue
				}
			}
			if sr.Condition != nil {
				a.Condition = c.s.Condition(sr.Condition.Name)
				if a.Condition == nil {
					if !c.badCondition[sr.Condition.Name] {
						c.unknownCondition(*sr.Condition)
					}
					continue
				}
			}
			key := a.String()
			if seen[key] {
				c.errorf(sr.Pos, "remove the repeated subject", "subject `%s` is listed twice in relation `%s`", key, r.Name)
				continue
			}
			seen[key] = true
			r.Allowed = append(r.Allowed, a)
			switch {
			case a.Wildcard:
				r.WildcardTypes.add(t.ID)
			case a.Relation != nil:
				// `team#member | team#member with c` is one subject set
				// to the walks, whatever its tuples carry.
				if !slices.Contains(r.SubjectSets, a.Relation) {
					r.SubjectSets = append(r.SubjectSets, a.Relation)
				}
			default:
				r.DirectTypes.add(t.ID)
			}
		}
	}
}

func (c *compiler) resolveComputed() {
	defer func() { c.at = nil }()
	for _, r := range c.s.Relations {
		if !r.Stored {
			c.at = r
			r.Rewrite = c.node(r.Type, c.exprs[r])
		}
	}
}

// node compiles one expression evaluated on objects of type t. It returns
// nil after reporting an error.
func (c *compiler) node(t *Type, e Expr) Node {
	switch e := e.(type) {
	case *BinaryExpr:
		x, y := c.node(t, e.X), c.node(t, e.Y)
		if x == nil || y == nil {
			return nil
		}
		switch e.Op {
		case OpUnion:
			return &Union{Children: append(flatten[*Union](x), flatten[*Union](y)...)}
		case OpIntersect:
			return &Intersect{Children: append(flatten[*Intersect](x), flatten[*Intersect](y)...)}
		default:
			return &Exclude{Base: x, Subtract: y}
		}
	case *RefExpr:
		if len(e.Hops) == 0 {
			r := t.Relation(e.Target.Name)
			if r == nil {
				c.unknownRelation(e.Target, t)
				return nil
			}
			return &Ref{Relation: r}
		}
		nodes, ok := c.pathFrom([]*Type{t}, e, 0)
		if !ok {
			return nil
		}
		return nodes[0]
	}
	return nil
}

func flatten[T interface {
	*Union | *Intersect
	Node
}](n Node) []Node {
	switch v := n.(type) {
	case *Union:
		if _, ok := any(T(nil)).(*Union); ok {
			return v.Children
		}
	case *Intersect:
		if _, ok := any(T(nil)).(*Intersect); ok {
			return v.Children
		}
	}
	return []Node{n}
}

// pathFrom compiles hops[i:] for each type in types. An entry is nil where
// the segment does not exist on that type. ok is false after an error.
func (c *compiler) pathFrom(types []*Type, e *RefExpr, i int) (nodes []Node, ok bool) {
	nodes = make([]Node, len(types))
	if i == len(e.Hops) {
		found := false
		for k, t := range types {
			if r := t.Relation(e.Target.Name); r != nil {
				nodes[k] = &Ref{Relation: r}
				found = true
			}
		}
		if !found {
			c.unknownSegment(e.Target, types)
			return nil, false
		}
		return nodes, true
	}
	hop := e.Hops[i]
	var hops []*Relation
	for k, t := range types {
		r := t.Relation(hop.Name)
		if r == nil {
			continue
		}
		if !c.followable(r, hop, e) {
			return nil, false
		}
		hops = append(hops, r)
		nodes[k] = &Arrow{Tupleset: r, Then: make([]Node, len(c.s.Types)), Text: pathText(e, i)}
	}
	if len(hops) == 0 {
		c.unknownSegment(hop, types)
		return nil, false
	}
	// The next step runs on every type any of these hops can reach.
	var next []*Type
	seen := map[*Type]bool{}
	for _, r := range hops {
		for _, a := range r.Allowed {
			if !seen[a.Type] {
				seen[a.Type] = true
				next = append(next, a.Type)
			}
		}
	}
	sub, ok := c.pathFrom(next, e, i+1)
	if !ok {
		return nil, false
	}
	for k := range types {
		arrow, _ := nodes[k].(*Arrow)
		if arrow == nil {
			continue
		}
		for j, nt := range next {
			if arrow.Tupleset.DirectTypes.Has(nt.ID) || hopsToSets(arrow.Tupleset, nt) {
				arrow.Then[nt.ID] = sub[j]
			}
		}
	}
	return nodes, true
}

func pathText(e *RefExpr, from int) string {
	var b strings.Builder
	for i := from; i < len(e.Hops); i++ {
		if i > from {
			b.WriteByte('.')
		}
		b.WriteString(e.Hops[i].Name)
	}
	b.WriteByte('#')
	b.WriteString(e.Target.Name)
	return b.String()
}

// hopsToSets reports whether r allows subject sets of type t, which a hop
// follows to their objects.
func hopsToSets(r *Relation, t *Type) bool {
	for _, s := range r.SubjectSets {
		if s.Type == t {
			return true
		}
	}
	return false
}

// followable reports (and explains) whether a hop can follow r's tuples to
// objects: a stored relation without wildcards can. Subject sets in r are
// followed to their objects, which is worth a warning: `group:g#member`
// stored in r leads the hop to `group:g`, not to its members.
func (c *compiler) followable(r *Relation, hop Ident, e *RefExpr) bool {
	if !r.Stored {
		c.errorf(hop.Pos, "a hop follows stored tuples; hop through a stored relation, or read the computed relation at the end of the path after `#`",
			"cannot hop through computed relation `%s` on type `%s`", r.Name, r.Type.Name)
		return false
	}
	for _, a := range r.Allowed {
		if a.Wildcard {
			c.errorf(hop.Pos, "a wildcard is not an object to continue from; hop through a relation that allows no wildcard",
				"cannot hop through relation `%s` on type `%s`: it allows `%s`", r.Name, r.Type.Name, a)
			return false
		}
	}
	var sets []string
	for _, a := range r.Allowed {
		if a.Relation != nil {
			sets = append(sets, "`"+a.String()+"`")
		}
	}
	if len(sets) > 0 {
		key := fmt.Sprintf("%d:%d", hop.Pos.Line, hop.Pos.Column) + c.inPartial(c.at)
		if !c.hopWarned[key] {
			c.hopWarned[key] = true
			c.s.Warnings = append(c.s.Warnings, Diagnostic{Pos: posOf(hop.Pos), Severity: Warning,
				Msg: fmt.Sprintf("`%s` hops through relation `%s` on type `%s`, which allows %s: a stored subject set is followed to its object (`%s` leads to `%s`), not to its members",
					ExprString(e), r.Name, r.Type.Name, strings.Join(sets, ", "), exampleSet(r), exampleObject(r)) + c.inPartial(c.at),
				Hint: fmt.Sprintf("to silence this, hop through a relation that allows only object types: split `%s` into one relation for objects and one for subject sets", r.Name)})
		}
	}
	return true
}

func firstSet(r *Relation) Allowed {
	for _, a := range r.Allowed {
		if a.Relation != nil {
			return a
		}
	}
	return Allowed{}
}

func exampleSet(r *Relation) string {
	a := firstSet(r)
	return a.Type.Name + ":x#" + a.Relation.Name
}

func exampleObject(r *Relation) string { return firstSet(r).Type.Name + ":x" }

func (c *compiler) unknownSegment(id Ident, types []*Type) {
	switch len(types) {
	case 0:
		// The hop before reaches no type because its subject types are
		// unknown, which is already reported.
		return
	case 1:
		c.unknownRelation(id, types[0])
		return
	}
	var names, cands []string
	for _, t := range types {
		names = append(names, "`"+t.Name+"`")
		cands = append(cands, t.RelationNames()...)
	}
	c.errorf(id.Pos, didYouMean(id.Name, cands), "unknown relation `%s` on types %s", id.Name, strings.Join(names, ", "))
}

// checkCycles reports computed relations that reach themselves without
// passing through a stored relation: they could never be true.
func (c *compiler) checkCycles() {
	// Edges between relations of one object: r -> q when r's expression
	// reads q on the same object, directly (not through an arrow).
	next := map[*Relation][]*Relation{}
	for _, r := range c.s.Relations {
		if r.Stored {
			continue
		}
		walk(r.Rewrite, func(n Node) bool {
			if ref, ok := n.(*Ref); ok && !ref.Relation.Stored {
				next[r] = append(next[r], ref.Relation)
			}
			_, isArrow := n.(*Arrow)
			return !isArrow
		})
	}
	reported := map[*Relation]bool{}
	for _, r := range c.s.Relations {
		if r.Stored || reported[r] {
			continue
		}
		if cycle := findCycle(r, next); cycle != nil {
			names := make([]string, len(cycle))
			for i, q := range cycle {
				names[i] = "`" + q.Name + "`"
				reported[q] = true
			}
			c.at = r
			c.errorf(c.decls[r].Name.Pos, "include a stored relation in the definition so that tuples can make it true",
				"relation `%s` on type `%s` refers to itself with no stored relation on the way (%s)",
				r.Name, r.Type.Name, strings.Join(names, " → "))
			c.at = nil
		}
	}
}

// findCycle returns a path r -> ... -> r, or nil.
func findCycle(r *Relation, next map[*Relation][]*Relation) []*Relation {
	var path []*Relation
	visited := map[*Relation]bool{}
	var dfs func(q *Relation) bool
	dfs = func(q *Relation) bool {
		path = append(path, q)
		for _, n := range next[q] {
			if n == r {
				path = append(path, n)
				return true
			}
			if !visited[n] {
				visited[n] = true
				if dfs(n) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if dfs(r) {
		return path
	}
	return nil
}

// walk visits n and, while visit returns true, its children.
func walk(n Node, visit func(Node) bool) {
	if n == nil || !visit(n) {
		return
	}
	switch n := n.(type) {
	case *Union:
		for _, ch := range n.Children {
			walk(ch, visit)
		}
	case *Intersect:
		for _, ch := range n.Children {
			walk(ch, visit)
		}
	case *Exclude:
		walk(n.Base, visit)
		walk(n.Subtract, visit)
	case *Arrow:
		for _, ch := range n.Then {
			walk(ch, visit)
		}
	}
}

// warnLooseExclusion warns about `a - b | c` and `a - b & c` written
// without parentheses. `-` binds loosest, so they mean `a - (b | c)` and
// `a - (b & c)`, while a reader, and often the author, takes `c` as
// granted or required.
func (c *compiler) warnLooseExclusion() {
	var walk func(e Expr)
	walk = func(e Expr) {
		b, ok := e.(*BinaryExpr)
		if !ok {
			return
		}
		if y, ok := b.Y.(*BinaryExpr); ok && b.Op == OpExclude && !y.Grouped && y.Op != OpExclude {
			c.s.Warnings = append(c.s.Warnings, looseExclusion(b, y))
		}
		walk(b.X)
		walk(b.Y)
	}
	// An expression in a partial is checked once, whatever includes it:
	// the warning is about how it is written.
	seen := map[Expr]bool{}
	for _, r := range c.s.Relations {
		if e := c.exprs[r]; e != nil && !seen[e] {
			seen[e] = true
			walk(e)
		}
	}
}

func looseExclusion(ex, y *BinaryExpr) Diagnostic {
	base := clipExpr(string(appendExpr(nil, ex.X, OpExclude)))
	// The operands of y's chain: `b | c | d` is [b, c, d].
	var ops []string
	var chain func(e Expr)
	chain = func(e Expr) {
		if b, ok := e.(*BinaryExpr); ok && b.Op == y.Op && (b == y || !b.Grouped) {
			chain(b.X)
			chain(b.Y)
			return
		}
		ops = append(ops, string(appendExpr(nil, e, y.Op+1)))
	}
	chain(y)
	sep := " " + y.Op.String() + " "
	first, rest := ops[0], strings.Join(ops[1:], sep)
	written := fmt.Sprintf("%s - %s", base, strings.Join(ops, sep))
	meant := fmt.Sprintf("%s - (%s)", base, strings.Join(ops, sep))
	// Point at the first operator after the subtracted operand.
	at := y
	for x, ok := at.X.(*BinaryExpr); ok && x.Op == y.Op && !x.Grouped; x, ok = at.X.(*BinaryExpr) {
		at = x
	}
	d := Diagnostic{Pos: posOf(at.OpPos), Severity: Warning}
	if y.Op == OpUnion {
		d.Msg = fmt.Sprintf("`%s` reads `%s`: `-` binds loosest, so `%s` is excluded, not granted", written, meant, rest)
		d.Hint = fmt.Sprintf("to grant `%s`, write `(%s - %s) | %s`; if the exclusion is meant, add the parentheses (schema fmt writes them)",
			rest, base, first, rest)
	} else {
		d.Msg = fmt.Sprintf("`%s` reads `%s`: `-` binds loosest, so `%s` is not required, it only narrows what is excluded", written, meant, rest)
		d.Hint = fmt.Sprintf("to require `%s`, write `(%s - %s) & %s`; if the narrower exclusion is meant, add the parentheses (schema fmt writes them)",
			rest, base, first, rest)
	}
	return d
}

// clipExpr stands "..." for an expression too long to quote in a message.
func clipExpr(s string) string {
	if len(s) > 40 {
		return "..."
	}
	return s
}

// warnUnusedPartials warns about partials no type includes: nothing in
// them is checked, since names in a partial resolve on the including type.
func (c *compiler) warnUnusedPartials(f *File) {
	for _, p := range f.Partials {
		if !c.included[p] && c.partials[p.Name.Name] == p {
			c.s.Warnings = append(c.s.Warnings, Diagnostic{Pos: posOf(p.Name.Pos), Severity: Warning,
				Msg:  fmt.Sprintf("partial `%s` is not included by any type, so its relations are not checked", p.Name.Name),
				Hint: fmt.Sprintf("include it in a type with `...%s`, or remove it", p.Name.Name)})
		}
	}
}
