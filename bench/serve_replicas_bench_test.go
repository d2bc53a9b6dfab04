package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/postgres"
)

// BenchmarkServeReplicas runs one, two and three `docket serve`
// processes on one PostgreSQL database (the dataset loaded once) and
// spreads the whole check list over them round robin from 16 client
// connections (Connect over loopback), each answer compared with the
// dataset's ground truth. Each run starts fresh servers, so their
// caches start empty: the first pass over the list (cold) asks each
// query once and is answered by walks; the second (warm) asks each
// query of the replica that answered it before, from its cache. It
// reports checks/s of each pass, the database's round trips per check
// (transactions committed, from pg_stat_database: every statement of a
// pool is one) and the database's share of the CPU time of the servers
// and the database together. The figure is the shape of the curve, not
// capacity: servers, database and clients share this machine's cores.
//
//	go test -run '^$' -bench ServeReplicas -benchtime 1x ./bench/
func BenchmarkServeReplicas(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	url := pg.Database(b)
	ctx := context.Background()
	first, err := postgres.OpenBackend(ctx, url, postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(first, store.Options{})
	b.Cleanup(func() { st.Close() })
	d, err := loadInto(ctx, st, spec)
	if err != nil {
		b.Fatalf("load %s into postgres: %v", spec.Name(), err)
	}
	b.Cleanup(func() { d.snap.Close() })
	type item struct {
		object, relation, subject string
		want                      bool
	}
	var list []item
	for _, q := range d.queries {
		if q.Kind == gen.KindCheck && q.Expect.Known {
			list = append(list, item{q.Object.String(), q.Relation, q.Subject.String(), q.Expect.Allowed})
		}
	}
	bin := filepath.Join(b.TempDir(), "docket")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/docket").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for n := 1; n <= 3; n++ {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			servers := make([]*exec.Cmd, n)
			clients := make([]*client.Client, n)
			for i := range n {
				cmd, addr := startReplica(b, bin, url)
				servers[i] = cmd
				c, err := client.New(addr, client.Options{})
				if err != nil {
					b.Fatal(err)
				}
				clients[i] = c
			}
			// The servers' recent revision: nothing is written meanwhile.
			cons := &pb.Consistency{Requirement: &pb.Consistency_MinimizeLatency{MinimizeLatency: true}}
			for i, c := range clients {
				if _, _, err := c.Check(ctx, list[0].object, list[0].relation, list[0].subject, cons); err != nil {
					b.Fatalf("replica %d: first check: %v", i, err)
				}
			}
			pass := func(name string) {
				const workers = 16
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				commits, dbBefore := dbCommits(b, first), dbCPU(b, first)
				var srvBefore time.Duration
				for _, s := range servers {
					srvBefore += procCPU(s.Process.Pid)
				}
				start := time.Now()
				for range workers {
					wg.Go(func() {
						for {
							i := int(next.Add(1) - 1)
							if i >= len(list) {
								return
							}
							it := list[i]
							got, _, err := clients[i%n].Check(ctx, it.object, it.relation, it.subject, cons)
							if err != nil {
								errs <- fmt.Errorf("check %s#%s@%s: %w", it.object, it.relation, it.subject, err)
								return
							}
							if got != it.want {
								errs <- fmt.Errorf("check %s#%s@%s: allowed %v, want %v", it.object, it.relation, it.subject, got, it.want)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
				var srv time.Duration
				for _, s := range servers {
					srv += procCPU(s.Process.Pid)
				}
				srv -= srvBefore
				db := dbCPU(b, first) - dbBefore
				b.ReportMetric(float64(len(list))/elapsed.Seconds(), name+"-checks/s")
				b.ReportMetric(float64(dbCommits(b, first)-commits)/float64(len(list)), name+"-queries/check")
				if db+srv > 0 {
					b.ReportMetric(100*float64(db)/float64(db+srv), name+"-db-cpu-%")
				}
			}
			for range b.N {
				pass("cold")
				pass("warm")
			}
		})
	}
}

// listeningOn matches the line `docket serve` prints once ready.
var listeningOn = regexp.MustCompile(`listening on (http://\S+)`)

// startReplica starts `docket serve` on the datastore at url on a free
// loopback port and returns it with its URL; the benchmark's cleanup
// stops it.
func startReplica(b *testing.B, bin, url string) (*exec.Cmd, string) {
	b.Helper()
	cmd := exec.Command(bin, "serve", "--datastore", url, "--no-auth", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DOCKET_DB=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningOn.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return cmd, addr
	case <-time.After(30 * time.Second):
		b.Fatal("docket serve did not say where it listens within 30s")
	}
	return nil, ""
}

// dbCommits is the number of transactions the benchmark's database has
// committed: each statement a pool sends outside a transaction is one,
// and a batch is one, so the difference over a run is its round trips.
func dbCommits(b *testing.B, be *postgres.Backend) int64 {
	b.Helper()
	// Backends publish their statistics when idle, at most every second
	// (PostgreSQL 15); each transaction reads them afresh.
	time.Sleep(1100 * time.Millisecond)
	var n int64
	if err := be.Pool().QueryRow(context.Background(), `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
