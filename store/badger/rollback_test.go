package badger

import (
	"context"
	"testing"

	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// TestRollbackKeepsPayloads: undoing an interrupted bulk write restores
// each key it touched as it was at the latest revision, its value with
// it: a tuple that carried an expiry still does once a later write takes
// the interrupted write's revision number (not a plain tuple that never
// expires).
func TestRollbackKeepsPayloads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	if _, err := s.WriteSchema(ctx, "exp.rebac", []byte("type user\n\ntype doc {\n  relation viewer: user with expiration\n}\n")); err != nil {
		t.Fatal(err)
	}
	const expiring = "doc:1#viewer@user:ana[expiration:2099-01-01T00:00:00Z]"
	write(t, ctx, s, tuples.OpTouch, expiring)
	_, head := s.e.bounds()
	// A bulk write at the next revision that rewrote the tuple plain and
	// was never published.
	plain := mustParse(t, "doc:1#viewer@user:ana")
	wb := s.e.db.NewWriteBatchAt(uint64(head) + 1)
	for _, k := range [][]byte{kv.ForwardKey(nil, &plain), kv.ReverseKey(nil, &plain)} {
		if err := wb.Set(k, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openBadger(t, dir)
	defer s.Close()
	write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:bob")
	sn := snap(t, ctx, s, 0)
	defer sn.Close()
	if sn.Revision() != head+1 {
		t.Fatalf("the write after the rollback is at revision %d, want %d", sn.Revision(), head+1)
	}
	got, ok, err := tuples.Get(ctx, sn, plain.Key())
	if err != nil || !ok || got.Text() != expiring {
		t.Fatalf("after the rollback and a write: %v (stored %v, %v), want %s", got.Text(), ok, err, expiring)
	}
}
