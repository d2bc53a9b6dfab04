package badger

import (
	"bytes"
	"context"
	"fmt"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
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

func openBench(b *testing.B) *testStore {
	s, err := openTestStore(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.WriteSchema(context.Background(), "bench.rebac", []byte(storetest.Schema)); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchImport(b *testing.B, full bool) {
	n := benchN(b)
	input := benchInput(n, 1)
	ctx := context.Background()
	var cpu time.Duration
	var peak uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b)
		if full {
			if _, err := s.Import(ctx, bytes.NewReader(benchInput(n, 0)), store.ImportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		stop := sampleHeap(&peak)
		b.StartTimer()
		before := cpuTime(b)
		if _, err := s.Import(ctx, bytes.NewReader(input), store.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - before
		b.StopTimer()
		stop()
		s.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
	// On a shared machine wall time depends on the neighbours; CPU time
	// (user+system of the whole process) shows the import's own cost.
	b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "tuples/cpu-s")
	// The most heap the import used, the input (about 40 bytes a tuple)
	// and, for Full, the store's first import included.
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// sampleHeap records the heap's high-water mark in peak until stop is
// called: the bytes of heap objects, live or not yet collected, which is
// what the process holds.
func sampleHeap(peak *uint64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		*peak = max(*peak, sample[0].Value.Uint64())
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		read()
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRead compares the store's hot reads with raw Badger calls on
// the same database: Has against one Get of a prebuilt key, and a reverse
// lookup of 1000 objects against a key-only prefix scan.
func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	n := benchN(b)
	s := openBench(b)
	defer s.Close()
	if _, err := s.Import(ctx, bytes.NewReader(benchInput(n, 0)), store.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	var hot tuples.Batch
	for i := range 1000 {
		hot.Ops = append(hot.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tuples.Tuple{ObjectType: "doc", ObjectID: "hot" + strconv.Itoa(i), Relation: "viewer", SubjectType: "user", SubjectID: "hot"}})
	}
	if _, err := s.Write(ctx, hot); err != nil {
		b.Fatal(err)
	}
	sn, err := s.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer sn.Close()
	db := s.e.db
	txn := db.NewTransactionAt(uint64(sn.Revision()), false)
	probes := make([]tuples.Tuple, 4096)
	keys := make([][]byte, len(probes))
	for i := range probes {
		j := (i * 7919) % n
		rel := "viewer"
		if j%5 == 4 {
			rel = "owner"
		}
		probes[i] = tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprintf("s0_%d", j), Relation: rel, SubjectType: "user", SubjectID: "u" + strconv.Itoa(j%10000)}
		keys[i] = kv.ForwardKey(nil, &probes[i])
	}
	// Warm the block cache, so that neither side pays for first reads.
	for range 2 {
		for _, k := range keys {
			if _, err := txn.Get(k); err != nil {
				b.Fatal(err)
			}
		}
		for range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "hot"}, "doc", "viewer") {
		}
	}
	has := func(i int) {
		p := &probes[i%len(probes)]
		ok, err := sn.Has(ctx, tuples.Object{Type: p.ObjectType, ID: p.ObjectID}, p.Relation, tuples.Subject{Type: p.SubjectType, ID: p.SubjectID})
		if err != nil || !ok {
			b.Fatalf("Has(%s) = %v, %v", p, ok, err)
		}
	}
	rawGet := func(i int) {
		if _, err := txn.Get(keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
	}
	reverse := func(int) {
		c := 0
		for _, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "hot"}, "doc", "viewer") {
			if err != nil {
				b.Fatal(err)
			}
			c++
		}
		if c != 1000 {
			b.Fatalf("%d objects", c)
		}
	}
	prefix := kv.PrefixKey(kv.TagReverse, "user", "hot", "", "doc", "viewer")
	rawScan := func(int) {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: prefix})
		c := 0
		for it.Seek(prefix); it.Valid(); it.Next() {
			_ = it.Item().Key()
			c++
		}
		it.Close()
		if c != 1000 {
			b.Fatalf("%d keys", c)
		}
	}
	b.Run("Has", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			has(i)
		}
	})
	b.Run("RawGet", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			rawGet(i)
		}
	})
	b.Run("Reverse1000", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			reverse(i)
		}
	})
	b.Run("RawScan1000", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			rawScan(i)
		}
	})
	benchSubjects(b, sn, n)
	// On a busy machine, or while Badger compacts after the load, runs
	// minutes apart are not comparable; these alternate short rounds of
	// both sides and report the ratio.
	b.Run("HasOverGet", func(b *testing.B) { alternate(b, has, rawGet, 2000) })
	b.Run("ReverseOverScan", func(b *testing.B) { alternate(b, reverse, rawScan, 20) })
	// An uncached check of a stored relation, which one key answers,
	// against the raw Get of that key: what the checker adds to a read.
	c := check.New(check.Options{CacheSize: -1})
	checkStored := func(i int) {
		p := &probes[i%len(probes)]
		r, err := c.Check(ctx, sn, check.Query{Object: tuples.Object{Type: p.ObjectType, ID: p.ObjectID}, Relation: p.Relation,
			Subject: tuples.Subject{Type: p.SubjectType, ID: p.SubjectID}})
		if err != nil || !r.Allowed {
			b.Fatalf("check %s = %v, %v", p, r.Allowed, err)
		}
	}
	b.Run("CheckOverGet", func(b *testing.B) { alternate(b, checkStored, rawGet, 2000) })
}

// alternate times rounds of ours and of raw in turn, b.N rounds each,
// and reports both per-call times and their ratio.
func alternate(b *testing.B, ours, raw func(int), round int) {
	var tOurs, tRaw time.Duration
	for r := 0; b.Loop(); r++ {
		start := time.Now()
		for i := range round {
			ours(r*round + i)
		}
		mid := time.Now()
		for i := range round {
			raw(r*round + i)
		}
		tOurs += mid.Sub(start)
		tRaw += time.Since(mid)
	}
	calls := float64(b.N * round)
	b.ReportMetric(float64(tOurs.Nanoseconds())/calls, "ns/ours")
	b.ReportMetric(float64(tRaw.Nanoseconds())/calls, "ns/raw")
	b.ReportMetric(float64(tOurs)/float64(tRaw), "ratio")
}

// BenchmarkImportEmpty imports N tuples into an empty store.
func BenchmarkImportEmpty(b *testing.B) { benchImport(b, false) }

// BenchmarkImportFull imports N new tuples into a store holding N.
func BenchmarkImportFull(b *testing.B) { benchImport(b, true) }

// BenchmarkMemoryRead measures the in-memory store's hot reads.
func BenchmarkMemoryRead(b *testing.B) {
	ctx := context.Background()
	n := min(benchN(b), 200000)
	s, err := memory.New()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(storetest.Schema)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Import(ctx, bytes.NewReader(benchInput(n, 0)), store.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	sn, err := s.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer sn.Close()
	b.Run("Has", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			j := (i * 7919) % n
			if j%5 == 4 {
				j--
			}
			ok, err := sn.Has(ctx, tuples.Object{Type: "doc", ID: "s0_" + strconv.Itoa(j)}, "viewer", tuples.Subject{Type: "user", ID: "u" + strconv.Itoa(j%10000)})
			if err != nil || !ok {
				b.Fatalf("Has = %v, %v", ok, err)
			}
		}
	})
	b.Run("Reverse", func(b *testing.B) {
		for b.Loop() {
			for _, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "u1"}, "doc", "viewer") {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	benchSubjects(b, sn, n)
}

// benchSubjects measures the short scans a check makes: the one subject
// of a doc's relation, and a scan that finds none (a check looking for
// subject sets where only users are stored, as negative checks do).
func benchSubjects(b *testing.B, sn tuples.Snapshot, n int) {
	ctx := context.Background()
	scan := func(b *testing.B, i int, f tuples.SubjectFilter, want int) {
		j := (i * 7919) % n
		rel := "viewer"
		if j%5 == 4 {
			rel = "owner"
		}
		c := 0
		for _, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: "s0_" + strconv.Itoa(j)}, rel, f) {
			if err != nil {
				b.Fatal(err)
			}
			c++
		}
		if c != want {
			b.Fatalf("%d subjects, want %d", c, want)
		}
	}
	b.Run("Subjects1", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			scan(b, i, tuples.SubjectFilter{Plain: true}, 1)
		}
	})
	b.Run("SubjectsNone", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			scan(b, i, tuples.SubjectFilter{Sets: true, Type: "team", Relation: "member"}, 0)
		}
	})
}
