package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestMemIndexRetriesOverLimit: an index in memory over its limit is
// tried again in the background a minute later, then after doubling
// waits, and comes back once the tuples fit; until a try is due no build
// runs.
func TestMemIndexRetriesOverLimit(t *testing.T) {
	ctx := context.Background()
	b, err := memory.NewBackend(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	s := store.New(b, store.Options{MemIndex: store.MemIndexBackground, MemIndexLimit: 3, Now: clock.Now})
	defer s.Close()
	if _, err := s.WriteSchema(ctx, "teams.rebac", []byte("type user\n\ntype team {\n  relation member: user | team#member\n}\n")); err != nil {
		t.Fatal(err)
	}
	write := func(kind tuples.OpKind, lines ...string) {
		t.Helper()
		var batch tuples.Batch
		for _, l := range lines {
			tp, err := tuples.Parse(l)
			if err != nil {
				t.Fatal(err)
			}
			batch.Ops = append(batch.Ops, tuples.Op{Kind: kind, Tuple: tp})
		}
		if _, err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// wait opens a snapshot (which catches up or starts a build, as
	// serving does) and waits for the build it may have started.
	wait := func() store.MemIndexStatus {
		t.Helper()
		sn, err := s.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		sn.Close()
		st, err := store.WaitMemIndex(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	over := func(st store.MemIndexStatus, next time.Duration) {
		t.Helper()
		if st.Ready || !st.OverLimit || !st.NextTry.Equal(clock.Now().Add(next)) {
			t.Fatalf("want over the limit, next try in %v at %v: %+v", next, clock.Now().Add(next), st)
		}
	}

	write(tuples.OpTouch, "team:t0#member@user:u0", "team:t0#member@user:u1", "team:t1#member@user:u2", "team:t1#member@team:t0#member")
	st := wait()
	over(st, time.Minute)
	builds := st.Builds

	// Back under the limit, but no try is due: nothing is built.
	write(tuples.OpDelete, "team:t0#member@user:u1", "team:t1#member@user:u2")
	clock.advance(59 * time.Second)
	if st := wait(); st.Builds != builds || !st.OverLimit {
		t.Fatalf("built before the try was due: %+v", st)
	}
	clock.advance(time.Second)
	st = wait()
	if !st.Ready || st.OverLimit || st.Tuples != 2 || !st.NextTry.IsZero() {
		t.Fatalf("want it back once the tuples fit: %+v", st)
	}

	// Over again in a catch-up: a minute again (the success reset the
	// wait); a try still over doubles it.
	write(tuples.OpTouch, "team:t2#member@user:u3", "team:t2#member@user:u4")
	over(wait(), time.Minute)
	clock.advance(time.Minute)
	over(wait(), 2*time.Minute)
	clock.advance(2 * time.Minute)
	over(wait(), 4*time.Minute)
	for range 10 {
		clock.advance(time.Hour)
		wait()
	}
	over(wait(), time.Hour) // the wait stops growing at an hour
}
