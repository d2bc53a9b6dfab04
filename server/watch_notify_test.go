package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// notifyingStore stands for a datastore that announces other processes'
// commits (PostgreSQL's LISTEN/NOTIFY): the test writes past the server
// and then fires the announcement by hand.
type notifyingStore struct {
	store.Store
	mu     sync.Mutex
	signal chan struct{}
}

func (s *notifyingStore) ChangeSignal() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signal == nil {
		s.signal = make(chan struct{})
	}
	return s.signal
}

func (s *notifyingStore) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signal != nil {
		close(s.signal)
	}
	s.signal = make(chan struct{})
}

// TestWatchWokenByStore: a write the server did not make (another
// replica's) reaches a waiting Watch as soon as the store announces it,
// without waiting for a poll or a heartbeat.
func TestWatchWokenByStore(t *testing.T) {
	var ns *notifyingStore
	ts := startServer(t, func(o *server.Options) {
		ns = &notifyingStore{Store: o.Store}
		o.Store = ns
	})
	start := ts.seed(t, "record:a#owner@user:a")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The stream's headers come with its first message, so the call
	// itself waits: make it, and read it, aside.
	got := make(chan *pb.WatchResponse, 4)
	var streamErr error
	go func() {
		defer close(got)
		st, err := ts.ro.Watch(ctx, connect.NewRequest(&pb.WatchRequest{After: start.Token, HeartbeatMs: 60_000}))
		if err != nil {
			streamErr = err
			return
		}
		defer st.Close()
		for st.Receive() {
			got <- st.Msg()
		}
		streamErr = st.Err()
	}()
	// Let the watch reach its wait.
	time.Sleep(200 * time.Millisecond)

	// Past the server, as another replica would write.
	tup, err := tuples.Parse("record:b#owner@user:a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: tup}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("a change arrived before the store announced it: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
	ns.fire()
	select {
	case m, ok := <-got:
		if !ok {
			t.Fatalf("watch ended: %v", streamErr)
		}
		if m.Heartbeat || len(m.Changes) != 1 || m.Changes[0].Tuple.Object.Id != "b" {
			t.Fatalf("after the announcement: %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the announced write did not reach the watch within 5s")
	}
}
