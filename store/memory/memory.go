package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
	memdb "github.com/hashicorp/go-memdb"
)

// Options tune the in-memory store.
type Options struct {
	// KeepRevisions is how many past revisions stay readable (default
	// 10000). Versions share structure, so each costs only what its write
	// changed.
	KeepRevisions int
}

// New returns an empty in-memory store.
func New() (store.Store, error) { return NewWith(Options{}) }

// NewWith returns an empty in-memory store tuned by opts.
func NewWith(opts Options) (store.Store, error) {
	b, err := NewBackend(opts)
	if err != nil {
		return nil, err
	}
	return store.New(b, store.Options{MemIndex: store.MemIndexBackground}), nil
}

// NewBackend returns an empty in-memory store.Backend, for store.New.
func NewBackend(opts Options) (store.Backend, error) {
	if opts.KeepRevisions <= 0 {
		opts.KeepRevisions = 10000
	}
	db, err := memdb.NewMemDB(memSchema())
	if err != nil {
		return nil, fmt.Errorf("create memory store: %w", err)
	}
	return &memEngine{db: db, keep: tuples.Revision(opts.KeepRevisions), versions: []*memdb.MemDB{db.Snapshot()}, logFrom: 1}, nil
}

// memRow is one stored tuple, indexed by its forward and reverse keys.
// Custom key indexers avoid memdb's string indexers, which cannot index
// an empty subject relation.
type memRow struct {
	fwd, rev []byte
	val      []byte // the payload, nil for a plain tuple
}

type keyIndexer struct{ reverse bool }

func (k keyIndexer) FromObject(obj any) (bool, []byte, error) {
	r := obj.(*memRow)
	if k.reverse {
		return true, r.rev, nil
	}
	return true, r.fwd, nil
}

func (keyIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("key index takes one argument, got %d", len(args))
	}
	b, ok := args[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("key index argument is %T, want []byte", args[0])
	}
	return b, nil
}

func (k keyIndexer) PrefixFromArgs(args ...any) ([]byte, error) { return k.FromArgs(args...) }

const memTable = "tuples"

func memSchema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		memTable: {
			Name: memTable,
			Indexes: map[string]*memdb.IndexSchema{
				"id":      {Name: "id", Unique: true, Indexer: keyIndexer{}},
				"reverse": {Name: "reverse", Unique: true, Indexer: keyIndexer{reverse: true}},
			},
		},
	}}
}

// memEngine keeps every revision as an immutable memdb snapshot: memdb's
// radix trees are persistent, so a snapshot is a root pointer and never
// changes after its commit.
type memEngine struct {
	mu       sync.RWMutex
	db       *memdb.MemDB
	keep     tuples.Revision
	oldest   tuples.Revision
	versions []*memdb.MemDB // versions[i] is revision oldest+i
	log      []tuples.Change
	logFrom  tuples.Revision    // first revision whose changes log holds (see trimBefore)
	texts    []store.SchemaText // ascending by revision
	// wmu serialises writers, as Update and Load promise.
	wmu    sync.Mutex
	closed bool
}

func (e *memEngine) bounds() (tuples.Revision, tuples.Revision) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.oldest, e.oldest + tuples.Revision(len(e.versions)) - 1
}

func (e *memEngine) Head(context.Context) (oldest, latest tuples.Revision, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, 0, store.ErrClosed
	}
	return e.oldest, e.oldest + tuples.Revision(len(e.versions)) - 1, nil
}

// Reader needs no pin: a version is a value the reader holds, so dropping
// it from the engine's list only lets the collector have it once no
// reader refers to it.
func (e *memEngine) Reader(ctx context.Context, rev tuples.Revision) (store.Reader, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, store.ErrClosed
	}
	latest := e.oldest + tuples.Revision(len(e.versions)) - 1
	if rev == 0 {
		rev = latest
	}
	switch {
	case rev > latest:
		return nil, store.FutureError(rev, latest)
	case rev < e.oldest:
		return nil, store.GoneError(rev, e.oldest)
	}
	now, _ := tuples.ClockFrom(ctx)
	return e.readerAt(rev, now), nil
}

// readerAt reads the version at rev; the caller holds mu and has checked
// that rev is held.
func (e *memEngine) readerAt(rev tuples.Revision, now time.Time) *memReader {
	i := sort.Search(len(e.texts), func(i int) bool { return e.texts[i].Revision > rev }) - 1
	var st store.SchemaText
	if i >= 0 {
		st = e.texts[i]
	}
	return &memReader{Reader: kv.NewReader(memView{db: e.versions[rev-e.oldest]}, rev, now, nil), schema: st}
}

// memReader is a store.Reader on one version, with the schema in force.
type memReader struct {
	*kv.Reader
	schema store.SchemaText
}

func (r *memReader) Schema(context.Context) (store.SchemaText, error) { return r.schema, nil }

// ReadsObjects reports that the in-memory store does not read objects
// whole (tuples.ObjectReader): in the radix trees a scan of an object's
// tuples costs more than the point reads a check makes instead (a direct
// casebook check took about twice as long with it, bench/README "A case
// read whole"), so the checker reads relation by relation.
func (r *memReader) ReadsObjects() bool { return false }

// ObjectTuples reads nothing whole; see ReadsObjects.
func (r *memReader) ObjectTuples(context.Context, tuples.Object, int) ([]tuples.ObjectTuple, bool, error) {
	return nil, false, nil
}

func (e *memEngine) latestReader(now time.Time) *memReader {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.readerAt(e.oldest+tuples.Revision(len(e.versions))-1, now)
}

func (e *memEngine) Update(ctx context.Context, fn func(context.Context, store.Txn) error) (store.Committed, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return store.Committed{}, store.ErrClosed
	}
	now, _ := tuples.ClockFrom(ctx)
	r := e.latestReader(now)
	c := &kv.Commit{}
	tx := &kv.Txn{Reader: r, C: c, From: e.changesFrom}
	if err := fn(ctx, tx); err != nil {
		if errors.Is(err, store.ErrNoCommit) {
			return store.Committed{Revision: r.Revision()}, nil
		}
		return store.Committed{}, err
	}
	rev, err := e.apply(ctx, c)
	if err != nil {
		return store.Committed{}, err
	}
	return store.Committed{Revision: rev, Trimmed: c.Trimmed}, nil
}

func (e *memEngine) apply(ctx context.Context, c *kv.Commit) (tuples.Revision, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	e.mu.RLock()
	closed := e.closed
	rev := e.oldest + tuples.Revision(len(e.versions))
	e.mu.RUnlock()
	if closed {
		return 0, store.ErrClosed
	}
	// One transaction for the whole commit: memdb applies it at once.
	if err := kv.CheckConflicts(c.Changes); err != nil {
		return 0, err
	}
	txn := e.db.Txn(true)
	defer txn.Abort()
	for i, ch := range c.Changes {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		t := ch.Tuple
		row := &memRow{fwd: kv.ForwardKey(nil, &t), rev: kv.ReverseKey(nil, &t), val: tuples.AppendPayload(nil, t.Payload)}
		var err error
		if ch.Kind == tuples.ChangeWrite {
			err = txn.Insert(memTable, row)
		} else if err = txn.Delete(memTable, row); err == memdb.ErrNotFound {
			err = nil
		}
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", t, err)
		}
		if c.Progress != nil && (i+1)%10000 == 0 {
			c.Progress(i + 1)
		}
	}
	if err := applyIndex(txn, c.Index); err != nil {
		return 0, err
	}
	if err := applyCounts(txn, c.Counts); err != nil {
		return 0, err
	}
	txn.Commit()
	if c.Progress != nil {
		c.Progress(len(c.Changes))
	}
	snap := e.db.Snapshot()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.versions = append(e.versions, snap)
	for _, ch := range c.Changes {
		ch.Revision = rev
		e.log = append(e.log, ch)
	}
	if c.Schema != "" {
		e.texts = append(e.texts, store.SchemaText{Revision: rev, Text: c.Schema})
	}
	if c.TrimBefore > e.logFrom {
		i := sort.Search(len(e.log), func(i int) bool { return e.log[i].Revision >= c.TrimBefore })
		c.Trimmed = i
		// A copy, so the dropped changes can be collected.
		e.log = append([]tuples.Change(nil), e.log[i:]...)
		e.logFrom = c.TrimBefore
	}
	if drop := len(e.versions) - int(e.keep); drop > 0 {
		e.versions = append([]*memdb.MemDB(nil), e.versions[drop:]...)
		e.oldest += tuples.Revision(drop)
	}
	return rev, nil
}

// changes returns whole revisions, stopping once limit changes are
// collected, so that the last revision returned can be the next "after".
func (e *memEngine) Changes(_ context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if after+1 < e.logFrom {
		return nil, &store.TrimmedError{After: after, From: e.logFrom}
	}
	i := sort.Search(len(e.log), func(i int) bool { return e.log[i].Revision > after })
	end := len(e.log)
	if limit > 0 && i+limit < end {
		end = i + limit
		for end < len(e.log) && e.log[end].Revision == e.log[end-1].Revision {
			end++
		}
	}
	return append([]tuples.Change(nil), e.log[i:end]...), nil
}

func (e *memEngine) changesFrom(context.Context) (tuples.Revision, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.logFrom, nil
}

func (e *memEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.versions = nil
	return nil
}

// memView is a kv.View on one immutable version.
type memView struct{ db *memdb.MemDB }

func (v memView) Get(key []byte) ([]byte, bool, error) {
	raw, err := v.db.Txn(false).First(memTable, "id", key)
	if err != nil {
		return nil, false, fmt.Errorf("read: %w", err)
	}
	if raw == nil {
		return nil, false, nil
	}
	return raw.(*memRow).val, true, nil
}

func (v memView) Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	txn := v.db.Txn(false)
	reverse := prefix[0] == kv.TagReverse
	var it memdb.ResultIterator
	var err error
	switch {
	case start != nil && reverse:
		it, err = txn.LowerBound(memTable, "reverse", start)
	case start != nil:
		it, err = txn.LowerBound(memTable, "id", start)
	case reverse:
		// Constant index names: concatenating the "_prefix" suffix
		// would allocate on every scan.
		it, err = txn.Get(memTable, "reverse_prefix", prefix)
	default:
		it, err = txn.Get(memTable, "id_prefix", prefix)
	}
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	for n := 0; ; n++ {
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		raw := it.Next()
		if raw == nil {
			return nil
		}
		r := raw.(*memRow)
		k := r.fwd
		if reverse {
			k = r.rev
		}
		if !bytes.HasPrefix(k, prefix) {
			return nil
		}
		if ok, err := fn(k, r.val); err != nil || !ok {
			return err
		}
	}
}

// memLoad collects a bulk write's chunks and commits them as one memdb
// transaction: the memory store holds every tuple anyway, so there is
// nothing to gain from writing before the input is known to be valid.
type memLoad struct {
	e        *memEngine
	chunks   [][]tuples.Change
	index    []store.IndexChange
	counts   []store.CountChange
	released bool
}

// Load holds the writer lock until Commit or Abort.
func (e *memEngine) Load(context.Context) (store.Loader, error) {
	e.wmu.Lock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.wmu.Unlock()
		return nil, store.ErrClosed
	}
	return &memLoad{e: e}, nil
}

func (l *memLoad) Schema(context.Context) (store.SchemaText, error) {
	return l.e.latestReader(time.Time{}).schema, nil
}

func (l *memLoad) Add(_ context.Context, changes []tuples.Change) error {
	l.chunks = append(l.chunks, changes)
	return nil
}

func (l *memLoad) Commit(ctx context.Context, progress func(int)) (tuples.Revision, error) {
	defer l.Abort()
	// Joined once here: growing one slice chunk by chunk would copy it
	// many times.
	c := &kv.Commit{Changes: slices.Concat(l.chunks...), Progress: progress, Index: l.index, Counts: l.counts}
	l.chunks = nil
	return l.e.apply(ctx, c)
}

func (l *memLoad) Abort() {
	l.chunks, l.index, l.counts = nil, nil, nil
	if !l.released {
		l.released = true
		l.e.wmu.Unlock()
	}
}
