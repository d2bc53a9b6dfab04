package badger

import (
	"context"
	"testing"

	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// Readers at or above the latest schema's revision answer from the
// engine's copy; below it, and across a reopen, they must still see the
// schema in force at their own revision.
func TestSchemaCacheNeverServesAnotherRevisionsSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	v2 := storetest.Schema + "\ntype folder\n"
	r2, err := s.WriteSchema(ctx, "v2.rebac", []byte(v2))
	if err != nil {
		t.Fatal(err)
	}
	check := func(s *testStore, rev tuples.Revision, folder bool) {
		t.Helper()
		sn := snap(t, ctx, s, rev)
		if got := sn.Schema().Type("folder") != nil; got != folder {
			t.Errorf("snapshot at %d: type folder present = %v, want %v", rev, got, folder)
		}
	}
	check(s, r1, false)
	check(s, r2, true)
	check(s, 0, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	check(s, r1, false)
	check(s, 0, true)
}

// BenchmarkSnapshot times opening and closing a snapshot at the latest
// revision, what a server does for every request.
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	s := openBadger(b, b.TempDir())
	defer s.Close()
	if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sn, err := s.Snapshot(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		sn.Close()
	}
}
