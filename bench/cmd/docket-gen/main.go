// Command docket-gen writes benchmark datasets: for each requested shape, a
// schema (NAME.rebac), a tuple file in the import format (NAME.tuples) and a
// check list with known answers (NAME.checks).
//
//	docket-gen -out data -shape casebook -size 1m -seed 1
//	docket-gen -out data -shape all
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/docketdb/docket/bench/gen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "docket-gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("docket-gen", flag.ContinueOnError)
	out := fs.String("out", "data", "directory to write the dataset files into")
	shape := fs.String("shape", gen.ShapeCasebook, "dataset shape: "+strings.Join(gen.Shapes(), ", ")+", or all")
	size := fs.String("size", "100k", "casebook size in tuples (100k, 1m, 10m, ...); comma-separated for several")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all options are flags", fs.Arg(0))
	}
	var sizes []int
	for _, s := range strings.Split(*size, ",") {
		n, err := gen.ParseSize(s)
		if err != nil {
			return fmt.Errorf("-size: %w", err)
		}
		sizes = append(sizes, n)
	}
	shapes := []string{*shape}
	if *shape == "all" {
		shapes = gen.Shapes()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, sh := range shapes {
		if _, err := gen.Schema(sh); err != nil {
			return fmt.Errorf("-shape: %w", err)
		}
		ss := sizes
		if !gen.Scales(sh) {
			ss = sizes[:1] // the stress shapes have one fixed size
		}
		for _, n := range ss {
			spec := gen.Spec{Shape: sh, Size: n, Seed: *seed}
			start := time.Now()
			files, st, err := gen.WriteFiles(ctx, *out, spec)
			if err != nil {
				return err
			}
			fmt.Printf("%s: %d tuples, %d queries in %s\n  %s\n  %s\n  %s\n", spec.Name(), st.Tuples, st.Queries,
				time.Since(start).Round(time.Millisecond), files.Schema, files.Tuples, files.Checks)
		}
	}
	return nil
}
