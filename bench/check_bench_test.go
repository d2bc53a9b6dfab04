package bench

import (
	"context"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
)

// BenchmarkCheck times single checks per path (the check list's labels) on
// every dataset and backend, with the cross-query cache off (every query
// walks the graph) and on (the default).
func BenchmarkCheck(b *testing.B) {
	specs := append(agencySpecs(b), stressSpecs()...)
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			for _, spec := range specs {
				b.Run(spec.Name(), func(b *testing.B) {
					d := load(b, be, spec)
					d.verify(b, check.New(check.Options{CacheSize: -1}))
					for _, label := range d.labels() {
						qs := d.checks(label)
						for _, cache := range []struct {
							name string
							size int
						}{{"nocache", -1}, {"cache", 0}} {
							b.Run(label+"/"+cache.name, func(b *testing.B) {
								c := check.New(check.Options{CacheSize: cache.size})
								ctx := context.Background()
								latency(b, func(i int) error {
									_, err := c.Check(ctx, d.snap, qs[i%len(qs)])
									return err
								})
							})
						}
					}
				})
			}
		})
	}
}

// BenchmarkCheckBatch times batches of 100 casebook checks of all labels;
// ns/op is per batch, check-ns per query in it.
func BenchmarkCheckBatch(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			d := load(b, be, spec)
			qs := d.checks("")
			const batch = 100
			c := check.New(check.Options{CacheSize: -1})
			ctx := context.Background()
			latency(b, func(i int) error {
				start := (i * batch) % (len(qs) - batch)
				_, err := c.CheckBatch(ctx, d.snap, qs[start:start+batch])
				return err
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "check-ns")
		})
	}
}
