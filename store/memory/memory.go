package tuples

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	memdb "github.com/hashicorp/go-memdb"
)

// MemoryOptions tune the in-memory store.
type MemoryOptions struct {
	// KeepRevisions is how many past revisions stay readable (default
	// 10000). Versions share structure, so each costs only what its write
	// changed.
	KeepRevisions int
}

// NewMemory returns an empty in-memory store.
func NewMemory() (Store, error) { return NewMemoryWith(MemoryOptions{}) }

// NewMemoryWith returns an empty in-memory store tuned by opts.
func NewMemoryWith(opts MemoryOptions) (Store, error) {
	if opts.KeepRevisions <= 0 {
		opts.KeepRevisions = 10000
	}
	db, err := memdb.NewMemDB(memSchema())
	if err != nil {
		return nil, fmt.Errorf("create memory store: %w", err)
	}
	e := &memEngine{db: db, keep: Revision(opts.KeepRevisions), versions: []*memdb.MemDB{db.Snapshot()}, logFrom: 1}
	return newStore(context.Background(), e)
}

// memRow is one stored tuple, indexed by its forward and reverse keys.
// Custom key indexers avoid memdb's string indexers, which cannot index
// an empty subject relation.
type memRow struct {
	fwd, rev []byte
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
	keep     Revision
	oldest   Revision
	versions []*memdb.MemDB // versions[i] is revision oldest+i
	log      []Change
	logFrom  Revision // first revision whose changes log holds (see trimBefore)
	texts    []schemaVersion
	closed   bool
}

func (e *memEngine) bounds() (Revision, Revision) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.oldest, e.oldest + Revision(len(e.versions)) - 1
}

func (e *memEngine) view(_ context.Context, rev Revision) (view, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, errClosed
	}
	if rev < e.oldest || rev >= e.oldest+Revision(len(e.versions)) {
		return nil, goneError(rev, e.oldest)
	}
	return memView{db: e.versions[rev-e.oldest]}, nil
}

func (e *memEngine) apply(ctx context.Context, c *commit) (Revision, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	e.mu.RLock()
	closed := e.closed
	rev := e.oldest + Revision(len(e.versions))
	e.mu.RUnlock()
	if closed {
		return 0, errClosed
	}
	// One transaction for the whole commit: memdb applies it at once.
	txn := e.db.Txn(true)
	defer txn.Abort()
	for i, ch := range c.changes {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		t := ch.Tuple
		row := &memRow{fwd: forwardKey(nil, &t), rev: reverseKey(nil, &t)}
		var err error
		if ch.Kind == ChangeWrite {
			err = txn.Insert(memTable, row)
		} else if err = txn.Delete(memTable, row); err == memdb.ErrNotFound {
			err = nil
		}
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", t, err)
		}
		if c.progress != nil && (i+1)%10000 == 0 {
			c.progress(i + 1)
		}
	}
	txn.Commit()
	if c.progress != nil {
		c.progress(len(c.changes))
	}
	snap := e.db.Snapshot()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.versions = append(e.versions, snap)
	for _, ch := range c.changes {
		ch.Revision = rev
		e.log = append(e.log, ch)
	}
	if c.schema != "" {
		e.texts = append(e.texts, schemaVersion{rev: rev, text: c.schema})
	}
	if c.trimBefore > e.logFrom {
		i := sort.Search(len(e.log), func(i int) bool { return e.log[i].Revision >= c.trimBefore })
		c.trimmed = i
		// A copy, so the dropped changes can be collected.
		e.log = append([]Change(nil), e.log[i:]...)
		e.logFrom = c.trimBefore
	}
	if drop := len(e.versions) - int(e.keep); drop > 0 {
		e.versions = append([]*memdb.MemDB(nil), e.versions[drop:]...)
		e.oldest += Revision(drop)
	}
	return rev, nil
}

func (e *memEngine) schemas(context.Context) ([]schemaVersion, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]schemaVersion(nil), e.texts...), nil
}

// changes returns whole revisions, stopping once limit changes are
// collected, so that the last revision returned can be the next "after".
func (e *memEngine) changes(_ context.Context, after Revision, limit int) ([]Change, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if after+1 < e.logFrom {
		return nil, trimmedError(after, e.logFrom)
	}
	i := sort.Search(len(e.log), func(i int) bool { return e.log[i].Revision > after })
	end := len(e.log)
	if limit > 0 && i+limit < end {
		end = i + limit
		for end < len(e.log) && e.log[end].Revision == e.log[end-1].Revision {
			end++
		}
	}
	return append([]Change(nil), e.log[i:end]...), nil
}

func (e *memEngine) changesFrom(context.Context) (Revision, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.logFrom, nil
}

func (e *memEngine) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.versions = nil
	return nil
}

// memView reads one immutable version. The version is a value the view
// holds, so it needs no pin: dropping it from the engine's list only lets
// the collector have it once no view refers to it.
type memView struct{ db *memdb.MemDB }

func (memView) release() {}

func (v memView) has(key []byte) (bool, error) {
	raw, err := v.db.Txn(false).First(memTable, "id", key)
	if err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	return raw != nil, nil
}

func (v memView) scan(ctx context.Context, prefix, start []byte, fn func([]byte) (bool, error)) error {
	txn := v.db.Txn(false)
	reverse := prefix[0] == tagReverse
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
		if ok, err := fn(k); err != nil || !ok {
			return err
		}
	}
}

// memLoad collects a bulk write's chunks and commits them as one memdb
// transaction: the memory store holds every tuple anyway, so there is
// nothing to gain from writing before the input is known to be valid.
type memLoad struct {
	e      *memEngine
	chunks [][]Change
}

func (e *memEngine) load(context.Context) (loader, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, errClosed
	}
	return &memLoad{e: e}, nil
}

func (l *memLoad) add(_ context.Context, changes []Change) error {
	l.chunks = append(l.chunks, changes)
	return nil
}

func (l *memLoad) commit(ctx context.Context, progress func(int)) (Revision, error) {
	// Joined once here: growing one slice chunk by chunk would copy it
	// many times.
	c := &commit{changes: slices.Concat(l.chunks...), progress: progress}
	l.chunks = nil
	return l.e.apply(ctx, c)
}

func (l *memLoad) abort() { l.chunks = nil }
