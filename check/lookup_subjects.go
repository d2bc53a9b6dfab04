package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// SubjectQuery asks who holds Relation on Object: subjects of Type ("" =
// any), or, with SubjectRelation, the subject sets Type:id#SubjectRelation.
type SubjectQuery struct {
	Object          tuples.Object
	Relation        string
	Type            string
	SubjectRelation string
	// Context holds contextual tuples, treated as stored for this lookup
	// only, as for Query.Context.
	Context []tuples.Tuple
}

// SubjectResult is one subject found. For a wildcard, Excluded lists the
// subjects of its type the relation still leaves out (an exclusion removed
// them from the wildcard's grant).
type SubjectResult struct {
	Subject  tuples.Subject   `json:"subject"`
	Excluded []tuples.Subject `json:"excluded,omitempty"`
}

// String returns the subject, followed by " - " and the excluded ones.
func (r SubjectResult) String() string {
	if len(r.Excluded) == 0 {
		return r.Subject.String()
	}
	parts := make([]string, len(r.Excluded))
	for i, s := range r.Excluded {
		parts[i] = s.String()
	}
	return r.Subject.String() + " - {" + strings.Join(parts, ", ") + "}"
}

// LookupSubjects returns the subjects holding q.Relation on q.Object,
// sorted. It walks forward from the object collecting every subject that
// appears on the way (groups expanded down to their members, both sides of
// exclusions included), then keeps those a check confirms. A granted
// wildcard stands for all subjects of its type; those a check refuses are
// listed as its exclusions instead.
func (c *Checker) LookupSubjects(ctx context.Context, snap tuples.Snapshot, q SubjectQuery) ([]SubjectResult, error) {
	fail := func(err error) ([]SubjectResult, error) {
		return nil, fmt.Errorf("lookup subjects %s#%s: %w", q.Object, q.Relation, err)
	}
	w, err := c.begin(ctx, snap, q.Context)
	if err != nil {
		return fail(err)
	}
	defer c.end(w)
	target, err := resolveRelation(w.sch, q.Object, q.Relation)
	if err != nil {
		return fail(err)
	}
	var filterType *schema.Type
	if q.Type != "" {
		if filterType = w.sch.Type(q.Type); filterType == nil {
			return fail(fmt.Errorf("unknown subject type %q", q.Type))
		}
	}
	if q.SubjectRelation != "" {
		if filterType == nil {
			return fail(fmt.Errorf("subject relation %q needs a subject type", q.SubjectRelation))
		}
		if filterType.Relation(q.SubjectRelation) == nil {
			return fail(fmt.Errorf("type %s has no relation %q", q.Type, q.SubjectRelation))
		}
	}
	plain, sets, err := w.forwardWalk(q.Object, target)
	if err != nil {
		return fail(err)
	}
	confirm := func(s tuples.Subject) (bool, error) {
		if w.sub, err = resolveSubject(w.sch, s); err != nil {
			return false, err
		}
		v, err := w.top(q.Object, target)
		return v == yes, err
	}

	var out []SubjectResult
	if q.SubjectRelation != "" {
		for _, s := range sets {
			if s.Type != q.Type || s.Relation != q.SubjectRelation {
				continue
			}
			ok, err := confirm(s)
			if err != nil {
				return fail(err)
			}
			if ok {
				out = append(out, SubjectResult{Subject: s})
			}
		}
		return out, nil
	}
	// Wildcards first: a granted one replaces the subjects of its type.
	granted := map[string]int{}
	for _, s := range plain {
		if s.ID != tuples.Wildcard || (filterType != nil && s.Type != q.Type) {
			continue
		}
		ok, err := confirm(s)
		if err != nil {
			return fail(err)
		}
		if ok {
			granted[s.Type] = len(out)
			out = append(out, SubjectResult{Subject: s})
		}
	}
	for _, s := range plain {
		if s.ID == tuples.Wildcard || (filterType != nil && s.Type != q.Type) {
			continue
		}
		ok, err := confirm(s)
		if err != nil {
			return fail(err)
		}
		i, wild := granted[s.Type]
		switch {
		case wild && !ok:
			out[i].Excluded = append(out[i].Excluded, s)
		case !wild && ok:
			out = append(out, SubjectResult{Subject: s})
		}
	}
	slices.SortFunc(out, func(a, b SubjectResult) int { return compareSubjects(a.Subject, b.Subject) })
	return out, nil
}

func compareSubjects(a, b tuples.Subject) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return strings.Compare(a.Relation, b.Relation)
}

// forwardWalk collects every plain subject (objects and wildcards) and
// every subject set met walking down from obj#r, each once and sorted.
// Subject sets include obj#r itself and every (object, relation) entered.
func (w *walker) forwardWalk(obj tuples.Object, r *schema.Relation) (plain, sets []tuples.Subject, err error) {
	seenPlain := map[tuples.Subject]bool{}
	visited := map[pairKey]bool{}
	var queue []pairKey
	enter := func(o tuples.Object, rel *schema.Relation) {
		k := pairKey{obj: o, rel: rel.ID}
		if !visited[k] {
			visited[k] = true
			queue = append(queue, k)
			sets = append(sets, tuples.Subject{Type: o.Type, ID: o.ID, Relation: rel.Name})
		}
	}
	var expr func(o tuples.Object, n schema.Node) error
	expr = func(o tuples.Object, n schema.Node) error {
		switch n := n.(type) {
		case *schema.Ref:
			enter(o, n.Relation)
		case *schema.Arrow:
			for x, err := range w.snap.Subjects(w.ctx, o, n.Tupleset.Name, tuples.SubjectFilter{Plain: true}) {
				if err != nil {
					return fmt.Errorf("read %s#%s: %w", o, n.Tupleset.Name, err)
				}
				t := w.sch.Type(x.Type)
				if t == nil || x.ID == tuples.Wildcard || n.Then[t.ID] == nil {
					continue
				}
				if err := expr(tuples.Object{Type: x.Type, ID: x.ID}, n.Then[t.ID]); err != nil {
					return err
				}
			}
		case *schema.Union:
			for _, ch := range n.Children {
				if err := expr(o, ch); err != nil {
					return err
				}
			}
		case *schema.Intersect:
			for _, ch := range n.Children {
				if err := expr(o, ch); err != nil {
					return err
				}
			}
		case *schema.Exclude:
			if err := expr(o, n.Base); err != nil {
				return err
			}
			return expr(o, n.Subtract)
		}
		return nil
	}
	enter(obj, r)
	for len(queue) > 0 {
		if err := w.ctx.Err(); err != nil {
			return nil, nil, err
		}
		k := queue[0]
		queue = queue[1:]
		rel := w.sch.Relations[k.rel]
		if !rel.Stored {
			if err := expr(k.obj, rel.Rewrite); err != nil {
				return nil, nil, err
			}
			continue
		}
		for s, err := range w.snap.Subjects(w.ctx, k.obj, rel.Name, tuples.SubjectFilter{}) {
			if err != nil {
				return nil, nil, fmt.Errorf("read %s#%s: %w", k.obj, rel.Name, err)
			}
			if s.Relation == "" {
				if !seenPlain[s] {
					seenPlain[s] = true
					plain = append(plain, s)
				}
				continue
			}
			sr := w.sch.Relation(s.Type, s.Relation)
			if sr == nil {
				return nil, nil, fmt.Errorf("stored subject %s names a relation the schema does not have", s)
			}
			enter(tuples.Object{Type: s.Type, ID: s.ID}, sr)
		}
	}
	slices.SortFunc(plain, compareSubjects)
	slices.SortFunc(sets, compareSubjects)
	return plain, sets, nil
}
