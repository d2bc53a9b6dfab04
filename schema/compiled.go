package schema

import (
	"strings"

	"github.com/docketdb/docket/condition"
)

// Schema is a compiled schema: every name resolved to a *Type or *Relation,
// every expression a tree of Nodes. It is immutable once built and safe for
// concurrent use.
type Schema struct {
	// Types in declaration order; Types[i].ID == i.
	Types []*Type
	// Relations of all types, in declaration order; Relations[i].ID == i.
	Relations []*Relation
	// Conditions in declaration order; Conditions[i].ID == i.
	Conditions []*Condition
	// Warnings found while compiling (relations that can never be true).
	Warnings []Diagnostic

	file        *File
	byName      map[string]*Type
	conditionBy map[string]*Condition
}

// Condition returns the condition named name, or nil.
func (s *Schema) Condition(name string) *Condition { return s.conditionBy[name] }

// ConditionNames returns the names of all conditions, in declaration order.
func (s *Schema) ConditionNames() []string {
	names := make([]string, len(s.Conditions))
	for i, c := range s.Conditions {
		names[i] = c.Name
	}
	return names
}

// Condition is a compiled condition: its CEL program is built once, here,
// and shared by every evaluation.
type Condition struct {
	ID      int
	Name    string
	Doc     string
	Program *condition.Condition
}

// Params returns the declared parameters.
func (c *Condition) Params() []condition.Param { return c.Program.Params() }

// Signature prints `NAME(p1 T1, p2 T2)`.
func (c *Condition) Signature() string {
	parts := make([]string, len(c.Program.Params()))
	for i, p := range c.Program.Params() {
		parts[i] = p.Name + " " + p.Type.String()
	}
	return c.Name + "(" + strings.Join(parts, ", ") + ")"
}

// Type returns the type named name, or nil.
func (s *Schema) Type(name string) *Type { return s.byName[name] }

// Relation returns the relation typ#rel, or nil when either is unknown.
func (s *Schema) Relation(typ, rel string) *Relation {
	if t := s.byName[typ]; t != nil {
		return t.byName[rel]
	}
	return nil
}

// File returns the syntax tree the schema was compiled from.
func (s *Schema) File() *File { return s.file }

// Text returns the schema in canonical form. Load(name, s.Text()) compiles
// to an identical schema, so the text is what a store keeps.
func (s *Schema) Text() string { return Format(s.file) }

// ExpandedText returns the schema in canonical form with every `...NAME`
// replaced by the relations of partial NAME and the partials left out:
// each type as the checker sees it. It loads to the same compiled schema
// as Text.
func (s *Schema) ExpandedText() string {
	f := *s.file
	f.Partials = nil
	f.Types = make([]*TypeDecl, 0, len(s.file.Types))
	for _, td := range s.file.Types {
		t := s.Type(td.Name.Name)
		cp := *td
		cp.Includes = nil
		cp.Relations = make([]*RelationDecl, len(t.Relations))
		for i, r := range t.Relations {
			cp.Relations[i] = r.decl
		}
		cp.Body = len(cp.Relations) > 0 || len(cp.Inner) > 0
		f.Types = append(f.Types, &cp)
	}
	return Format(&f)
}

// TypeNames returns the names of all types, in declaration order.
func (s *Schema) TypeNames() []string {
	names := make([]string, len(s.Types))
	for i, t := range s.Types {
		names[i] = t.Name
	}
	return names
}

// Type is an object type.
type Type struct {
	ID        int
	Name      string
	Doc       string
	Relations []*Relation
	byName    map[string]*Relation
}

// Relation returns the relation named name on this type, or nil.
func (t *Type) Relation(name string) *Relation { return t.byName[name] }

// RelationNames returns the names of the type's relations, in declaration order.
func (t *Type) RelationNames() []string {
	names := make([]string, len(t.Relations))
	for i, r := range t.Relations {
		names[i] = r.Name
	}
	return names
}

// Relation is a stored or computed relation of a type.
type Relation struct {
	ID   int
	Type *Type
	Name string
	Doc  string

	// Stored relations hold tuples; their subjects must be one of Allowed.
	Stored  bool
	Allowed []Allowed
	// Rewrite is the expression of a computed relation; nil when stored.
	Rewrite Node

	// What can ever be a member, precomputed so that an impossible check
	// answers without touching the store. Sets of Type.ID / Relation.ID.
	//
	// ReachTypes.Has(t): an object of type t can be a member.
	// ReachWildcard.Has(t): the wildcard t:* can be a member.
	// ReachSets.Has(r): a subject set x#r can be a member (always true for
	// the relation itself: a subject set includes itself).
	ReachTypes    IDSet
	ReachWildcard IDSet
	ReachSets     IDSet

	// DirectTypes.Has(t), WildcardTypes.Has(t): a stored relation accepts
	// plain subjects, or the wildcard, of type t. SubjectSets lists the
	// subject sets it accepts. All empty for a computed relation.
	DirectTypes   IDSet
	WildcardTypes IDSet
	SubjectSets   []*Relation

	// Reverse lists how holding this relation on some object can make
	// other relations hold: the edges lookup-resources walks backwards from
	// a subject.
	Reverse []Edge

	decl *RelationDecl
}

// Decl returns the declaration the relation was compiled from, with its
// positions. For a relation a type includes from a partial it is the
// declaration inside the partial, shared by every type that includes it.
func (r *Relation) Decl() *RelationDecl { return r.decl }

// String returns "type#relation".
func (r *Relation) String() string { return r.Type.Name + "#" + r.Name }

// Allows reports whether a stored relation accepts a subject of type typ
// with subject relation rel ("" for a plain object), or the wildcard of
// typ when wildcard is set.
func (r *Relation) Allows(typ *Type, rel *Relation, wildcard bool) bool {
	for _, a := range r.Allowed {
		if a.Type == typ && a.Relation == rel && a.Wildcard == wildcard {
			return true
		}
	}
	return false
}

// AllowsTuple reports whether a stored relation accepts a tuple whose
// subject has this form, carrying the condition cond ("" for none) and,
// when expiring is set, an expiry. `with expiration` allows an expiry and
// does not require one; `with NAME` requires the condition.
func (r *Relation) AllowsTuple(typ *Type, rel *Relation, wildcard bool, cond string, expiring bool) bool {
	for _, a := range r.Allowed {
		if a.Type != typ || a.Relation != rel || a.Wildcard != wildcard {
			continue
		}
		if a.ConditionName() == cond && (a.Expiration || !expiring) {
			return true
		}
	}
	return false
}

// HasConditions reports whether any subject form of a stored relation
// carries a condition or an expiry: only then can its tuples be other
// than plainly present.
func (r *Relation) HasConditions() bool {
	for _, a := range r.Allowed {
		if a.Condition != nil || a.Expiration {
			return true
		}
	}
	return false
}

// AllowedString lists the accepted subjects as written in the schema.
func (r *Relation) AllowedString() string {
	parts := make([]string, len(r.Allowed))
	for i, a := range r.Allowed {
		parts[i] = a.String()
	}
	return strings.Join(parts, " | ")
}

// Allowed is one accepted subject form of a stored relation.
type Allowed struct {
	Type     *Type
	Relation *Relation // a subject set t#r; nil for plain objects and wildcards
	Wildcard bool      // t:*
	// Condition is set by `with NAME`: such tuples must carry it.
	Condition *Condition
	// Expiration is set by `with expiration`: such tuples may expire.
	Expiration bool
}

// ConditionName is the condition's name, or "".
func (a Allowed) ConditionName() string {
	if a.Condition == nil {
		return ""
	}
	return a.Condition.Name
}

// SubjectString is the subject form without its `with` part.
func (a Allowed) SubjectString() string {
	switch {
	case a.Wildcard:
		return a.Type.Name + ":*"
	case a.Relation != nil:
		return a.Type.Name + "#" + a.Relation.Name
	}
	return a.Type.Name
}

func (a Allowed) String() string {
	var cond *Ident
	if a.Condition != nil {
		cond = &Ident{Name: a.Condition.Name}
	}
	return a.SubjectString() + withSuffix(cond, a.Expiration)
}

// Node is a compiled expression: *Ref, *Arrow, *Union, *Intersect or *Exclude.
type Node interface{ node() }

// Ref reads another relation (stored or computed) on the same object.
type Ref struct {
	Relation *Relation
}

// Arrow follows the stored relation Tupleset to the objects it holds, then
// evaluates Then[obj.Type.ID] on each of them; a nil entry means objects of
// that type contribute nothing. Paths of several hops nest Arrows.
type Arrow struct {
	Tupleset *Relation
	Then     []Node
	// Text is the path as written from this hop on (`assignee.team#member`).
	Text string
}

// Union holds when any child holds.
type Union struct{ Children []Node }

// Intersect holds when every child holds.
type Intersect struct{ Children []Node }

// Exclude holds when Base holds and Subtract does not.
type Exclude struct{ Base, Subtract Node }

func (*Ref) node()       {}
func (*Arrow) node()     {}
func (*Union) node()     {}
func (*Intersect) node() {}
func (*Exclude) node()   {}

// EdgeKind tells how an Edge is walked backwards.
type EdgeKind int

// Edge kinds.
const (
	// EdgeRewrite: To holds on the same object (To's expression reads From).
	EdgeRewrite EdgeKind = iota + 1
	// EdgeSubjectSet: To holds on every object storing the subject set
	// obj#From in To.
	EdgeSubjectSet
	// EdgeArrow: To holds on objects reached by walking Via backwards: for
	// each relation in Via, in order, the objects that store the current
	// object in it.
	EdgeArrow
)

// Edge is one reverse edge: holding From on an object can make To hold on
// that object or on objects related to it.
type Edge struct {
	Kind EdgeKind
	From *Relation
	To   *Relation
	Via  []*Relation
	// Conditional is set when the edge passes through an intersection or
	// the base of an exclusion: a candidate found through it must be
	// confirmed with a check.
	Conditional bool
}
