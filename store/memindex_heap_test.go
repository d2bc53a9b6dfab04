package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// nestingSchema is a schema whose tuples are all of one nesting relation,
// for the cost of the index in memory per tuple it holds.
const nestingSchema = `type user {}
type team {
  relation member: user | team#member
}
`

// nestingTuples writes n tuples of team#member: nine in ten put a user in
// a team (n/2 users, each in about two of n/100 teams), one in ten a team
// in a team of a lower number, so that the teams nest without cycles.
func nestingTuples(w io.Writer, n int) {
	teams := max(n/100, 2)
	users := max(n/2, 1)
	x := uint64(1)
	next := func(m int) int { // xorshift: the same tuples at every run
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(m))
	}
	for i := range n {
		if i%10 == 9 {
			child := 1 + next(teams-1)
			fmt.Fprintf(w, "team:t%d#member@team:t%d#member\n", next(child), child)
			continue
		}
		fmt.Fprintf(w, "team:t%d#member@user:u%d\n", next(teams), next(users))
	}
}

// heapAfterGC is the live heap once collected.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemIndexHeap measures the membership index in memory of a
// loaded in-memory store: each op builds it anew over the same backend
// (store.WaitMemIndex), and it reports the tuples held (tuples-held), the
// live heap the index adds (index-bytes, index-B/tuple) and the process's
// live heap with it (heap-bytes). DOCKET_BENCH_SIZE sets the tuples of the
// datasets (default 1m): the casebook agency and a store of nothing but
// one nesting relation. One op is enough (-benchtime 1x); it is a figure
// for the docs, not a test of the suite:
//
//	DOCKET_BENCH_SIZE=1m go test -run '^$' -bench MemIndexHeap -benchtime 1x ./store/
func BenchmarkMemIndexHeap(b *testing.B) {
	size := 1_000_000
	if s := os.Getenv("DOCKET_BENCH_SIZE"); s != "" {
		n, err := gen.ParseSize(s)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	casebook, err := gen.Schema(gen.ShapeCasebook)
	if err != nil {
		b.Fatal(err)
	}
	for _, ds := range []struct {
		name, schema string
		tuples       func(w io.Writer) error
	}{
		{gen.ShapeCasebook, casebook, func(w io.Writer) error {
			_, err := gen.Generate(context.Background(), gen.Spec{Shape: gen.ShapeCasebook, Size: size, Seed: 1}, w, io.Discard)
			return err
		}},
		{"nesting", nestingSchema, func(w io.Writer) error { nestingTuples(w, size); return nil }},
	} {
		b.Run(fmt.Sprintf("%s-%s", ds.name, gen.FormatSize(size)), func(b *testing.B) {
			ctx := context.Background()
			be, err := memory.NewBackend(memory.Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Loaded through a store that keeps no index in memory, so
			// that the heap before a build holds none.
			loader := store.New(be, store.Options{})
			defer loader.Close()
			if _, err := loader.WriteSchema(ctx, "schema.rebac", []byte(ds.schema)); err != nil {
				b.Fatal(err)
			}
			var text bytes.Buffer
			if err := ds.tuples(&text); err != nil {
				b.Fatal(err)
			}
			if _, err := loader.Import(ctx, &text, store.ImportOptions{Format: tuples.FormatText, Name: ds.name}); err != nil {
				b.Fatal(err)
			}
			text = bytes.Buffer{}
			var held, added, heap uint64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				before := heapAfterGC()
				b.StartTimer()
				// Closing it would close the backend the next op builds
				// over; it is dropped instead, its build done.
				st := store.New(be, store.Options{MemIndex: store.MemIndexBackground})
				status, err := store.WaitMemIndex(ctx, st)
				b.StopTimer()
				if err != nil || !status.Ready {
					b.Fatalf("index in memory not built: %+v, %v", status, err)
				}
				heap = heapAfterGC()
				held, added = uint64(status.Tuples), heap-min(heap, before)
				runtime.KeepAlive(st)
				b.StartTimer()
			}
			b.ReportMetric(float64(held), "tuples-held")
			b.ReportMetric(float64(added), "index-bytes")
			if held > 0 {
				b.ReportMetric(float64(added)/float64(held), "index-B/tuple")
			}
			b.ReportMetric(float64(heap), "heap-bytes")
		})
	}
}
