package badger

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkOpenAfterManyWrites compares the open time of a store built by
// DOCKET_BENCH_WRITES processes' worth of open, write one tuple, close
// (as that many `docket tuple write` runs leave it) with that of a store
// holding the same tuples written at once. Each iteration opens both, in
// alternating order, and the benchmark reports the median and the
// minimum of each and their ratios. Building the store by 10,000 writes
// takes several minutes: DOCKET_BENCH_WRITES_DIR keeps both stores there
// for later runs (a store already there is reused as it is).
//
//	DOCKET_BENCH_WRITES=10000 go test ./store/badger -run '^$' \
//	    -bench BenchmarkOpenAfterManyWrites -benchtime 40x
func BenchmarkOpenAfterManyWrites(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("DOCKET_BENCH_WRITES"))
	if n <= 0 {
		b.Skip("set DOCKET_BENCH_WRITES (such as 10000) to build a store by that many single-tuple writes")
	}
	root := os.Getenv("DOCKET_BENCH_WRITES_DIR")
	if root == "" {
		root = b.TempDir()
	}
	// The options of a command-line run (cmd/docket).
	opts := Options{BlockCacheMB: 64}
	ctx := context.Background()
	line := func(i int) string { return fmt.Sprintf("doc:%d#viewer@user:u%d", i, i%1000) }
	written := filepath.Join(root, fmt.Sprintf("written-%d", n))
	fresh := filepath.Join(root, fmt.Sprintf("fresh-%d", n))

	if _, err := os.Stat(filepath.Join(written, "MANIFEST")); err != nil {
		start := time.Now()
		s := openWith(b, written, opts)
		if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
			b.Fatal(err)
		}
		closeStore(b, s)
		for i := range n {
			s := openWith(b, written, opts)
			t, err := tuples.Parse(line(i))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: t}}}); err != nil {
				b.Fatal(err)
			}
			closeStore(b, s)
		}
		b.Logf("built %s by %d writes in %v", written, n, time.Since(start).Round(time.Second))
	}
	if _, err := os.Stat(filepath.Join(fresh, "MANIFEST")); err != nil {
		s := openWith(b, fresh, opts)
		if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
			b.Fatal(err)
		}
		var in bytes.Buffer
		for i := range n {
			in.WriteString(line(i) + "\n")
		}
		if _, err := s.Import(ctx, &in, store.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		closeStore(b, s)
	}
	for _, d := range []string{written, fresh} {
		ssts, _ := filepath.Glob(filepath.Join(d, "*.sst"))
		entries, _ := os.ReadDir(d)
		fi, _ := os.Stat(filepath.Join(d, "MANIFEST"))
		b.Logf("%s: %d files, %d tables, MANIFEST %d bytes", filepath.Base(d), len(entries), len(ssts), fi.Size())
	}

	open := func(dir string) time.Duration {
		start := time.Now()
		s := openWith(b, dir, opts)
		took := time.Since(start)
		closeStore(b, s)
		return took
	}
	var tw, tf []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			tw = append(tw, open(written))
			tf = append(tf, open(fresh))
		} else {
			tf = append(tf, open(fresh))
			tw = append(tw, open(written))
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	medW, medF := ms(median(tw)), ms(median(tf))
	minW, minF := ms(slices.Min(tw)), ms(slices.Min(tf))
	b.ReportMetric(medW, "written-median-ms")
	b.ReportMetric(minW, "written-min-ms")
	b.ReportMetric(medF, "fresh-median-ms")
	b.ReportMetric(minF, "fresh-min-ms")
	b.ReportMetric(medW/medF, "median-ratio")
	b.ReportMetric(minW/minF, "min-ratio")
}

func openWith(b *testing.B, dir string, opts Options) *testStore {
	b.Helper()
	s, err := openTestStore(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func closeStore(b *testing.B, s *testStore) {
	b.Helper()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
