// Command docket-bench loads a dataset into a store and runs a mixed
// workload of checks and lookups on all cores for a fixed time, then prints
// throughput and latency percentiles per query kind, and the machine.
//
//	docket-bench -size 1m -duration 30s              # generate casebook 1m into Badger
//	docket-bench -backend memory -shape chain
//	docket-bench -schema x.rebac -tuples x.tuples -checks x.checks
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

type config struct {
	backend, dir                   string
	shape, size                    string
	seed                           uint64
	schemaFile, tuplesFile, checks string
	duration                       time.Duration
	workers                        int
	lookupShare                    int
	cacheSize                      int
	downward, ignoreIndex          bool
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "docket-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("docket-bench", flag.ContinueOnError)
	fs.StringVar(&c.backend, "backend", "badger", "store backend: badger or memory")
	fs.StringVar(&c.dir, "dir", "", "Badger directory (default: a temporary directory removed at the end)")
	fs.StringVar(&c.shape, "shape", gen.ShapeCasebook, "dataset to generate: "+strings.Join(gen.Shapes(), ", "))
	fs.StringVar(&c.size, "size", "100k", "casebook size in tuples (100k, 1m, 10m)")
	fs.Uint64Var(&c.seed, "seed", 1, "generator seed")
	fs.StringVar(&c.schemaFile, "schema", "", "schema file of a dataset on disk (with -tuples and -checks instead of generating)")
	fs.StringVar(&c.tuplesFile, "tuples", "", "tuple file to import")
	fs.StringVar(&c.checks, "checks", "", "check list (docket-gen format)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run the workload")
	fs.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "concurrent workers")
	fs.IntVar(&c.lookupShare, "lookup-percent", 2, "percent of operations that are lookups (half resources, half subjects)")
	fs.IntVar(&c.cacheSize, "cache", 0, "checker cache entries: 0 = default, -1 = off")
	fs.BoolVar(&c.downward, "downward", false, "walk nested groups down from the group instead of up from the subject (to compare)")
	fs.BoolVar(&c.ignoreIndex, "no-index", false, "read the subject's nested groups level by level, not from the store's membership index (to compare)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all options are flags", fs.Arg(0))
	}
	if c.backend != "badger" && c.backend != "memory" {
		return fmt.Errorf("-backend %q: use badger or memory", c.backend)
	}
	if (c.schemaFile != "" || c.tuplesFile != "" || c.checks != "") && (c.schemaFile == "" || c.tuplesFile == "" || c.checks == "") {
		return fmt.Errorf("-schema, -tuples and -checks go together: give all three, or none to generate")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	st, cleanup, err := openStore(c)
	if err != nil {
		return err
	}
	defer cleanup()
	ds, err := loadDataset(ctx, c, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "dataset  %s: %d tuples loaded into %s in %s (%.0f tuples/s)\n", ds.name, ds.tuples, c.backend,
		ds.load.Round(time.Millisecond), float64(ds.tuples)/ds.load.Seconds())
	// A serving process builds the membership index in memory in the
	// background; the workload is timed once it is built.
	mem, err := store.WaitMemIndex(ctx, st)
	if err != nil {
		return fmt.Errorf("membership index in memory: %w", err)
	}
	if mem.Ready {
		fmt.Fprintf(out, "index    membership index in memory: %d tuples of %d relations\n", mem.Tuples, len(mem.Relations))
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer snap.Close()
	chk := check.New(check.Options{CacheSize: c.cacheSize, DownwardOnly: c.downward, IgnoreIndex: c.ignoreIndex})
	if err := verify(ctx, chk, snap, ds.queries); err != nil {
		return err
	}
	res, err := workload(ctx, c, chk, snap, ds.queries)
	if err != nil {
		return err
	}
	printReport(out, c, res)
	return nil
}

func openStore(c config) (store.Store, func(), error) {
	if c.backend == "memory" {
		st, err := memory.New()
		if err != nil {
			return nil, nil, fmt.Errorf("open memory store: %w", err)
		}
		return st, func() { st.Close() }, nil
	}
	dir, remove := c.dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "docket-bench-")
		if err != nil {
			return nil, nil, fmt.Errorf("temporary directory: %w", err)
		}
		dir, remove = d, true
	}
	st, err := badger.Open(dir, badger.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("open Badger store in %s: %w", dir, err)
	}
	return st, func() {
		st.Close()
		if remove {
			os.RemoveAll(dir)
		}
	}, nil
}

type dataset struct {
	name    string
	tuples  int
	load    time.Duration
	queries []gen.Query
}

// loadDataset imports the dataset: from files when given, otherwise
// generated and streamed through a pipe into Import.
func loadDataset(ctx context.Context, c config, st store.Store) (*dataset, error) {
	if c.schemaFile != "" {
		return loadFiles(ctx, c, st)
	}
	n, err := gen.ParseSize(c.size)
	if err != nil {
		return nil, fmt.Errorf("-size: %w", err)
	}
	spec := gen.Spec{Shape: c.shape, Size: n, Seed: c.seed}
	text, err := gen.Schema(spec.Shape)
	if err != nil {
		return nil, fmt.Errorf("-shape: %w", err)
	}
	if _, err := st.WriteSchema(ctx, spec.Shape+".rebac", []byte(text)); err != nil {
		return nil, fmt.Errorf("write schema: %w", err)
	}
	pr, pw := io.Pipe()
	var checks strings.Builder
	done := make(chan error, 1)
	go func() {
		_, err := gen.Generate(ctx, spec, pw, &checks)
		pw.CloseWithError(err)
		done <- err
	}()
	start := time.Now()
	res, err := st.Import(ctx, pr, store.ImportOptions{Format: tuples.FormatText, Name: spec.Name()})
	took := time.Since(start)
	pr.CloseWithError(io.ErrClosedPipe)
	if gerr := <-done; gerr != nil && err == nil {
		err = gerr
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", spec.Name(), err)
	}
	qs, err := gen.ReadQueries(strings.NewReader(checks.String()), spec.Name()+".checks")
	if err != nil {
		return nil, err
	}
	return &dataset{name: spec.Name(), tuples: res.Tuples, load: took, queries: qs}, nil
}

func loadFiles(ctx context.Context, c config, st store.Store) (*dataset, error) {
	text, err := os.ReadFile(c.schemaFile)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	if _, err := st.WriteSchema(ctx, c.schemaFile, text); err != nil {
		return nil, fmt.Errorf("write schema: %w", err)
	}
	f, err := os.Open(c.tuplesFile)
	if err != nil {
		return nil, fmt.Errorf("open tuples: %w", err)
	}
	defer f.Close()
	start := time.Now()
	res, err := st.Import(ctx, f, store.ImportOptions{Format: tuples.FormatText, Name: c.tuplesFile})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	took := time.Since(start)
	cf, err := os.Open(c.checks)
	if err != nil {
		return nil, fmt.Errorf("open check list: %w", err)
	}
	defer cf.Close()
	qs, err := gen.ReadQueries(cf, c.checks)
	if err != nil {
		return nil, err
	}
	return &dataset{name: c.tuplesFile, tuples: res.Tuples, load: took, queries: qs}, nil
}
