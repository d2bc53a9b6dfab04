package check

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// The direction of each step of the search between a group and the
// subject's groups, chosen by the store's counts of the relation
// (tuples.NestingCounter), by the sizes of the two sides, or forced
// always down or always up by counts that lie, never changes an answer:
// against the reference evaluator on the random nested histories of the
// index's differential test, with the index ignored so that every
// membership is searched, with and without a depth limit below the
// chains.

// skewedCounts is a snapshot whose counts of every relation are fixed,
// and count how often they are read.
type skewedCounts struct {
	tuples.Snapshot
	c     tuples.NestingCounts
	reads *atomic.Int64
}

func (s skewedCounts) NestingCounts(context.Context, string, string) (tuples.NestingCounts, bool, error) {
	s.reads.Add(1)
	return s.c, true, nil
}

func TestDifferentialCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := diffCases(t, 16)
	// Down: a step down reads a million subject sets a group, a step up
	// one group: the search goes up wherever it can. Up: the reverse.
	skews := map[string]tuples.NestingCounts{
		"up":   {Sets: 1_000_000, Parents: 1, Children: 1_000_000},
		"down": {Sets: 1_000_000, Parents: 1_000_000, Children: 1},
	}
	var checks, limited int
	var reads atomic.Int64
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		h := newIndexHistory(t, rng)
		depth := 1000
		if i%2 == 1 {
			depth = 3 + rng.IntN(8)
		}
		base := New(Options{MaxDepth: depth, CacheSize: -1, IgnoreIndex: true, IgnoreCounts: true})
		counted := New(Options{MaxDepth: depth, CacheSize: -1, IgnoreIndex: true})
		for k, rev := range h.revs {
			in := h.instance(k)
			ref := newReference(in)
			snap, err := h.st.Snapshot(ctx, rev)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := snap.(tuples.NestingCounter); !ok {
				t.Fatal("the memory store's snapshots keep no counts")
			}
			snaps := map[string]tuples.Snapshot{"store's counts": snap}
			for name, c := range skews {
				snaps["always "+name] = skewedCounts{Snapshot: snap, c: c, reads: &reads}
			}
			for _, r := range in.sch.Relations {
				for _, id := range in.objects[r.Type.Name] {
					for _, x := range ref.universe {
						q := Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x}
						want, wantErr := base.Check(ctx, snap, q)
						if wantErr == nil && depth == 1000 && want.Allowed != ref.member(q.Object, q.Relation, q.Subject) {
							t.Fatalf("history %d revision %d: %s = %v by the sizes of the sides, reference %v\n%s", i, rev, q, want.Allowed, !want.Allowed, describe(in))
						}
						if wantErr != nil {
							limited++
						}
						for name, s := range snaps {
							c := counted
							got, err := c.Check(ctx, s, q)
							checks++
							if (err != nil) != (wantErr != nil) || got.Allowed != want.Allowed {
								t.Fatalf("history %d revision %d, depth %d: %s = %v (%v) with %s, %v (%v) by the sizes of the sides\n%s",
									i, rev, depth, q, got.Allowed, err, name, want.Allowed, wantErr, describe(in))
							}
						}
					}
				}
			}
			snap.Close()
		}
	}
	if reads.Load() == 0 {
		t.Fatal("no search read the counts: the test misses the path")
	}
	t.Logf("%d histories, %d checks compared with the store's counts and with counts forcing each way, against the sizes of the sides and the reference; %d failed on the depth limit alike; 0 mismatches", n, checks, limited)
}
