package bench

import (
	"context"
	"os"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/internal/pgtest"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/postgres"
	"github.com/docketdb/docket/tuples"
)

// pg is the private PostgreSQL cluster of the SQL datastore's benchmarks,
// started by the first of them.
var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// loadPostgres loads spec into a fresh database of the benchmark cluster.
func loadPostgres(b *testing.B, spec gen.Spec) (*dataset, *postgres.Backend) {
	b.Helper()
	be, err := postgres.OpenBackend(context.Background(), pg.Database(b), postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(be, store.Options{})
	b.Cleanup(func() { st.Close() })
	d, err := loadInto(context.Background(), st, spec)
	if err != nil {
		b.Fatalf("load %s into postgres: %v", spec.Name(), err)
	}
	b.Cleanup(func() { d.snap.Close() })
	return d, be
}

// BenchmarkPostgresCheck times single checks per label on the SQL
// datastore (a private PostgreSQL on loopback), cache off and on, and
// reports the database round trips each check makes (queries/op) besides
// the latency percentiles. Each check opens a snapshot of its own at the
// dataset's revision, as a server's request does, so nothing a snapshot
// read for one check answers another; opening it at a revision the
// backend knows costs no round trip, at the latest revision one.
//
//	go test -run '^$' -bench PostgresCheck -benchtime 200x ./bench/
func BenchmarkPostgresCheck(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d, be := loadPostgres(b, spec)
	d.verify(b, check.New(check.Options{CacheSize: -1}))
	b.Logf("imported %d tuples in %v: %.0f tuples/s", d.tuples, d.load, float64(d.tuples)/d.load.Seconds())
	for _, label := range d.labels() {
		qs := d.checks(label)
		for _, cache := range []struct {
			name string
			size int
		}{{"nocache", -1}, {"cache", 0}} {
			b.Run(label+"/"+cache.name, func(b *testing.B) {
				c := check.New(check.Options{CacheSize: cache.size})
				ctx := context.Background()
				before := be.Queries()
				latency(b, func(i int) error {
					sn, err := d.store.Snapshot(ctx, d.snap.Revision())
					if err != nil {
						return err
					}
					defer sn.Close()
					_, err = c.Check(ctx, sn, qs[i%len(qs)])
					return err
				})
				b.ReportMetric(float64(be.Queries()-before)/float64(b.N), "queries/op")
			})
		}
	}
}

// BenchmarkPostgresLookup times lookups on the SQL datastore, with their
// round trips, each on a snapshot of its own.
func BenchmarkPostgresLookup(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d, be := loadPostgres(b, spec)
	ctx := context.Background()
	c := check.New(check.Options{CacheSize: -1})
	var res []check.ResourceQuery
	var subj []check.SubjectQuery
	for _, q := range d.queries {
		switch q.Kind {
		case gen.KindResources:
			res = append(res, check.ResourceQuery{Type: q.Type, Relation: q.Relation, Subject: q.Subject})
		case gen.KindSubjects:
			subj = append(subj, check.SubjectQuery{Object: q.Object, Relation: q.Relation, Type: q.Type})
		}
	}
	if len(res) == 0 || len(subj) == 0 {
		b.Fatalf("the check list has %d resource and %d subject lookups", len(res), len(subj))
	}
	b.Run("resources", func(b *testing.B) {
		before := be.Queries()
		latency(b, func(i int) error {
			sn, err := d.store.Snapshot(ctx, d.snap.Revision())
			if err != nil {
				return err
			}
			defer sn.Close()
			_, err = c.LookupResources(ctx, sn, res[i%len(res)], func(tuples.Object) bool { return true })
			return err
		})
		b.ReportMetric(float64(be.Queries()-before)/float64(b.N), "queries/op")
	})
	b.Run("subjects", func(b *testing.B) {
		before := be.Queries()
		latency(b, func(i int) error {
			sn, err := d.store.Snapshot(ctx, d.snap.Revision())
			if err != nil {
				return err
			}
			defer sn.Close()
			_, err = c.LookupSubjects(ctx, sn, subj[i%len(subj)])
			return err
		})
		b.ReportMetric(float64(be.Queries()-before)/float64(b.N), "queries/op")
	})
}
