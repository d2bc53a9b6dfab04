package memory

import (
	"runtime"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "memory",
		Open: func(t testing.TB, o storetest.Options) store.Store {
			b, err := NewBackend(Options{KeepRevisions: o.KeepRevisions})
			if err != nil {
				t.Fatal(err)
			}
			so := store.Options{IndexBound: o.IndexBound, IndexRecompute: o.IndexRecompute, MemIndex: o.MemIndex, MemIndexLimit: o.MemIndexLimit}
			if o.SmallImports {
				so.ImportChunk = 100
			}
			return store.New(b, so)
		},
		// A version lives as long as a reader refers to it; collecting
		// garbage is all the reclaiming there is.
		Compact: func(testing.TB, store.Store) { runtime.GC() },
	})
}
