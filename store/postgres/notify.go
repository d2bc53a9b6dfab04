package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// notifyChannel is the PostgreSQL notification channel on which every
// write announces its revision, inside its own transaction, so that the
// notification is delivered exactly when the revision commits.
const notifyChannel = "docket_changes"

// notifySQL announces a revision. pg_notify rather than NOTIFY, because
// NOTIFY takes no bind parameters.
const notifySQL = `SELECT pg_notify('` + notifyChannel + `', $1)`

// Notifications are only a wake-up: the change log stays the source of
// truth and watchers still poll it, so a notification lost to a broken
// connection delays a watcher by one poll interval at most, and a
// database without LISTEN/NOTIFY (CockroachDB; YugabyteDB refuses it
// too) only loses the early wake-up.

// notifier fans the database's notifications out to this process's
// watchers. Its listening connection is opened on the first
// ChangeSignal, so commands that never watch hold no extra connection.
type notifier struct {
	mu      sync.Mutex
	signal  chan struct{}
	started bool
	// heard counts the notifications received, for tests.
	heard int
}

// probeNotify tells whether the database has pg_notify: one statement at
// open, so that a write never fails on a database without it.
func (b *Backend) probeNotify(ctx context.Context) error {
	if b.opts.NoNotify {
		return nil
	}
	_, err := b.pool.Exec(ctx, notifySQL, "")
	if err == nil {
		b.notifies = true
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Any refusal by the database (feature not supported, undefined
		// function, ...) means no notifications; the rest is a real
		// failure to talk to it.
		return nil
	}
	return classify("probe the datastore for notifications", err)
}

// ChangeSignal returns a channel closed when another write commits (in
// this process or any other on the database), or nil when the database
// cannot notify. Take it before reading the change log, then wait on it:
// a write committing in between closes it.
func (b *Backend) ChangeSignal() <-chan struct{} {
	if !b.notifies {
		return nil
	}
	n := &b.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.signal == nil {
		n.signal = make(chan struct{})
	}
	if !n.started {
		// Under b.mu, so that Close, which sets closed under it before
		// waiting on stopWG, never races the Add.
		b.mu.Lock()
		if !b.closed {
			n.started = true
			b.stopWG.Add(1)
			go b.listen()
		}
		b.mu.Unlock()
	}
	return n.signal
}

// wake closes the current signal and arms a new one.
func (n *notifier) wake(heard bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if heard {
		n.heard++
	}
	if n.signal != nil {
		close(n.signal)
	}
	n.signal = make(chan struct{})
}

// listenRetry is how long the listener waits before reconnecting after
// its connection failed.
const listenRetry = time.Second

// listen holds one connection of its own (taken out of the pool, so that
// the pool's limit still bounds the queries) LISTENing on notifyChannel,
// and wakes the watchers on every notification. After a broken
// connection it reconnects and wakes them once, since notifications sent
// meanwhile were lost.
func (b *Backend) listen() {
	defer b.stopWG.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-b.stop; cancel() }()
	for {
		err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if b.opts.Logger != nil {
			b.opts.Logger.Warn("datastore notifications interrupted; watchers poll the change log until they resume", "error", fmt.Sprint(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

func (b *Backend) listenOnce(ctx context.Context) error {
	pc, err := b.pool.Acquire(ctx)
	if err != nil {
		return classify("connect for notifications", err)
	}
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return classify("listen for notifications", err)
	}
	// Writes may have committed while no connection listened.
	b.notify.wake(false)
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return classify("wait for notifications", err)
		}
		if rev, err := strconv.ParseInt(note.Payload, 10, 64); err == nil && rev > 0 {
			b.notify.wake(true)
		}
	}
}

// notified reports how many revision notifications the listener heard.
func (b *Backend) notified() int {
	b.notify.mu.Lock()
	defer b.notify.mu.Unlock()
	return b.notify.heard
}
