package check

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// genUnstratified draws schemas until one compiles in which some relation
// depends on itself through the subtracted side of `-`: data can then
// make paradoxes, which the reference evaluator does not model.
func genUnstratified(rng *rand.Rand) (string, *schema.Schema) {
	for {
		text := genSchemaText(rng)
		sch, err := schema.Load("random.rebac", []byte(text))
		if err != nil || stratified(sch) {
			continue
		}
		return text, sch
	}
}

// TestOrderIndependence runs every query of random instances whose
// schemas loop through exclusions under each operand order: as written,
// reversed (every subtracted side first) and by cost. Loops, paradoxes
// and their resolution must not depend on the order: the answers and
// the answers' explanations' verdicts must be the same.
func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 100)
	ctx := context.Background()
	checks, allowed, undetermined := 0, 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(4242, uint64(i)))
		text, sch := genUnstratified(rng)
		ids := []string{"a", "b", "c"}[:2+rng.IntN(2)]
		objects := append(ids[:len(ids):len(ids)], "fresh")
		subjects := append(ids[:len(ids):len(ids)], tuples.Wildcard)
		in := &instance{text: text, sch: sch, tuples: genTuples(rng, sch, ids)}
		snap := newMapSnap(sch, 1, in.tuples)
		var qs []Query
		for _, r := range sch.Relations {
			for _, id := range objects {
				for _, st := range sch.Types {
					for _, sid := range subjects {
						qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name,
							Subject: tuples.Subject{Type: st.Name, ID: sid}})
					}
					for _, sr := range st.Relations {
						qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name,
							Subject: tuples.Subject{Type: st.Name, ID: ids[0], Relation: sr.Name}})
					}
				}
			}
		}
		var want []Result
		var wantTri []tri
		for o, order := range []planOrder{orderWritten, orderReversed, orderByCost} {
			c := New(Options{MaxDepth: 1000, CacheSize: -1})
			c.plans.order = order
			// Batches share one memo, so later queries start from nodes
			// decided by earlier ones; single queries start afresh.
			got, err := c.CheckBatch(ctx, snap, qs)
			if err != nil {
				t.Fatalf("instance %d, order %d: %v\n%s", i, order, err, describe(in))
			}
			for j, q := range qs {
				r, err := c.Check(ctx, snap, Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject, Explain: j%7 == 0})
				if err != nil {
					t.Fatalf("instance %d, order %d: %s: %v\n%s", i, order, q, err, describe(in))
				}
				if r.Allowed != got[j].Allowed {
					t.Fatalf("instance %d, order %d: %s alone %v, in a batch %v\n%s", i, order, q, r.Allowed, got[j].Allowed, describe(in))
				}
				if r.Explanation != nil && r.Explanation.Allowed != r.Allowed {
					t.Fatalf("instance %d, order %d: %s: explanation says %v, answer %v\n%s", i, order, q, r.Explanation.Allowed, r.Allowed, describe(in))
				}
				if o == 0 {
					checks++
					if r.Allowed {
						allowed++
					}
					continue
				}
				if r.Allowed != want[j].Allowed {
					t.Fatalf("instance %d: %s = %v in order %d, %v as written\n%s", i, q, r.Allowed, order, want[j].Allowed, describe(in))
				}
			}
			// Undetermined and false both deny, but differ as operands of
			// an enclosing exclusion: they must agree too.
			vs := walkAll(t, c, snap, qs)
			if o == 0 {
				want, wantTri = got, vs
				for _, v := range vs {
					if v == unknown {
						undetermined++
					}
				}
				continue
			}
			for j, q := range qs {
				if vs[j] != wantTri[j] {
					t.Fatalf("instance %d: %s is %v in order %d, %v as written\n%s", i, q, vs[j], order, wantTri[j], describe(in))
				}
			}
		}
	}
	t.Logf("%d random instances with loops through exclusions, %d checks (%d allowed, %d undetermined) agree under all operand orders",
		n, checks, allowed, undetermined)
}

// walkAll answers each query on a fresh walk and returns the three-valued
// answers, before unknown is turned into a denial.
func walkAll(t *testing.T, c *Checker, snap tuples.Snapshot, qs []Query) []tri {
	t.Helper()
	out := make([]tri, len(qs))
	for j, q := range qs {
		w, err := c.begin(context.Background(), snap, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := resolveRelation(w.sch, q.Object, q.Relation)
		if err == nil {
			w.sub, err = resolveSubject(w.sch, q.Subject)
		}
		if err == nil {
			out[j], err = w.top(q.Object, r)
		}
		c.end(w)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return out
}
