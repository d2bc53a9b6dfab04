package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkPostgresReplicas runs the whole check list on one, two and
// three replicas on one database: each replica a backend of its own (its
// own connection pool) with a checker of its own, as separate `docket
// serve` processes have, the work spread over them round robin by four
// workers, each check on a snapshot of its own. It reports checks/s of
// wall clock, the database round trips per check and the share of the
// CPU time (this process's and the database server's for this
// database's connections) that the database spent. With the cache on,
// every replica first answers the list once, so the timed checks are
// all answered from its cache and make no round trip.
//
//	go test -run '^$' -bench PostgresReplicas -benchtime 2000x ./bench/
func BenchmarkPostgresReplicas(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	url := pg.Database(b)
	first, err := postgres.OpenBackend(context.Background(), url, postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(first, store.Options{})
	b.Cleanup(func() { st.Close() })
	d, err := loadInto(context.Background(), st, spec)
	if err != nil {
		b.Fatalf("load %s into postgres: %v", spec.Name(), err)
	}
	b.Cleanup(func() { d.snap.Close() })
	qs := d.checks("")
	rev := d.snap.Revision()
	ctx := context.Background()
	const workers = 4
	for _, cache := range []struct {
		name string
		size int
	}{{"nocache", -1}, {"cache", 0}} {
		for n := 1; n <= 3; n++ {
			b.Run(fmt.Sprintf("%s/replicas=%d", cache.name, n), func(b *testing.B) {
				type replica struct {
					be *postgres.Backend
					st store.Store
					c  *check.Checker
				}
				rs := make([]replica, n)
				for i := range rs {
					be, err := postgres.OpenBackend(ctx, url, postgres.Options{})
					if err != nil {
						b.Fatal(err)
					}
					rs[i] = replica{be: be, st: store.New(be, store.Options{}), c: check.New(check.Options{CacheSize: cache.size})}
					defer rs[i].st.Close()
				}
				one := func(r replica, q check.Query) error {
					sn, err := r.st.Snapshot(ctx, rev)
					if err != nil {
						return err
					}
					defer sn.Close()
					_, err = r.c.Check(ctx, sn, q)
					return err
				}
				if cache.size >= 0 {
					for _, r := range rs {
						for _, q := range qs {
							if err := one(r, q); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				queries := func() (n int64) {
					for _, r := range rs {
						n += r.be.Queries()
					}
					return n
				}
				before, dbBefore, ownBefore := queries(), dbCPU(b, rs[0].be), ownCPU()
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				b.ResetTimer()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							if err := one(rs[i%int64(n)], qs[i%int64(len(qs))]); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
				db, own := dbCPU(b, rs[0].be)-dbBefore, ownCPU()-ownBefore
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
				b.ReportMetric(float64(queries()-before)/float64(b.N), "queries/op")
				if db+own > 0 {
					b.ReportMetric(100*float64(db)/float64(db+own), "db-cpu-%")
				}
			})
		}
	}
}

// dbCPU is the CPU time the database server's processes serving the
// benchmark's database have used (they run on this machine): read from
// /proc for each connection's process. Connections stay open in the
// pools between the two reads, so the difference is the run's.
func dbCPU(b *testing.B, be *postgres.Backend) time.Duration {
	b.Helper()
	rows, err := be.Pool().Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		total += procCPU(pid)
	}
	return total
}

// procCPU is a process's user and system CPU time from /proc, 0 when it
// cannot be read.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ = 100
}

func ownCPU() time.Duration { return procCPU(os.Getpid()) }
