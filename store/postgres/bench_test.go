package postgres

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkImport imports DOCKET_BENCH_TUPLES tuples (default 100000)
// into an empty datastore per iteration and reports tuples/s. "swap"
// builds the tuples in a table of their own whose indexes are built at
// the commit (what PostgreSQL gets); "inplace" COPYs them into the
// indexed docket_tuples (what other databases get, and PostgreSQL when
// the swap is refused). Alternate runs to compare:
//
//	DOCKET_BENCH_TUPLES=1000000 go test -run '^$' -bench Import -benchtime 1x -count 3 ./store/postgres/
func BenchmarkImport(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("DOCKET_BENCH_TUPLES")); err == nil && v > 0 {
		n = v
	}
	input := storetest.FixtureInput(n)
	ctx := context.Background()
	for _, mode := range []string{"swap", "inplace"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				be := openBackend(b, Options{})
				be.noSwap = mode == "inplace"
				s := store.New(be, store.Options{})
				if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if res.Tuples != n {
					b.Fatalf("imported %d tuples, want %d", res.Tuples, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
		})
	}
}

// BenchmarkNotify measures what LISTEN/NOTIFY costs a write and what it
// buys a watcher in another process. Each iteration writes one tuple
// through one backend (ns/op is the write alone); "notify" then waits,
// off the clock, until a second backend on the same database is woken
// and reports the delay after the write returned (wake-µs); "nonotify"
// writes with notifications off. Alternate runs to compare:
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench Notify -benchtime 2000x ./store/postgres/; done
func BenchmarkNotify(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []string{"notify", "nonotify"} {
		b.Run(mode, func(b *testing.B) {
			url := pg.Database(b)
			open := func(o Options) (*Backend, store.Store) {
				o.Migrate = true
				be, err := OpenBackend(ctx, url, o)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { be.Close() })
				return be, store.New(be, store.Options{})
			}
			_, writer := open(Options{NoNotify: mode == "nonotify"})
			if _, err := writer.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
				b.Fatal(err)
			}
			watcher, _ := open(Options{})
			if mode == "notify" {
				<-watcher.ChangeSignal() // the listener's start
			}
			var woken time.Duration
			b.ResetTimer()
			for i := range b.N {
				signal := watcher.ChangeSignal()
				tup := storetest.MustParse(b, "doc:d"+strconv.Itoa(i)+"#owner@user:u")
				if _, err := writer.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: tup}}}); err != nil {
					b.Fatal(err)
				}
				if mode == "notify" {
					b.StopTimer()
					wrote := time.Now()
					select {
					case <-signal:
					case <-time.After(10 * time.Second):
						b.Fatal("watcher not woken within 10s")
					}
					woken += time.Since(wrote)
					b.StartTimer()
				}
			}
			if mode == "notify" {
				b.ReportMetric(float64(woken.Microseconds())/float64(b.N), "wake-µs")
			}
		})
	}
}
