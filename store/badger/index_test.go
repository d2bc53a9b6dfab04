package badger

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
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
	return indexInStepOf(t, ctx, s, "member")
}

// indexInStepOf is indexInStep for relation rel of team.
func indexInStepOf(t *testing.T, ctx context.Context, s store.Store, rel string) int {
	t.Helper()
	sn, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	ts, _, err := sn.Read(ctx, tuples.Filter{ObjectType: "team", Relation: rel, SubjectType: "team", SubjectRelation: rel}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string][]string{}
	groups := map[string]bool{}
	for _, x := range ts {
		parents[x.SubjectID] = append(parents[x.SubjectID], x.ObjectID)
		groups[x.SubjectID], groups[x.ObjectID] = true, true
	}
	// The counts, in step with the same tuples.
	if sn.Schema().Relation("team", rel).NestingCounted() {
		ps, cs := map[string]bool{}, map[string]bool{}
		for _, x := range ts {
			ps[x.ObjectID], cs[x.SubjectID] = true, true
		}
		want := tuples.NestingCounts{Sets: int64(len(ts)), Parents: int64(len(ps)), Children: int64(len(cs))}
		got, kept, err := sn.(tuples.NestingCounter).NestingCounts(ctx, "team", rel)
		if err != nil || !kept || got != want {
			t.Fatalf("counts of team#%s %+v (kept %v, %v); the tuples make %+v", rel, got, kept, err, want)
		}
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
		got, indexed, err := gi.GroupsAbove(ctx, tuples.Object{Type: "team", ID: g}, rel)
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

// TestIndexBuildExisting: a database written before the index existed
// (its index and count keys removed here) has none: the index reports
// it, reads of it say not indexed (and no counts kept), and BuildIndex
// builds both, exactly, in a revision of its own; built again, nothing
// changes.
func TestIndexBuildExisting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, fixture...)
	var lines []string
	for k := range 3 {
		lines = append(lines, indexEdges(k, 12)...)
	}
	write(t, ctx, s, tuples.OpTouch, lines...)
	removed := dropIndexKeys(t, s)
	s.Close()
	if removed < 30 {
		t.Fatalf("removed %d index keys; the writes made fewer than expected", removed)
	}

	s = openBadger(t, dir)
	defer s.Close()
	ix := s.Store.(store.Indexer)
	st, supported, err := ix.IndexStatus(ctx, 0)
	if err != nil || !supported || len(st) != 1 || st[0].Maintained {
		t.Fatalf("status of a database without the index: %+v, %v, %v", st, supported, err)
	}
	sn := snap(t, ctx, s, 0)
	if _, indexed, err := sn.(tuples.GroupIndex).GroupsAbove(ctx, tuples.Object{Type: "team", ID: "f0_5"}, "member"); indexed || err != nil {
		t.Fatalf("a group answered from an index not built (%v)", err)
	}
	if c, kept, err := sn.(tuples.NestingCounter).NestingCounts(ctx, "team", "member"); kept || err != nil {
		t.Fatalf("counts %+v kept before they were built (%v)", c, err)
	}
	before := sn.Revision()
	sn.Close()
	var told []store.IndexStatus
	var steps int
	built, err := ix.BuildIndex(ctx, func(p store.IndexProgress) {
		if p.Built != nil {
			told = append(told, *p.Built)
		} else {
			steps++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || len(told) != 1 || !built[0].Maintained || built[0].Entries == 0 || steps < 2 {
		t.Fatalf("built %+v, told %+v after %d steps", built, told, steps)
	}
	if after := latest(t, ctx, s); after != before+1 {
		t.Fatalf("build: revision %d -> %d, want one revision", before, after)
	}
	indexInStep(t, ctx, s)
	st, _, err = ix.IndexStatus(ctx, 0)
	if err != nil || !st[0].Maintained || st[0].Entries != built[0].Entries {
		t.Fatalf("status after the build: %+v, %v", st, err)
	}
	// The old revision still has no index.
	old := snap(t, ctx, s, before)
	if _, indexed, _ := old.(tuples.GroupIndex).GroupsAbove(ctx, tuples.Object{Type: "team", ID: "f0_5"}, "member"); indexed {
		t.Fatal("the revision before the build answers from the index")
	}
	old.Close()
	if again, err := ix.BuildIndex(ctx, nil); err != nil || len(again) != 0 {
		t.Fatalf("a second build built %+v (%v)", again, err)
	}
	// Writes keep it in step from then on.
	write(t, ctx, s, tuples.OpDelete, indexEdges(1, 12)[3])
	indexInStep(t, ctx, s)
}

// dropIndexKeys makes s's latest revision like one written before the
// index and the counts existed: no index or count keys at all. It returns how many it removed.
func dropIndexKeys(t *testing.T, s *testStore) int {
	t.Helper()
	_, head := s.e.bounds()
	rd := s.e.db.NewTransactionAt(uint64(head), false)
	var keys [][]byte
	for _, tag := range []byte{'g', 'G', 'n'} {
		it := rd.NewIterator(badgerIteratorOptions([]byte{tag, 0}))
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
	}
	rd.Discard()
	removed := len(keys)
	// In transactions small enough for Badger, all at head.
	for len(keys) > 0 {
		n := min(len(keys), 5000)
		txn := s.e.db.NewTransactionAt(uint64(head), true)
		for _, k := range keys[:n] {
			if err := txn.Delete(k); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.CommitAt(uint64(head), nil); err != nil {
			t.Fatal(err)
		}
		keys = keys[n:]
	}
	return removed
}

func latest(t *testing.T, ctx context.Context, s store.Store) tuples.Revision {
	t.Helper()
	sn := snap(t, ctx, s, 0)
	defer sn.Close()
	return sn.Revision()
}

func badgerIteratorOptions(prefix []byte) badger.IteratorOptions {
	return badger.IteratorOptions{Prefix: prefix}
}

// TestVerifyIndex: db verify checks the membership index against the
// tuples: none of a healthy store's, and a missing, a stale and a wrong
// entry by name.
func TestVerifyIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, indexEdges(0, 5)...)
	s.Close()
	r, err := Verify(ctx, dir)
	if err != nil || len(r.Problems) != 0 {
		t.Fatalf("healthy store: %+v, %v", r, err)
	}
	key := func(g, above string, chain int) []byte {
		return kv.IndexKey(nil, &store.IndexChange{Type: "team", Relation: "member", Group: g, Above: above, Chain: chain})
	}
	corrupt(t, dir,
		[][]byte{key("f0_4", "nowhere", 1), key("f0_3", "root", 9)},
		[][]byte{key("f0_4", "f0_0", 4), key("f0_3", "root", 4)})
	r, err = Verify(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Problems, "\n")
	for _, want := range []string{
		"team:f0_4 is indexed under team:nowhere, which the tuples do not nest it in",
		"team:f0_3 under team:root at chain 9; the tuples make it 4",
		"team:f0_4 is nested in team:f0_0, which the index misses",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verify does not say %q:\n%s", want, got)
		}
	}
	if len(r.Problems) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(r.Problems), got)
	}

	// Counts that are not those of the tuples.
	e, err := openEngine(dir, Options{BlockCacheMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	_, head := e.bounds()
	txn := e.db.NewTransactionAt(uint64(head), true)
	if err := txn.Set(kv.CountKey("team", "member"), kv.CountValue(tuples.NestingCounts{Sets: 9, Parents: 1, Children: 2})); err != nil {
		t.Fatal(err)
	}
	if err := txn.CommitAt(uint64(head), nil); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if r, err = Verify(ctx, dir); err != nil {
		t.Fatal(err)
	}
	got = strings.Join(r.Problems, "\n")
	if want := "counts of team#member: 9 subject sets, 1 groups storing any, 2 groups stored in any; the tuples make 5, 5 and 5"; !strings.Contains(got, want) {
		t.Errorf("verify does not say %q:\n%s", want, got)
	}
}
