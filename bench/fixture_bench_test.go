package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// benchSize is the casebook size from DOCKET_BENCH_SIZE, 100k by default so
// that a run takes minutes.
func benchSize(tb testing.TB) int {
	s := os.Getenv("DOCKET_BENCH_SIZE")
	if s == "" {
		return 100_000
	}
	n, err := gen.ParseSize(s)
	if err != nil {
		tb.Fatalf("DOCKET_BENCH_SIZE: %v", err)
	}
	return n
}

// backend opens an empty store in dir.
type backend struct {
	name string
	open func(dir string) (store.Store, error)
}

func backends() []backend {
	return []backend{
		{"memory", func(string) (store.Store, error) { return memory.New() }},
		{"badger", func(dir string) (store.Store, error) { return badger.Open(dir, badger.Options{}) }},
	}
}

// dataset is a generated dataset loaded into a store.
type dataset struct {
	spec    gen.Spec
	store   store.Store
	snap    tuples.Snapshot
	queries []gen.Query
	tuples  int
	load    time.Duration
}

// load generates spec straight into a fresh store: the generator writes into
// a pipe that Import reads, so no tuple file is needed.
func load(b *testing.B, be backend, spec gen.Spec) *dataset {
	b.Helper()
	ctx := context.Background()
	st, err := be.open(b.TempDir())
	if err != nil {
		b.Fatalf("open %s store: %v", be.name, err)
	}
	b.Cleanup(func() { st.Close() })
	d, err := loadInto(ctx, st, spec)
	if err != nil {
		b.Fatalf("load %s into %s: %v", spec.Name(), be.name, err)
	}
	b.Cleanup(func() { d.snap.Close() })
	return d
}

func loadInto(ctx context.Context, st store.Store, spec gen.Spec) (*dataset, error) {
	text, err := gen.Schema(spec.Shape)
	if err != nil {
		return nil, err
	}
	if _, err := st.WriteSchema(ctx, spec.Shape+".rebac", []byte(text)); err != nil {
		return nil, fmt.Errorf("write schema: %w", err)
	}
	pr, pw := io.Pipe()
	var qs queryBuffer
	genErr := make(chan error, 1)
	go func() {
		_, err := gen.Generate(ctx, spec, pw, &qs)
		pw.CloseWithError(err)
		genErr <- err
	}()
	start := time.Now()
	res, err := st.Import(ctx, pr, store.ImportOptions{Format: tuples.FormatText, Name: spec.Name()})
	took := time.Since(start)
	pr.CloseWithError(io.ErrClosedPipe)
	if gerr := <-genErr; gerr != nil && err == nil {
		err = gerr
	}
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	// Checks are timed with the membership index in memory built, as a
	// serving process has it.
	if _, err := store.WaitMemIndex(ctx, st); err != nil {
		return nil, fmt.Errorf("membership index in memory: %w", err)
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}

	queries, err := gen.ReadQueries(&qs, spec.Name()+".checks")
	if err != nil {
		return nil, err
	}
	return &dataset{spec: spec, store: st, snap: snap, queries: queries, tuples: res.Tuples, load: took}, nil
}

// queryBuffer collects the check list while the generator streams tuples.
type queryBuffer struct{ buf []byte }

func (q *queryBuffer) Write(p []byte) (int, error) { q.buf = append(q.buf, p...); return len(p), nil }

func (q *queryBuffer) Read(p []byte) (int, error) {
	if len(q.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, q.buf)
	q.buf = q.buf[n:]
	return n, nil
}

// checks returns the check queries of a label (all labels when label is "").
func (d *dataset) checks(label string) []check.Query {
	var out []check.Query
	for _, q := range d.queries {
		if q.Kind == gen.KindCheck && (label == "" || q.Label == label) {
			out = append(out, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
		}
	}
	return out
}

// labels lists the check labels of the dataset in order of appearance.
func (d *dataset) labels() []string {
	var out []string
	for _, q := range d.queries {
		if q.Kind == gen.KindCheck && !slices.Contains(out, q.Label) {
			out = append(out, q.Label)
		}
	}
	return out
}

// verify runs every check of the list once and fails on a wrong answer:
// timing a checker that answers wrongly would be meaningless.
func (d *dataset) verify(b *testing.B, c *check.Checker) {
	b.Helper()
	ctx := context.Background()
	for _, q := range d.queries {
		if q.Kind != gen.KindCheck || !q.Expect.Known {
			continue
		}
		res, err := c.Check(ctx, d.snap, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
		if err != nil {
			b.Fatalf("%s: %s: %v", d.spec.Name(), q, err)
		}
		if res.Allowed != q.Expect.Allowed {
			b.Fatalf("%s: %s: checker says allowed=%v", d.spec.Name(), q, res.Allowed)
		}
	}
}

// latency runs op b.N times, timing each call, and reports the median and
// 99th percentile next to ns/op.
func latency(b *testing.B, op func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// stressSpecs are the fixed-size structure datasets.
func stressSpecs() []gen.Spec {
	return []gen.Spec{
		{Shape: gen.ShapeChain, Seed: 1},
		{Shape: gen.ShapeWide, Seed: 1},
		{Shape: gen.ShapeFolders, Seed: 1},
		{Shape: gen.ShapeGroups, Seed: 1},
	}
}

// agencySpecs are the two agency shapes at the size of DOCKET_BENCH_SIZE.
func agencySpecs(tb testing.TB) []gen.Spec {
	return []gen.Spec{
		{Shape: gen.ShapeCasebook, Size: benchSize(tb), Seed: 1},
		{Shape: gen.ShapeAnchors, Size: benchSize(tb), Seed: 1},
	}
}
