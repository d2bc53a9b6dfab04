package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/internal/pgtest"
)

var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// TestReplicas runs three `docket serve` processes on one PostgreSQL
// database. Writes are spread over them; a read at each write's token
// through another replica sees it; a Watch on one replica sees every
// write of the others, in revision order, exactly once; and once one
// replica is killed with SIGKILL under load, the other two keep serving.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the docket binary")
	}
	url := pg.Database(t)
	bin := buildDocket(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("replica-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Each migrates on start; the first applies the migrations.
	var replicas [3]*child
	for i := range replicas {
		replicas[i] = startServe(t, bin, "--datastore", url, "--migrate", "--keys-file", keys)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var clients [3]*client.Client
	for i, r := range replicas {
		c, err := client.New(r.url, client.Options{Token: "replica-key"})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	res, err := clients[0].WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: crashSchema}))
	if err != nil {
		t.Fatal(err)
	}
	start := res.Msg.Revision

	// Watch through replica 2, from the schema's revision on.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	stream, err := clients[2].Watch(watchCtx, connect.NewRequest(&pb.WatchRequest{After: start.Token, HeartbeatMs: 200}))
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		rev   uint64
		tuple string
	}
	var watched []seen
	var mu sync.Mutex
	watchDone := make(chan error, 1)
	go func() {
		for stream.Receive() {
			m := stream.Msg()
			mu.Lock()
			for _, ch := range m.Changes {
				watched = append(watched, seen{m.Revision.Number, ch.Tuple.Object.Type + ":" + ch.Tuple.Object.Id})
			}
			mu.Unlock()
		}
		watchDone <- stream.Err()
	}()

	// Writes spread over the replicas, each read back at its token
	// through the next replica.
	const perWriter = 25
	written := map[string]uint64{}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range perWriter {
				obj := fmt.Sprintf("doc:w%d_%d", w, i)
				rev, err := clients[w].Touch(ctx, obj+"#owner@user:u")
				if err != nil {
					t.Errorf("write through replica %d: %v", w, err)
					return
				}
				other := (w + 1) % 3
				ok, at, err := clients[other].Check(ctx, obj, "view", "user:u", &pb.Consistency{Requirement: &pb.Consistency_AtLeastAsFresh{AtLeastAsFresh: rev.Token}})
				if err != nil || !ok || at.Number < rev.Number {
					t.Errorf("replica %d at the token of a write through replica %d (revision %d): allowed %v at %v, %v", other, w, rev.Number, ok, at, err)
				}
				mu.Lock()
				written[obj] = rev.Number
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The watch has every write once it passes the last revision.
	var last uint64
	for _, r := range written {
		last = max(last, r)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, at, err := clients[2].Check(ctx, "doc:none", "view", "user:u", nil)
		if err == nil && at.Number >= last && len(watchedCopy(&mu, &watched)) >= len(written) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch saw %d of %d writes", len(watchedCopy(&mu, &watched)), len(written))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopWatch()
	<-watchDone
	watched = watchedCopy(&mu, &watched)
	got := map[string]uint64{}
	for i, s := range watched {
		if i > 0 && s.rev <= watched[i-1].rev {
			t.Errorf("watch out of order: revision %d after %d", s.rev, watched[i-1].rev)
		}
		if _, dup := got[s.tuple]; dup {
			t.Errorf("watch delivered %s twice", s.tuple)
		}
		got[s.tuple] = s.rev
	}
	for obj, rev := range written {
		if got[obj] != rev {
			t.Errorf("watch: %s at revision %d, want %d", obj, got[obj], rev)
		}
	}

	// Kill replica 1 under load; 0 and 2 keep answering.
	var ok0, failed atomic.Int64
	stop := make(chan struct{})
	for _, w := range []int{0, 2} {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				obj := fmt.Sprintf("doc:k%d_%d", w, i)
				rev, err := clients[w].Touch(ctx, obj+"#viewer@user:v")
				if err == nil {
					var allowed bool
					allowed, _, err = clients[2-w].Check(ctx, obj, "view", "user:v", &pb.Consistency{Requirement: &pb.Consistency_AtLeastAsFresh{AtLeastAsFresh: rev.Token}})
					if err == nil && !allowed {
						t.Errorf("%s not visible at its token through the other replica", obj)
					}
				}
				if err != nil {
					failed.Add(1)
					t.Errorf("replica %d after another was killed: %v", w, err)
					return
				}
				ok0.Add(1)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := replicas[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = replicas[1].cmd.Wait()
	before := ok0.Load()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	if ok0.Load() <= before || failed.Load() > 0 {
		t.Fatalf("after the kill: %d requests served (%d before it), %d failed", ok0.Load(), before, failed.Load())
	}
	t.Logf("%d writes over 3 replicas, watched in order; %d write+read pairs on 2 replicas around a SIGKILL", len(written), ok0.Load())

	// PostgreSQL stopped: both replicas answer Unavailable, saying why;
	// restarted: they serve again without a restart of their own, and
	// nothing acknowledged is lost.
	cluster := pg.Cluster(t)
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{0, 2} {
		_, err := clients[w].Touch(ctx, fmt.Sprintf("doc:outage%d#viewer@user:v", w))
		if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "datastore unavailable") {
			t.Errorf("write through replica %d while the datastore is down: %v, want Unavailable: datastore unavailable", w, err)
		}
		_, _, err = clients[w].Check(ctx, "doc:w0_0", "view", "user:u", nil)
		if connect.CodeOf(err) != connect.CodeUnavailable {
			t.Errorf("check through replica %d while the datastore is down: %v, want Unavailable", w, err)
		}
	}
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{0, 2} {
		rev, err := clients[w].Touch(ctx, fmt.Sprintf("doc:after%d#viewer@user:v", w))
		if err != nil {
			t.Fatalf("write through replica %d after the datastore restarted: %v", w, err)
		}
		for obj := range written {
			ok, _, err := clients[2-w].Check(ctx, obj, "view", "user:u", &pb.Consistency{Requirement: &pb.Consistency_AtLeastAsFresh{AtLeastAsFresh: rev.Token}})
			if err != nil || !ok {
				t.Fatalf("after the restart, %s through replica %d: %v, %v", obj, 2-w, ok, err)
			}
		}
	}
}

func watchedCopy[T any](mu *sync.Mutex, s *[]T) []T {
	mu.Lock()
	defer mu.Unlock()
	return append([]T(nil), *s...)
}
