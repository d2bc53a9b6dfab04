package badger

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// indexEdges are the nesting edges an import of file k adds: a chain of
// teams under team:root, so that its rows change with each import.
func indexEdges(k, n int) []string {
	out := []string{fmt.Sprintf("team:root#member@team:f%d_0#member", k)}
	for i := 0; i+1 < n; i++ {
		out = append(out, fmt.Sprintf("team:f%d_%d#member@team:f%d_%d#member", k, i, k, i+1))
	}
	if k > 0 {
		// Imports nest under each other: the rows of the earlier
		// chains grow.
		out = append(out, fmt.Sprintf("team:f%d_%d#member@team:f%d_0#member", k-1, n-1, k))
	}
	return out
}

// indexInStep checks that the membership index at the latest revision is
// exactly what the tuples at that revision make it, for every team.
func indexInStep(t *testing.T, ctx context.Context, s store.Store) int {
	t.Helper()
	sn, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	ts, _, err := sn.Read(ctx, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: "team", SubjectRelation: "member"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string][]string{}
	groups := map[string]bool{}
	for _, x := range ts {
		parents[x.SubjectID] = append(parents[x.SubjectID], x.ObjectID)
		groups[x.SubjectID], groups[x.ObjectID] = true, true
	}
	gi := sn.(tuples.GroupIndex)
	for g := range groups {
		var want []tuples.GroupAbove
		dist := map[string]int{g: 0}
		for frontier, d := []string{g}, 1; len(frontier) > 0; d++ {
			var next []string
			for _, h := range frontier {
				for _, p := range parents[h] {
					if _, ok := dist[p]; !ok {
						dist[p] = d
						want = append(want, tuples.GroupAbove{ID: p, Chain: d})
						next = append(next, p)
					}
				}
			}
			frontier = next
		}
		got, indexed, err := gi.GroupsAbove(ctx, tuples.Object{Type: "team", ID: g}, "member")
		if err != nil {
			t.Fatal(err)
		}
		if len(want) > store.DefaultIndexBound {
			if indexed {
				t.Fatalf("team:%s over the bound, yet indexed", g)
			}
			continue
		}
		byID := func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) }
		slices.SortFunc(got, byID)
		slices.SortFunc(want, byID)
		if !indexed || !slices.Equal(got, want) {
			t.Fatalf("revision %d: groups above team:%s = %v (indexed %v), the tuples say %v", sn.Revision(), g, got, indexed, want)
		}
	}
	return len(groups)
}
