package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/tuples"
)

// loadDuration is how long TestLoad runs: briefly in the default suite,
// longer with DOCKET_LOAD_SECONDS=N (see the README's test commands).
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("DOCKET_LOAD_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("DOCKET_LOAD_SECONDS=%q: want a whole number of seconds", s)
		}
		return time.Duration(n) * time.Second
	}
	if testing.Short() {
		return 300 * time.Millisecond
	}
	return 2 * time.Second
}

// TestLoad: concurrent clients mix checks, lookups and writes over
// loopback for a fixed time. Every answer is verified against an
// in-process checker at the revision the answer carries; no call may
// fail, and no goroutine may outlive the server.
func TestLoad(t *testing.T) {
	before := runtime.NumGoroutine()
	var calls, checks, lookups, writes atomic.Int64
	t.Run("load", func(t *testing.T) {
		ts := startServer(t)
		var seed []string
		for i := range 40 {
			seed = append(seed, fmt.Sprintf("record:r%d#reader@team:t%d#member", i, i%5))
			seed = append(seed, fmt.Sprintf("team:t%d#member@user:u%d", i%5, i))
		}
		ts.seed(t, seed...)
		ref := check.New(check.Options{CacheSize: -1})
		// Calls run without a deadline, so that no call is cut off part
		// way: each client stops starting calls at the end.
		ctx := context.Background()
		end := time.Now().Add(loadDuration(t))
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		fail := func(err error) {
			select {
			case errs <- err:
			default:
			}
		}
		at := func(rev *pb.Revision) tuples.Snapshot {
			snap, err := ts.store.Snapshot(context.Background(), tuples.Revision(rev.Number))
			if err != nil {
				fail(fmt.Errorf("snapshot %d: %w", rev.Number, err))
				return nil
			}
			return snap
		}
		for w := range 12 {
			c := ts.rw
			if w%2 == 1 {
				c = ts.grpc
			}
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for time.Now().Before(end) {
					calls.Add(1)
					u := fmt.Sprintf("user:u%d", rng.IntN(50))
					switch op := rng.IntN(10); {
					case op < 6:
						obj := fmt.Sprintf("record:r%d", rng.IntN(45))
						ok, rev, err := c.Check(ctx, obj, "read", u, nil)
						if err != nil {
							fail(fmt.Errorf("check: %w", err))
							return
						}
						o, _ := tuples.ParseObject(obj)
						s, _ := tuples.ParseSubject(u)
						if snap := at(rev); snap != nil {
							want, err := ref.Check(context.Background(), snap, check.Query{Object: o, Relation: "read", Subject: s})
							snap.Close()
							if err != nil || want.Allowed != ok {
								fail(fmt.Errorf("check %s read %s at %d: server %v, in process %v (%v)", obj, u, rev.Number, ok, want.Allowed, err))
							}
						}
						checks.Add(1)
					case op < 8:
						st, err := c.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Subject: &pb.SubjectRef{Type: "user", Id: u[5:]}, ResourceType: "record", Relation: "read"}))
						if err != nil {
							fail(fmt.Errorf("lookup: %w", err))
							return
						}
						var got []string
						var rev *pb.Revision
						for st.Receive() {
							got = append(got, st.Msg().Object.Id)
							rev = st.Msg().Revision
						}
						if err := st.Err(); err != nil {
							fail(fmt.Errorf("lookup stream: %w", err))
							return
						}
						if rev == nil {
							lookups.Add(1)
							continue // nothing found: no message carried a revision
						}
						s, _ := tuples.ParseSubject(u)
						var want []string
						if snap := at(rev); snap != nil {
							if _, err := ref.LookupResources(context.Background(), snap, check.ResourceQuery{Subject: s, Type: "record", Relation: "read"}, func(o tuples.Object) bool {
								want = append(want, o.ID)
								return true
							}); err != nil {
								fail(err)
							}
							snap.Close()
							if !slices.Equal(got, want) {
								fail(fmt.Errorf("lookup for %s at %d: server %v, in process %v", u, rev.Number, got, want))
							}
						}
						lookups.Add(1)
					default:
						tpl := fmt.Sprintf("record:r%d#reader@%s", rng.IntN(45), u)
						var err error
						if rng.IntN(2) == 0 {
							_, err = c.Touch(ctx, tpl)
						} else {
							_, err = c.Delete(ctx, tpl)
						}
						if err != nil {
							fail(fmt.Errorf("write: %w", err))
							return
						}
						writes.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if checks.Load() == 0 || lookups.Load() == 0 || writes.Load() == 0 {
			t.Errorf("the mix did not run: %d checks, %d lookups, %d writes", checks.Load(), lookups.Load(), writes.Load())
		}
	})
	t.Logf("%d calls: %d checks, %d lookups, %d writes", calls.Load(), checks.Load(), lookups.Load(), writes.Load())
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+4 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the server stopped, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
