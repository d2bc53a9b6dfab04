package tuples

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// benchN is the store size of the benchmarks: DOCKET_BENCH_N, default
// 100000 (use 1000000 for the published figures).
func benchN(b *testing.B) int {
	if v := os.Getenv("DOCKET_BENCH_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 100000
}

// benchInput renders n tuples: docs with viewers and owners, spread over
// 10000 users.
func benchInput(n, seed int) []byte {
	var buf bytes.Buffer
	buf.Grow(n * 48)
	for i := range n {
		if i%5 == 4 {
			fmt.Fprintf(&buf, "doc:s%d_%d#owner@user:u%d\n", seed, i, i%10000)
		} else {
			fmt.Fprintf(&buf, "doc:s%d_%d#viewer@user:u%d\n", seed, i, i%10000)
		}
	}
	return buf.Bytes()
}

func openBench(b *testing.B) Store {
	s, err := OpenBadger(b.TempDir(), BadgerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.WriteSchema(context.Background(), "bench.rebac", []byte(testSchema)); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchImport(b *testing.B, full bool) {
	n := benchN(b)
	input := benchInput(n, 1)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b)
		if full {
			if _, err := s.Import(ctx, bytes.NewReader(benchInput(n, 0)), ImportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := s.Import(ctx, bytes.NewReader(input), ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
}

// BenchmarkImportEmpty imports N tuples into an empty store.
func BenchmarkImportEmpty(b *testing.B) { benchImport(b, false) }

// BenchmarkImportFull imports N new tuples into a store holding N.
func BenchmarkImportFull(b *testing.B) { benchImport(b, true) }
