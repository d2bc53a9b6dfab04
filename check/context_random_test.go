package check

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// TestContextRandom stores part of each random instance's tuples and sends
// the rest as contextual tuples: the answers must be those of the whole.
func TestContextRandom(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 20)
	ctx := context.Background()
	checks := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(31, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		cut := rng.IntN(len(in.tuples) + 1)
		snap := newMapSnap(in.sch, 1, in.tuples[:cut])
		contextual := in.tuples[cut:]
		c := New(Options{MaxDepth: 1000})
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for k, x := range ref.universe {
					if k%3 != i%3 {
						continue
					}
					q := Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x, Context: contextual}
					res, err := c.Check(ctx, snap, q)
					if err != nil {
						t.Fatalf("instance %d: %s: %v\n%s", i, q, err, describe(in))
					}
					if want := ref.member(q.Object, q.Relation, x); res.Allowed != want {
						t.Fatalf("instance %d: %s with %d contextual tuples = %v, reference %v\n%s", i, q, len(contextual), res.Allowed, want, describe(in))
					}
					checks++
				}
			}
		}
		if st := c.Stats(); st.CacheEntries != 0 && len(contextual) > 0 {
			t.Fatalf("instance %d: answers with contextual tuples were cached: %+v", i, st)
		}
	}
	t.Logf("%d random instances, %d checks with contextual tuples agree with the reference", n, checks)
}

// TestLookupContextRandom is TestContextRandom for the lookups: with part
// of the tuples contextual, both lookups give the answers of the whole.
func TestLookupContextRandom(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 20)
	ctx := context.Background()
	compared := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(37, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		// Some tuples are both stored and contextual: each counts once.
		cut := rng.IntN(len(in.tuples) + 1)
		snap := newMapSnap(in.sch, 1, in.tuples[:cut])
		contextual := in.tuples[rng.IntN(cut+1):]
		c := New(Options{MaxDepth: 1000})
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d, %d contextual tuples: "+format+"\n%s", append([]any{i, len(contextual)}, append(args, describe(in))...)...)
		}
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				obj := tuples.Object{Type: r.Type.Name, ID: id}
				all, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name, Context: contextual})
				if err != nil {
					fail("lookup subjects: %v", err)
				}
				for _, x := range ref.universe {
					if x.Relation != "" {
						continue
					}
					if got, want := subjectsHave(all, x), ref.member(obj, r.Name, x); got != want {
						fail("%s in lookup subjects %s#%s = %v, reference %v (%v)", x, obj, r.Name, got, want, all)
					}
					compared++
				}
			}
		}
		for _, x := range ref.universe {
			for _, r := range in.sch.Relations {
				var got []string
				_, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name, Context: contextual},
					func(o tuples.Object) bool { got = append(got, o.ID); return true })
				if err != nil {
					fail("lookup resources: %v", err)
				}
				want := ref.resources(r, x)
				if !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, got, want)
				}
				compared++
			}
		}
		if st := c.Stats(); st.CacheEntries != 0 && len(contextual) > 0 {
			fail("answers with contextual tuples were cached: %+v", st)
		}
	}
	t.Logf("%d random instances, %d lookup answers with contextual tuples agree with the reference", n, compared)
}
