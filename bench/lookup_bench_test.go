package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkLookup times lookup resources, lookup subjects and expand with
// the queries of each dataset's check list; results-per-op says how much
// each call returned on average.
func BenchmarkLookup(b *testing.B) {
	specs := append(agencySpecs(b), stressSpecs()...)
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			for _, spec := range specs {
				b.Run(spec.Name(), func(b *testing.B) {
					d := load(b, be, spec)
					c := check.New(check.Options{CacheSize: -1})
					ctx := context.Background()
					var res, subs []gen.Query
					for _, q := range d.queries {
						switch q.Kind {
						case gen.KindResources:
							res = append(res, q)
						case gen.KindSubjects:
							subs = append(subs, q)
						}
					}
					if len(res) > 0 {
						b.Run("resources", func(b *testing.B) {
							found := 0
							latency(b, func(i int) error {
								q := res[i%len(res)]
								_, err := c.LookupResources(ctx, d.snap, check.ResourceQuery{Subject: q.Subject, Type: q.Type, Relation: q.Relation},
									func(tuples.Object) bool { found++; return true })
								return err
							})
							b.ReportMetric(float64(found)/float64(b.N), "results/op")
						})
						// A first page: what a paged lookup costs when the
						// subject holds the relation on many objects, for
						// pages of several sizes (the cost should grow with
						// the page, above the walk's first hops).
						for _, limit := range []int{10, 1, 50, 200, 1000, 5000} {
							b.Run(fmt.Sprintf("resources_limit%d", limit), func(b *testing.B) {
								found := 0
								latency(b, func(i int) error {
									q := res[i%len(res)]
									_, err := c.LookupResources(ctx, d.snap, check.ResourceQuery{Subject: q.Subject, Type: q.Type, Relation: q.Relation, Limit: limit},
										func(tuples.Object) bool { found++; return true })
									return err
								})
								b.ReportMetric(float64(found)/float64(b.N), "results/op")
							})
						}
					}
					if len(subs) > 0 {
						b.Run("subjects", func(b *testing.B) {
							found := 0
							latency(b, func(i int) error {
								q := subs[i%len(subs)]
								rs, err := c.LookupSubjects(ctx, d.snap, check.SubjectQuery{Object: q.Object, Relation: q.Relation, Type: q.Type})
								found += len(rs)
								return err
							})
							b.ReportMetric(float64(found)/float64(b.N), "results/op")
						})
					}
					qs := d.checks("")
					b.Run("expand", func(b *testing.B) {
						latency(b, func(i int) error {
							q := qs[i%len(qs)]
							_, err := expand.Expand(ctx, d.snap, q.Object, q.Relation, expand.Options{})
							return err
						})
					})
				})
			}
		})
	}
}

// BenchmarkImport times loading the casebook dataset into an empty store,
// generation included (it streams through a pipe and costs about a tenth
// of the import). tuples/s is the load rate.
func BenchmarkImport(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			total := 0
			for range b.N {
				b.StopTimer()
				st, err := be.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				d, err := loadInto(context.Background(), st, spec)
				if err != nil {
					b.Fatal(err)
				}
				total += d.tuples
				b.StopTimer()
				d.snap.Close()
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "tuples/s")
		})
	}
}
