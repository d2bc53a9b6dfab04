package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// TestChangeSignal: a write or an import through one backend wakes a
// watcher of another backend on the same database (another process, as
// far as PostgreSQL can tell), and a backend told not to notify offers
// no signal and announces nothing.
func TestChangeSignal(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	open := func(o Options) (*Backend, store.Store) {
		o.Migrate = true
		b, err := OpenBackend(ctx, url, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b, store.New(b, store.Options{})
	}
	_, writer := open(Options{})
	watcherB, watcher := open(Options{})
	storetest.Setup(t, ctx, writer)

	n, ok := watcher.(store.ChangeNotifier)
	if !ok {
		t.Fatal("the store over a PostgreSQL backend is not a ChangeNotifier")
	}
	// The first signal starts the listener; a signal taken before it
	// listens is woken by its start, so wait for a quiet one.
	waitWoken(t, n.ChangeSignal(), "the listener's start")

	signal := n.ChangeSignal()
	select {
	case <-signal:
		t.Fatal("woken with no write")
	case <-time.After(50 * time.Millisecond):
	}
	heard := watcherB.notified()
	if _, err := writer.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, "doc:one#owner@user:ann")}}}); err != nil {
		t.Fatal(err)
	}
	waitWoken(t, signal, "a write through another backend")
	if watcherB.notified() <= heard {
		t.Fatalf("woken, but no revision notification was heard (%d before, %d after)", heard, watcherB.notified())
	}

	signal = n.ChangeSignal()
	if _, err := writer.Import(ctx, strings.NewReader("doc:two#owner@user:bob\ndoc:three#owner@user:cy\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	waitWoken(t, signal, "an import through another backend")

	// A write that changes nothing commits no revision and announces
	// nothing.
	signal = n.ChangeSignal()
	if _, err := writer.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, "doc:one#owner@user:ann")}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-signal:
		t.Fatal("woken by a write that committed nothing")
	case <-time.After(200 * time.Millisecond):
	}

	quietB, quiet := open(Options{NoNotify: true})
	if s := quiet.(store.ChangeNotifier).ChangeSignal(); s != nil {
		t.Fatal("a backend opened with NoNotify offers a change signal")
	}
	signal = n.ChangeSignal()
	heard = watcherB.notified()
	if _, err := quiet.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, "doc:four#owner@user:dee")}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-signal:
		t.Fatalf("a NoNotify backend's write was announced (heard %d, then %d)", heard, watcherB.notified())
	case <-time.After(200 * time.Millisecond):
	}
	_ = quietB
}

func waitWoken(t *testing.T, signal <-chan struct{}, what string) {
	t.Helper()
	if signal == nil {
		t.Fatalf("no change signal before %s", what)
	}
	select {
	case <-signal:
	case <-time.After(10 * time.Second):
		t.Fatalf("not woken by %s within 10s", what)
	}
}

// TestListenerReconnects: when the listening connection is killed, the
// listener reconnects, wakes its watchers once (notifications sent in
// between are lost), and hears later writes again.
func TestListenerReconnects(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{})
	s := store.New(b, store.Options{})
	storetest.Setup(t, ctx, s)
	waitWoken(t, b.ChangeSignal(), "the listener's start")

	signal := b.ChangeSignal()
	// Terminate every other connection named docket that is LISTENing.
	if _, err := b.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	waitWoken(t, signal, "the listener's reconnection")

	signal = b.ChangeSignal()
	heard := b.notified()
	if _, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, "doc:one#owner@user:ann")}}}); err != nil {
		t.Fatal(err)
	}
	waitWoken(t, signal, "a write after the reconnection")
	deadline := time.Now().Add(10 * time.Second)
	for b.notified() <= heard && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.notified() <= heard {
		t.Fatal("the reconnected listener heard no notification of the write")
	}
}
