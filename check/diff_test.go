package check

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// diffCases is the number of random instances compared; each compares
// every (object, relation, subject) of its universe.
func diffCases(t *testing.T, def int) int {
	if s := os.Getenv("DOCKET_DIFF_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("DOCKET_DIFF_CASES=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return def / 10
	}
	return def
}

func describe(in *instance) string {
	var b strings.Builder
	b.WriteString(in.text)
	b.WriteString("--- tuples\n")
	for _, t := range in.tuples {
		b.WriteString(t.String() + "\n")
	}
	return b.String()
}

// snapshotFor serves an instance from the test-only map snapshot, or for
// every tenth from the real in-memory store.
func snapshotFor(t *testing.T, i int, in *instance) tuples.Snapshot {
	if i%10 != 0 {
		return newMapSnap(in.sch, 1, in.tuples)
	}
	var lines []string
	for _, tp := range in.tuples {
		lines = append(lines, tp.String())
	}
	return newSnap(t, in.text, lines...)
}

func TestDifferential(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 100)
	ctx := context.Background()
	checks, mismatches := 0, 0
	for i := 0; i < n && mismatches < 5; i++ {
		rng := rand.New(rand.NewPCG(20261123, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		snap := snapshotFor(t, i, in)
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		// Every operand order meets the reference: by cost, as written,
		// and reversed, which puts every subtracted side first.
		c.plans.order = planOrder(i % 3)
		var qs []Query
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
		// Half the instances in one batch (one memo), half query by query.
		got, err := checkAll(ctx, c, snap, qs, i%2 == 0)
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, describe(in))
		}
		for j, q := range qs {
			checks++
			want := ref.member(q.Object, q.Relation, q.Subject)
			if got[j].Allowed != want {
				mismatches++
				t.Errorf("instance %d: check %s = %v, reference %v\n%s", i, q, got[j].Allowed, want, describe(in))
				break
			}
		}
	}
	t.Logf("%d random instances, %d checks compared with the reference, %d mismatches", n, checks, mismatches)
}
