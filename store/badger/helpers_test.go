package badger

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
)

// The suite's helpers, under the names this package's tests use.
var (
	setup        = storetest.Setup
	write        = storetest.Write
	snap         = storetest.Snap
	has          = storetest.Has
	all          = storetest.All
	mustParse    = storetest.MustParse
	stateOf      = storetest.StateOf
	fixtureInput = storetest.FixtureInput
	fixture      = storetest.Fixture()
)

// testStore is a store with its engine at hand, for tests that reach
// into Badger.
type testStore struct {
	store.Store
	e *engine
}

// openTestStore opens the database at dir, as Open does.
func openTestStore(dir string, opts Options) (*testStore, error) {
	e, err := openEngine(dir, opts)
	if err != nil {
		return nil, err
	}
	return &testStore{Store: store.New(e, store.Options{}), e: e}, nil
}

// openBadger opens the Badger store at dir with a small block cache, as
// every test here does, failing the test on error.
func openBadger(t testing.TB, dir string) *testStore {
	t.Helper()
	s, err := openTestStore(dir, Options{BlockCacheMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// streamSmall makes s import in chunks of 100 tuples, sort on disk once
// 250 are held and merge runs three at a time: small inputs then take
// every path of a large import.
func streamSmall(s *testStore) {
	s.Store = store.New(s.e, store.Options{ImportChunk: 100})
	s.e.loadHold, s.e.spillFanIn = 250, 3
}

// noLeftovers checks that no bulk-load files are left and, when
// untouched, that nothing was written above the latest revision (a
// rolled-back write leaves its undoing there).
func noLeftovers(t testing.TB, s *testStore, untouched bool) {
	t.Helper()
	leftovers(t, s.e, untouched)
}

func leftovers(t testing.TB, e *engine, untouched bool) {
	t.Helper()
	if _, latest := e.bounds(); untouched && e.db.MaxVersion() > uint64(latest) {
		t.Errorf("entries at version %d above the latest revision %d", e.db.MaxVersion(), latest)
	}
	if _, err := os.Stat(filepath.Join(e.path, spillDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bulk-load files left behind: %v", err)
	}
}

// compact flushes the memtable into a table and compacts every level into
// the last, so that every version the discard timestamp allows is gone.
func compact(t testing.TB, e *engine) {
	t.Helper()
	w := e.db.NewTransactionAt(math.MaxUint64-1, true)
	if err := w.Set(flushPrefix, nil); err != nil {
		t.Fatal(err)
	}
	_, latest := e.bounds()
	if err := w.CommitAt(uint64(latest), nil); err != nil {
		t.Fatal(err)
	}
	// DropPrefix flushes the memtables when anything matches.
	if err := e.db.DropPrefix(flushPrefix); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	engines := map[store.Store]*engine{}
	engineOf := func(s store.Store) *engine {
		mu.Lock()
		defer mu.Unlock()
		return engines[s]
	}
	storetest.Run(t, storetest.Backend{
		Name: "badger",
		Open: func(t testing.TB, o storetest.Options) store.Store {
			e, err := openEngine(t.TempDir(), Options{KeepRevisions: o.KeepRevisions, BlockCacheMB: 16})
			if err != nil {
				t.Fatal(err)
			}
			so := store.Options{IndexBound: o.IndexBound, IndexRecompute: o.IndexRecompute, MemIndex: o.MemIndex, MemIndexLimit: o.MemIndexLimit}
			if o.SmallImports {
				so.ImportChunk = 100
				e.loadHold, e.spillFanIn = 250, 3
			}
			s := store.New(e, so)
			mu.Lock()
			engines[s] = e
			mu.Unlock()
			return s
		},
		Compact:   func(t testing.TB, s store.Store) { compact(t, engineOf(s)) },
		Leftovers: func(t testing.TB, s store.Store, untouched bool) { leftovers(t, engineOf(s), untouched) },
	})
}
