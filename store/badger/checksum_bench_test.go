package badger

import (
	"bytes"
	"context"
	"fmt"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
	"os"
	"testing"
	"time"
)

// BenchmarkChecksums measures what checking checksums costs, with the
// checks off and on in turn within one run (the machine is shared, so
// only side-by-side figures mean anything): opening a store of N tuples
// (every table checked), a check's point read with a block cache too
// small to hit (every block read from the file, decompressed and
// checked), and an import of N tuples into an empty store. Each reports
// ns/off, ns/on and on/off.
//
//	go test ./tuples -run XXX -bench Checksums -count 3
func BenchmarkChecksums(b *testing.B) {
	ctx := context.Background()
	n := benchN(b)
	input := benchInput(n, 0)
	dir := b.TempDir()
	{
		s, err := openTestStore(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Import(ctx, bytes.NewReader(input), store.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	sides := func(b *testing.B, round int, each func(b *testing.B, off bool) func(i int), unit string) {
		var took [2]time.Duration
		for r := 0; b.Loop(); r++ {
			for side, off := range []bool{true, false} {
				f := each(b, off)
				start := time.Now()
				for i := range round {
					f(r*round + i)
				}
				took[side] += time.Since(start)
			}
		}
		calls := float64(b.N * round)
		b.ReportMetric(float64(took[0].Nanoseconds())/calls, "ns/"+unit+"-off")
		b.ReportMetric(float64(took[1].Nanoseconds())/calls, "ns/"+unit+"-on")
		b.ReportMetric(float64(took[1])/float64(took[0]), "on/off")
	}
	b.Run("Open", func(b *testing.B) {
		var took [2]time.Duration
		for b.Loop() {
			for side, off := range []bool{true, false} {
				start := time.Now()
				s, err := openTestStore(dir, Options{BlockCacheMB: 64, noChecksums: off})
				if err != nil {
					b.Fatal(err)
				}
				took[side] += time.Since(start)
				s.Close()
			}
		}
		b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "ns/open-off")
		b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "ns/open-on")
		b.ReportMetric(float64(took[1])/float64(took[0]), "on/off")
	})
	b.Run("UncachedHas", func(b *testing.B) {
		var snaps [2]tuples.Snapshot
		// Two copies: a directory is opened by one store at a time.
		dirs := [2]string{dir, b.TempDir()}
		if err := os.CopyFS(dirs[1], os.DirFS(dir)); err != nil {
			b.Fatal(err)
		}
		for side, off := range []bool{true, false} {
			s, err := openTestStore(dirs[side], Options{noChecksums: off, tinyBlockCache: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if snaps[side], err = s.Snapshot(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
		sides(b, 1000, func(b *testing.B, off bool) func(int) {
			sn := snaps[1]
			if off {
				sn = snaps[0]
			}
			return func(i int) {
				// Spread over the whole key space, so that reads land in
				// different blocks.
				k := (i * 7919) % n
				rel := "viewer"
				if k%5 == 4 {
					rel = "owner"
				}
				ok, err := sn.Has(ctx, tuples.Object{Type: "doc", ID: fmt.Sprintf("s0_%d", k)}, rel, tuples.Subject{Type: "user", ID: fmt.Sprintf("u%d", k%10000)})
				if err != nil || !ok {
					b.Fatalf("has %d: %v %v", k, ok, err)
				}
			}
		}, "has")
	})
	b.Run("Import", func(b *testing.B) {
		sides(b, 1, func(b *testing.B, off bool) func(int) {
			b.StopTimer()
			s, err := openTestStore(b.TempDir(), Options{noChecksums: off})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			b.StartTimer()
			return func(int) {
				if _, err := s.Import(ctx, bytes.NewReader(input), store.ImportOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		}, "import")
	})
}
