package check

import (
	"context"
	"math/rand/v2"
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
