package badger

import (
	"context"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyBadgerHealthy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:2#viewer@team:t#member", "doc:1#owner@user:bob")
	write(t, ctx, s, tuples.OpDelete, "doc:1#owner@user:bob")
	s.Close()
	r, err := Verify(ctx, dir)
	if err != nil || len(r.Problems) != 0 || r.Tuples != 2 || r.Changes != 4 || r.Tables == 0 || r.Revision != 3 {
		t.Fatalf("healthy store: %+v, %v", r, err)
	}
}

// corrupt writes raw keys at the latest revision, as damage would leave
// them, bypassing the store.
func corrupt(t *testing.T, dir string, set, del [][]byte) {
	t.Helper()
	e, err := openEngine(dir, Options{BlockCacheMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, latest := e.bounds()
	txn := e.db.NewTransactionAt(uint64(latest), true)
	for _, k := range set {
		txn.Set(k, nil)
	}
	for _, k := range del {
		txn.Delete(k)
	}
	if err := txn.CommitAt(uint64(latest), nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBadgerFindsWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:2#viewer@user:bob")
	s.Close()
	ana, bob := mustParse(t, "doc:1#viewer@user:ana"), mustParse(t, "doc:2#viewer@user:bob")
	ghost := mustParse(t, "doc:3#viewer@user:eve")
	badType := tuples.Tuple{ObjectType: "doc", ObjectID: "4", Relation: "nosuch", SubjectType: "user", SubjectID: "x"}
	corrupt(t, dir,
		[][]byte{kv.ForwardKey(nil, &ghost), kv.ReverseKey(nil, &ghost), kv.ForwardKey(nil, &badType), kv.ReverseKey(nil, &badType)},
		[][]byte{kv.ReverseKey(nil, &ana), kv.ForwardKey(nil, &bob)})
	r, err := Verify(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Problems, "\n")
	for _, want := range []string{
		"doc:1#viewer@user:ana: stored, but missing from the reverse index",
		"doc:2#viewer@user:bob: in the reverse index, but not stored",
		"doc:2#viewer@user:bob: the change log says it was written last, but it is not stored",
		"doc:3#viewer@user:eve: stored, but the change log never recorded it",
		"doc:4#nosuch@user:x: stored, but the schema does not allow it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestVerifyBadgerNamesADamagedTable(t *testing.T) {
	dir, table := damagedFixture(t, 30000)
	fi, _ := os.Stat(table)
	flipByte(t, table, fi.Size()/3)
	r, err := Verify(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "table "+filepath.Base(table)+" fails its checksum") {
		t.Fatalf("problems = %q", r.Problems)
	}
}
