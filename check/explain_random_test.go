package check

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// stepTuples collects the tuples a path names, branches included.
func stepTuples(path []Step, out *[]string) {
	for _, s := range path {
		if s.Kind == StepTuple {
			*out = append(*out, s.Text)
		}
		for _, b := range s.Branches {
			stepTuples(b, out)
		}
	}
}

func denialTuples(d *Denial, out *[]string) {
	if d == nil {
		return
	}
	stepTuples(d.Excluded, out)
	for _, b := range d.Branches {
		denialTuples(b, out)
	}
}

// TestExplainRandom explains a sample of random checks: the answer does
// not change, every explanation is produced without error, allowed ones
// have a path, and every tuple an explanation names is stored.
func TestExplainRandom(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 15)
	ctx := context.Background()
	explained := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(99, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		snap := newMapSnap(in.sch, 1, in.tuples)
		stored := map[string]bool{}
		for _, tp := range in.tuples {
			stored[tp.String()] = true
		}
		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		c.plans.order = planOrder(i % 3)
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for k, x := range ref.universe {
					if k%5 != i%5 {
						continue
					}
					q := Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x, Explain: true}
					res, err := c.Check(ctx, snap, q)
					if err != nil {
						t.Fatalf("instance %d: explain %s: %v\n%s", i, q, err, describe(in))
					}
					e := res.Explanation
					if res.Allowed != ref.member(q.Object, q.Relation, x) || e == nil || e.Allowed != res.Allowed ||
						res.Allowed && len(e.Path) == 0 || !res.Allowed && e.Denial == nil {
						t.Fatalf("instance %d: %s: allowed %v, explanation %+v\n%s", i, q, res.Allowed, e, describe(in))
					}
					var named []string
					stepTuples(e.Path, &named)
					denialTuples(e.Denial, &named)
					for _, s := range named {
						if !stored[s] {
							t.Fatalf("instance %d: %s: explanation names %s, which is not stored\n%s\n%s", i, q, s, e, describe(in))
						}
					}
					explained++
				}
			}
		}
	}
	t.Logf("%d random instances, %d explanations checked", n, explained)
}
