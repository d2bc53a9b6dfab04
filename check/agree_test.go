package check

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/tuples"
)

// treeHas reports whether x is in a fully expanded userset tree. A cycle
// leaf stands only for its own subject set: the loop it closes adds no
// member of its own.
func treeHas(n *expand.Node, x tuples.Subject) bool {
	switch n.Kind {
	case expand.Leaf:
		s := *n.Subject
		if s == x || s.ID == tuples.Wildcard && x.Type == s.Type && x.Relation == "" {
			return true
		}
		return slices.ContainsFunc(n.Children, func(c *expand.Node) bool { return treeHas(c, x) })
	case expand.Cycle:
		return *n.Subject == x
	case expand.Union:
		return slices.ContainsFunc(n.Children, func(c *expand.Node) bool { return treeHas(c, x) })
	case expand.Intersection:
		return !slices.ContainsFunc(n.Children, func(c *expand.Node) bool { return !treeHas(c, x) })
	case expand.Exclusion:
		return treeHas(n.Children[0], x) && !treeHas(n.Children[1], x)
	}
	panic("unexpected node kind " + n.Kind)
}

// subjectsHave reports whether a lookup-subjects answer (no filter)
// includes x: listed, or covered by its type's wildcard and not excluded.
func subjectsHave(res []SubjectResult, x tuples.Subject) bool {
	for _, r := range res {
		if r.Subject == x {
			return true
		}
		if r.Subject.ID == tuples.Wildcard && r.Subject.Type == x.Type && x.Relation == "" && x.ID != tuples.Wildcard {
			return !slices.Contains(r.Excluded, x)
		}
	}
	return false
}

// compareSubjectSets asks lookup subjects, under every subject-set filter
// (type and relation), for the subject sets holding rel on obj, and
// compares each the reference covers with it; it returns how many it
// compared.
func compareSubjectSets(ctx context.Context, c *Checker, snap tuples.Snapshot, ref *reference, obj tuples.Object, rel string, fail func(string, ...any)) int {
	n := 0
	for _, st := range ref.in.sch.Types {
		for _, sr := range st.Relations {
			sets, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: rel, Type: st.Name, SubjectRelation: sr.Name})
			if err != nil {
				fail("lookup subjects: %v", err)
			}
			for _, sid := range ref.in.objects[st.Name] {
				x := tuples.Subject{Type: st.Name, ID: sid, Relation: sr.Name}
				if !ref.covers(x) {
					continue
				}
				got := slices.ContainsFunc(sets, func(s SubjectResult) bool { return s.Subject == x })
				if want := ref.member(obj, rel, x); got != want {
					fail("%s in lookup subjects %s#%s@%s#%s = %v, reference %v", x, obj, rel, st.Name, sr.Name, got, want)
				}
				n++
			}
		}
	}
	return n
}

// TestAgreement checks, on random instances, that check, membership in
// the fully expanded tree, lookup resources and lookup subjects agree.
func TestAgreement(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 30)
	ctx := context.Background()
	var compared, skipped int
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		in := genInstance(rng)
		snap := newMapSnap(in.sch, 1, in.tuples)
		c := New(Options{MaxDepth: 1000})
		c.plans.order = planOrder(i % 3)
		ref := newReference(in)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d: "+format+"\n%s", append([]any{i}, append(args, describe(in))...)...)
		}
		allowed := func(obj tuples.Object, rel string, x tuples.Subject) bool {
			r, err := c.Check(ctx, snap, Query{Object: obj, Relation: rel, Subject: x})
			if err != nil {
				fail("check: %v", err)
			}
			return r.Allowed
		}
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				obj := tuples.Object{Type: r.Type.Name, ID: id}
				tree, err := expand.Expand(ctx, snap, obj, r.Name, expand.Options{Recursive: true, Depth: 1000})
				if errors.Is(err, expand.ErrTooLarge) {
					skipped++
					tree = nil
				} else if err != nil {
					fail("expand: %v", err)
				}
				all, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name})
				if err != nil {
					fail("lookup subjects: %v", err)
				}
				for _, x := range ref.universe {
					want := allowed(obj, r.Name, x)
					if want != ref.member(obj, r.Name, x) {
						fail("check %s#%s@%s = %v disagrees with the reference", obj, r.Name, x, want)
					}
					compared++
					if x.Relation == "" {
						if tree != nil && treeHas(tree, x) != want {
							fail("%s in expanded %s#%s = %v, check %v\n%s", x, obj, r.Name, !want, want, tree)
						}
						if subjectsHave(all, x) != want {
							fail("%s in lookup subjects %s#%s %v, check %v", x, obj, r.Name, all, want)
						}
					}
				}
				// Subject sets, by type and relation filter.
				compareSubjectSets(ctx, c, snap, ref, obj, r.Name, fail)
			}
		}
		// Lookup resources, for every subject and every relation.
		for _, x := range ref.universe {
			for _, r := range in.sch.Relations {
				var got []string
				next, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name},
					func(o tuples.Object) bool { got = append(got, o.ID); return true })
				if err != nil || next != "" {
					fail("lookup resources %s#%s for %s: next %q, %v", r.Type.Name, r.Name, x, next, err)
				}
				want := ref.resources(r, x)
				if !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s = %v, check says %v", r.Type.Name, r.Name, x, got, want)
				}
				// Paging one object at a time gives the same list.
				if len(want) > 1 {
					var paged []string
					cursor := ""
					for {
						cursor, err = c.LookupResources(ctx, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name, Limit: 1, Cursor: cursor},
							func(o tuples.Object) bool { paged = append(paged, o.ID); return true })
						if err != nil {
							fail("paged lookup: %v", err)
						}
						if cursor == "" {
							break
						}
					}
					if !slices.Equal(paged, want) {
						fail("paged lookup resources %s#%s for %s = %v, want %v", r.Type.Name, r.Name, x, paged, want)
					}
				}
			}
		}
	}
	t.Logf("%d random instances, %d (object, relation, subject) triples agree across check, expand, lookup subjects and lookup resources (%d trees too large to expand)", n, compared, skipped)
}
