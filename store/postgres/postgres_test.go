package postgres

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/docketdb/docket/internal/pgtest"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
)

// pg is this package's PostgreSQL cluster; every test has a database of
// its own on it.
var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// openBackend opens a migrated backend on a fresh database.
func openBackend(t testing.TB, opts Options) *Backend {
	t.Helper()
	opts.Migrate = true
	b, err := OpenBackend(context.Background(), pg.Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	var backends sync.Map // store.Store -> *Backend
	backendOf := func(t testing.TB, s store.Store) *Backend {
		b, ok := backends.Load(s)
		if !ok {
			t.Fatal("a store the suite did not open")
		}
		return b.(*Backend)
	}
	storetest.Run(t, storetest.Backend{
		Name: "postgres",
		Open: func(t testing.TB, o storetest.Options) store.Store {
			b := openBackend(t, Options{KeepRevisions: o.KeepRevisions, SnapshotGrace: 1})
			so := store.Options{IndexBound: o.IndexBound, IndexRecompute: o.IndexRecompute, MemIndex: o.MemIndex, MemIndexLimit: o.MemIndexLimit}
			if o.SmallImports {
				so.ImportChunk = 100
			}
			s := store.New(b, so)
			backends.Store(s, b)
			return s
		},
		// Two runs: the first publishes a horizon, the second sweeps
		// below it once the (tiny) grace has passed.
		Compact: func(t testing.TB, s store.Store) {
			b := backendOf(t, s)
			for range 2 {
				if _, err := b.CollectGarbage(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
}
