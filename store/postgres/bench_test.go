package postgres

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
)

// BenchmarkImport imports DOCKET_BENCH_TUPLES tuples (default 100000)
// into an empty datastore per iteration and reports tuples/s:
//
//	DOCKET_BENCH_TUPLES=1000000 go test -run '^$' -bench Import -benchtime 1x ./store/postgres/
func BenchmarkImport(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("DOCKET_BENCH_TUPLES")); err == nil && v > 0 {
		n = v
	}
	input := storetest.FixtureInput(n)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		be := openBackend(b, Options{})
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
}
