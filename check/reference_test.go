package check

import (
	"fmt"
	"slices"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// reference is a deliberately naive evaluator, sharing no code with the
// checker: it computes membership M(o#r, x) for every object o and every
// candidate subject x by fixpoint iteration, one stratum at a time, each
// stratum from all-false upwards until nothing changes.
type reference struct {
	in       *instance
	stored   map[tuples.Tuple]bool
	subjects map[string][]tuples.Subject // "type:id#rel" -> stored subjects
	m        map[refKey]bool
	universe []tuples.Subject
	// within holds the universe, when it leaves subjects out (nil: all).
	within map[tuples.Subject]bool
}

// covers reports whether the reference answers for subject x.
func (f *reference) covers(x tuples.Subject) bool { return f.within == nil || f.within[x] }

type refKey struct {
	obj  tuples.Object
	rel  string
	subj tuples.Subject
}

// resources lists, sorted, the ids of the objects of r's type on which x
// holds r: what lookup resources must answer.
func (f *reference) resources(r *schema.Relation, x tuples.Subject) []string {
	var ids []string
	for _, id := range f.in.objects[r.Type.Name] {
		if f.member(tuples.Object{Type: r.Type.Name, ID: id}, r.Name, x) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func newReference(in *instance) *reference { return newReferenceOver(in, nil) }

// newReferenceOver is newReference over the subjects of the universe that
// keep accepts (nil: all). A subject's memberships are computed from its
// own alone, so leaving subjects out changes no answer about the others.
func newReferenceOver(in *instance, keep func(tuples.Subject) bool) *reference {
	f := &reference{in: in, stored: map[tuples.Tuple]bool{}, subjects: map[string][]tuples.Subject{}, m: map[refKey]bool{}}
	for _, t := range in.tuples {
		if f.stored[t] {
			continue
		}
		f.stored[t] = true
		k := t.ObjectType + ":" + t.ObjectID + "#" + t.Relation
		f.subjects[k] = append(f.subjects[k], t.Subject())
	}
	// The universe: every object, every wildcard, every subject set.
	for _, t := range in.sch.Types {
		f.universe = append(f.universe, tuples.Subject{Type: t.Name, ID: "*"})
		for _, id := range in.objects[t.Name] {
			f.universe = append(f.universe, tuples.Subject{Type: t.Name, ID: id})
			for _, r := range t.Relations {
				f.universe = append(f.universe, tuples.Subject{Type: t.Name, ID: id, Relation: r.Name})
			}
		}
	}
	if keep != nil {
		f.universe = slices.DeleteFunc(f.universe, func(x tuples.Subject) bool { return !keep(x) })
		f.within = map[tuples.Subject]bool{}
		for _, x := range f.universe {
			f.within[x] = true
		}
	}
	level, ok := strata(in.sch)
	if !ok {
		panic("reference: schema is not stratified")
	}
	top := 0
	for _, l := range level {
		top = max(top, l)
	}
	for l := 0; l <= top; l++ {
		for changed := true; changed; {
			changed = false
			for _, r := range in.sch.Relations {
				if level[r.ID] != l {
					continue
				}
				for _, id := range in.objects[r.Type.Name] {
					obj := tuples.Object{Type: r.Type.Name, ID: id}
					for _, x := range f.universe {
						k := refKey{obj, r.Name, x}
						v := f.holds(obj, r, x)
						if v != f.m[k] {
							if !v {
								panic(fmt.Sprintf("reference: %v became false within a stratum", k))
							}
							f.m[k] = true
							changed = true
						}
					}
				}
			}
		}
	}
	return f
}

func (f *reference) member(obj tuples.Object, rel string, x tuples.Subject) bool {
	return f.m[refKey{obj, rel, x}]
}

func (f *reference) holds(obj tuples.Object, r *schema.Relation, x tuples.Subject) bool {
	if x == (tuples.Subject{Type: obj.Type, ID: obj.ID, Relation: r.Name}) {
		return true
	}
	if !r.Stored {
		return f.expr(obj, r.Rewrite, x)
	}
	if f.stored[tuples.New(obj, r.Name, x)] {
		return true
	}
	plain := x.Relation == "" && x.ID != "*"
	if plain && f.stored[tuples.New(obj, r.Name, tuples.Subject{Type: x.Type, ID: "*"})] {
		return true
	}
	for _, s := range f.subjects[obj.String()+"#"+r.Name] {
		if s.Relation != "" && f.member(tuples.Object{Type: s.Type, ID: s.ID}, s.Relation, x) {
			return true
		}
	}
	return false
}

func (f *reference) expr(obj tuples.Object, n schema.Node, x tuples.Subject) bool {
	switch n := n.(type) {
	case *schema.Ref:
		return f.member(obj, n.Relation.Name, x)
	case *schema.Arrow:
		// A hop leads from every stored subject but a wildcard to its
		// object: a subject set t:i#r leads to t:i.
		for _, s := range f.subjects[obj.String()+"#"+n.Tupleset.Name] {
			t := f.in.sch.Type(s.Type)
			if s.ID != "*" && n.Then[t.ID] != nil &&
				f.expr(tuples.Object{Type: s.Type, ID: s.ID}, n.Then[t.ID], x) {
				return true
			}
		}
		return false
	case *schema.Union:
		for _, c := range n.Children {
			if f.expr(obj, c, x) {
				return true
			}
		}
		return false
	case *schema.Intersect:
		for _, c := range n.Children {
			if !f.expr(obj, c, x) {
				return false
			}
		}
		return true
	case *schema.Exclude:
		return f.expr(obj, n.Base, x) && !f.expr(obj, n.Subtract, x)
	}
	panic(fmt.Sprintf("reference: unexpected node %T", n))
}
