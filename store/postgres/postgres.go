// Package postgres is a store.Backend on a PostgreSQL-compatible database
// (PostgreSQL, and by design CockroachDB and YugabyteDB), through pgx. It
// lets several Docket processes share one store.
//
// The SQL is the subset the three databases share. There is no reliance
// on the database's transaction ids or snapshots: a revision is Docket's
// own counter (docket_head.latest), incremented by every write
// transaction before anything else, so that writers queue on that one row
// and commit order is revision order. A tuple is a row with created_rev
// and deleted_rev; a read at revision R sees the rows with created_rev <=
// R and deleted_rev NULL or above R, so any held revision can be read
// from any connection without holding a database snapshot open. Writes
// run SERIALIZABLE and are retried on serialization failures; imports
// COPY into the change log inside one transaction and are published by
// its commit; garbage collection deletes rows deleted before the
// collection horizon in small batches of their own.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune the backend.
type Options struct {
	// KeepRevisions, when positive, is how many revisions new readers may
	// open: below latest-KeepRevisions+1 they are refused. Zero means the
	// GC window alone decides.
	KeepRevisions int
	// GCWindow is how long a revision stays readable after it is
	// superseded: garbage collection never removes what a revision
	// committed within the window reads (default 1h).
	GCWindow time.Duration
	// SnapshotGrace bounds how long a reader on another process may read
	// a revision after it left the held window: rows are swept only this
	// long after the horizon that uncovers them was published (default
	// 1m). Readers in this process are pinned exactly.
	SnapshotGrace time.Duration
	// GCInterval is how often the backend collects garbage in the
	// background; zero or negative turns background collection off.
	GCInterval time.Duration
	// GCBatch is how many rows one garbage-collection statement deletes
	// (default 1000); each batch is a transaction of its own.
	GCBatch int
	// Logger, when set, hears of background failures (garbage
	// collection); requests report theirs to their callers.
	Logger *slog.Logger
	// Migrate applies missing migrations on open instead of refusing.
	Migrate bool
	// WriteRetries bounds the retries of a write that lost a
	// serialization conflict (default 50).
	WriteRetries int
	// HeadTTL is how long a learned latest revision may answer a reader's
	// bounds check at an explicit revision without asking the database
	// (default 250ms). Reads at the latest revision always ask.
	HeadTTL time.Duration
	// NoNotify turns off the LISTEN/NOTIFY wake-up of watchers: writes
	// announce nothing and ChangeSignal is nil, so watchers rely on
	// polling the change log alone.
	NoNotify bool
}

func (o *Options) defaults() {
	if o.GCWindow <= 0 {
		o.GCWindow = time.Hour
	}
	if o.SnapshotGrace <= 0 {
		o.SnapshotGrace = time.Minute
	}
	if o.GCBatch <= 0 {
		o.GCBatch = 1000
	}
	if o.WriteRetries <= 0 {
		o.WriteRetries = 50
	}
	if o.HeadTTL <= 0 {
		o.HeadTTL = 250 * time.Millisecond
	}
}

// DefaultStatementTimeout applies unless the URL sets statement_timeout.
const DefaultStatementTimeout = "30s"

// Config parses a datastore URL (postgres://USER:PASS@HOST:PORT/DB?...)
// into a pool configuration. The URL's own parameters are pgx's: among
// them pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// connect_timeout, and any server setting such as statement_timeout or
// search_path, sent on every connection.
func Config(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("datastore URL: %w", redact(err))
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = DefaultStatementTimeout
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "docket"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	return cfg, nil
}

// redact keeps a password out of URL parse errors, which quote the URL.
func redact(err error) error {
	return errors.New("cannot parse it (expected postgres://USER:PASS@HOST:PORT/DB); " + scrub(err.Error()))
}

func scrub(s string) string {
	// pgx's parse errors already elide the password as "xxxxx"; keep only
	// its explanation after the last colon.
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return s[i+1:]
		}
	}
	return s
}

// Pool opens a connection pool for url and checks that the datastore
// answers.
func Pool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := Config(url)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify("connect to the datastore", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, classify(fmt.Sprintf("connect to the datastore at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), err)
	}
	return pool, nil
}

// Open connects to the datastore at url and returns the store on it.
func Open(ctx context.Context, url string, opts Options) (store.Store, error) {
	b, err := OpenBackend(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return store.New(b, store.Options{}), nil
}

// OpenBackend connects to the datastore at url and returns its backend.
// Its tables must be at SchemaVersion, unless opts.Migrate is set.
func OpenBackend(ctx context.Context, url string, opts Options) (*Backend, error) {
	cfg, err := Config(url)
	if err != nil {
		return nil, err
	}
	queries := &queryCounter{}
	cfg.ConnConfig.Tracer = queries
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify("connect to the datastore", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, classify(fmt.Sprintf("connect to the datastore at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), err)
	}
	b, err := NewBackend(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	b.ownPool = true
	b.queries = queries
	return b, nil
}

// Queries counts the statements, batches and COPYs the backend's pool
// has sent, each one round trip, since OpenBackend (0 for a backend on a
// pool of the caller's).
func (b *Backend) Queries() int64 {
	if b.queries == nil {
		return 0
	}
	return b.queries.n.Load()
}

// queryCounter counts round trips to the database.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *queryCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// Backend is the store.Backend on a database.
type Backend struct {
	pool    *pgxpool.Pool
	ownPool bool
	queries *queryCounter
	opts    Options

	mu sync.Mutex
	// pins counts this process's open readers by revision, so that
	// garbage collection keeps what they read.
	pins map[tuples.Revision]int
	// head is the latest head learned, and when.
	head   head
	headAt time.Time
	// schemas holds every schema text written at or below schemasTo, in
	// revision order: a revision's schema never changes once written.
	schemas   []store.SchemaText
	schemasTo tuples.Revision
	// schemaMu serialises filling the schema cache.
	schemaMu sync.Mutex
	closed   bool

	stop   chan struct{}
	stopWG sync.WaitGroup

	// beforeCommit, set by tests, runs between a write's (or an
	// import's) statements and its commit.
	beforeCommit func()
	// loaded, set by tests, hears of each committed load how many of
	// its changes went straight into docket_tuples, of how many.
	loaded func(straight, total int)
	// notifies: the database has pg_notify (probed at open), so writes
	// announce their revisions; notify wakes this process's watchers.
	notifies bool
	notify   notifier
	// swaps: the database is PostgreSQL (probed at open), so an import
	// into an empty store is built in a table of its own and swapped in
	// (swap.go). noSwap and swapLockWait, set by tests, turn that off
	// and bound the wait for the swap's lock.
	swaps        bool
	noSwap       bool
	swapLockWait time.Duration

	// cacheEntries and cacheRows, set by tests, bound what a snapshot
	// keeps of objects and subjects below the defaults.
	cacheEntries, cacheRows int
}

// head is the state every reader's bounds come from.
type head struct {
	latest, changesFrom, horizon tuples.Revision
	maxSchema                    tuples.Revision
}

// NewBackend returns the backend on pool, which the caller keeps and
// closes after the backend.
func NewBackend(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Backend, error) {
	opts.defaults()
	if opts.Migrate {
		if _, err := Migrate(ctx, pool); err != nil {
			return nil, err
		}
	}
	if err := checkVersion(ctx, pool); err != nil {
		return nil, err
	}
	b := &Backend{pool: pool, opts: opts, pins: make(map[tuples.Revision]int), stop: make(chan struct{})}
	if err := b.probeNotify(ctx); err != nil {
		return nil, err
	}
	if err := b.probeSwap(ctx); err != nil {
		return nil, err
	}
	if opts.GCInterval > 0 {
		b.stopWG.Add(1)
		go b.collectLoop()
	}
	return b, nil
}

// StoreID is the datastore's id, made once by its first migration: every
// process on the database shares it, so that a consistency token from
// one replica is honoured by another, and a token of another store is
// refused.
func (b *Backend) StoreID(ctx context.Context) (string, error) {
	var id string
	if err := b.pool.QueryRow(ctx, `SELECT store_id FROM docket_store WHERE id = 1`).Scan(&id); err != nil {
		return "", classify("read the store id", err)
	}
	return id, nil
}

// Pool is the backend's connection pool.
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.stopWG.Wait()
	if b.ownPool {
		b.pool.Close()
	}
	return nil
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// querier is what reads need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const headSQL = `SELECT h.latest, h.changes_from, g.horizon,
	COALESCE((SELECT max(revision) FROM docket_schemas), 0)
	FROM docket_head h, docket_gc g WHERE h.id = 1 AND g.id = 1`

// readHead reads the head and remembers it.
func (b *Backend) readHead(ctx context.Context, q querier) (head, error) {
	var h head
	var latest, from, horizon, maxSchema int64
	if err := q.QueryRow(ctx, headSQL).Scan(&latest, &from, &horizon, &maxSchema); err != nil {
		return head{}, classify("read the datastore's latest revision", err)
	}
	h = head{latest: tuples.Revision(latest), changesFrom: tuples.Revision(from), horizon: tuples.Revision(horizon), maxSchema: tuples.Revision(maxSchema)}
	b.learn(h)
	return h, nil
}

// learn records a head read from the database; heads only move forward.
func (b *Backend) learn(h head) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.latest >= b.head.latest {
		b.head, b.headAt = h, time.Now()
	}
}

// oldest is the oldest revision a new reader may open, given a head.
func (b *Backend) oldest(h head) tuples.Revision {
	o := h.horizon
	if k := tuples.Revision(b.opts.KeepRevisions); k > 0 && h.latest >= k {
		o = max(o, h.latest-k+1)
	}
	return o
}

func (b *Backend) Head(ctx context.Context) (oldest, latest tuples.Revision, err error) {
	if b.isClosed() {
		return 0, 0, store.ErrClosed
	}
	h, err := b.readHead(ctx, b.pool)
	if err != nil {
		return 0, 0, err
	}
	return b.oldest(h), h.latest, nil
}

// Reader opens a reader. At an explicit revision that a head learned
// within HeadTTL covers, it asks the database nothing: revisions below
// the latest never change, and garbage collection sweeps only
// SnapshotGrace after publishing a horizon, far longer than HeadTTL.
func (b *Backend) Reader(ctx context.Context, rev tuples.Revision) (store.Reader, error) {
	if b.isClosed() {
		return nil, store.ErrClosed
	}
	b.mu.Lock()
	h, fresh := b.head, time.Since(b.headAt) < b.opts.HeadTTL
	b.mu.Unlock()
	if rev == 0 || !fresh || rev > h.latest || rev < b.oldest(h) {
		var err error
		if h, err = b.readHead(ctx, b.pool); err != nil {
			return nil, err
		}
	}
	if rev == 0 {
		rev = h.latest
	}
	if rev > h.latest {
		return nil, store.FutureError(rev, h.latest)
	}
	if o := b.oldest(h); rev < o {
		return nil, store.GoneError(rev, o)
	}
	st, err := b.schemaAt(ctx, b.pool, rev, h)
	if err != nil {
		return nil, err
	}
	b.pin(rev)
	r := &reader{q: b.pool, rev: rev, now: clockNanos(ctx), schema: st, objects: newObjectCache(b.cacheEntries, b.cacheRows)}
	r.release = func() { b.unpin(rev) }
	return r, nil
}

func (b *Backend) pin(rev tuples.Revision) {
	b.mu.Lock()
	b.pins[rev]++
	b.mu.Unlock()
}

func (b *Backend) unpin(rev tuples.Revision) {
	b.mu.Lock()
	if b.pins[rev]--; b.pins[rev] <= 0 {
		delete(b.pins, rev)
	}
	b.mu.Unlock()
}

// lowestPin is the lowest revision a reader of this process reads, or 0.
func (b *Backend) lowestPin() tuples.Revision {
	b.mu.Lock()
	defer b.mu.Unlock()
	var low tuples.Revision
	for r := range b.pins {
		if low == 0 || r < low {
			low = r
		}
	}
	return low
}

// schemaAt returns the schema in force at rev, which h covers (rev <=
// h.latest), from the cache, first reading the schemas the cache lacks
// up to h.latest when h shows there are some.
func (b *Backend) schemaAt(ctx context.Context, q querier, rev tuples.Revision, h head) (store.SchemaText, error) {
	b.schemaMu.Lock()
	defer b.schemaMu.Unlock()
	b.mu.Lock()
	to := b.schemasTo
	b.mu.Unlock()
	if rev > to && h.latest > to {
		if h.maxSchema > to {
			rows, err := q.Query(ctx, `SELECT revision, text FROM docket_schemas WHERE revision > $1 AND revision <= $2 ORDER BY revision`, int64(to), int64(h.latest))
			if err != nil {
				return store.SchemaText{}, classify("read the schema", err)
			}
			var got []store.SchemaText
			for rows.Next() {
				var r int64
				var text string
				if err := rows.Scan(&r, &text); err != nil {
					rows.Close()
					return store.SchemaText{}, classify("read the schema", err)
				}
				got = append(got, store.SchemaText{Revision: tuples.Revision(r), Text: text})
			}
			if err := rows.Err(); err != nil {
				return store.SchemaText{}, classify("read the schema", err)
			}
			b.mu.Lock()
			b.schemas = append(b.schemas, got...)
			b.mu.Unlock()
		}
		b.mu.Lock()
		b.schemasTo = h.latest
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inForce(rev), nil
}

// inForce is the cached schema in force at rev; the caller holds mu.
func (b *Backend) inForce(rev tuples.Revision) store.SchemaText {
	i := sort.Search(len(b.schemas), func(i int) bool { return b.schemas[i].Revision > rev }) - 1
	if i < 0 {
		return store.SchemaText{}
	}
	return b.schemas[i]
}

// backoff sleeps before retry n of a conflicted write: a short, jittered,
// growing wait, so that writers that collided do not collide again.
func backoff(ctx context.Context, n int) error {
	d := time.Duration(1<<min(n, 6)) * time.Millisecond
	d = d/2 + time.Duration(rand.Int64N(int64(d)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
