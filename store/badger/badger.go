package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// Options tune the persistent store.
type Options struct {
	// KeepRevisions is how many past revisions stay readable (default
	// 1000); older versions are left to Badger's compaction to reclaim.
	KeepRevisions int
	// Logf, when set, receives Badger's warnings and errors; by default
	// they are dropped, and failures surface as returned errors instead.
	Logf func(format string, args ...any)
	// SyncWrites makes every commit wait for fsync.
	SyncWrites bool
	// BlockCacheMB sizes Badger's block cache (default 1024: sized for a
	// machine with a few cores and tens of GiB of memory).
	BlockCacheMB int
	// ReadOnly opens an existing database without writing anything to
	// its directory (read-only media, a filesystem snapshot, files owned
	// by another user): writes are refused, and other read-only opens may
	// share it. A database not closed cleanly cannot be opened so until a
	// writable open has recovered it.
	ReadOnly bool

	// noChecksums turns off the checks of checksums and tinyBlockCache
	// all but disables the block cache, for the benchmarks that measure what they cost.
	noChecksums, tinyBlockCache bool
	// manifestSlack, when positive, replaces defaultManifestSlack (tests).
	manifestSlack int
}

// Key layout besides the tuple keys of keys.go. Fixed-width big-endian
// revisions keep change-log and schema keys in revision order.
//
//	m 0 format                    format marker, written on creation
//	m 0 latest                    latest committed revision, oldest held
//	m 0 changes                   first revision the change log holds
//	                              (absent: 1; see TrimChanges)
//	s 0 <rev:8>                   schema text stored at rev
//	c 0 <rev:8> <seq:4>           change log, see changeChunks
var (
	keyFormat    = []byte("m\x00format")
	keyLatest    = []byte("m\x00latest")
	keyLogFrom   = []byte("m\x00changes")
	prefixSchema = []byte("s\x00")
	prefixChange = []byte("c\x00")
)

const formatMarker = "docket-tuples/1"

// atomicLimit is the largest commit written in one Badger transaction;
// larger ones go through a WriteBatch at the new revision and are
// published by advancing the latest-revision marker last.
const atomicLimit = 10000

// Open opens (creating when absent or empty) the store at path.
func Open(path string, opts Options) (store.Store, error) {
	b, err := OpenBackend(path, opts)
	if err != nil {
		return nil, err
	}
	return store.New(b, store.Options{MemIndex: store.MemIndexBackground}), nil
}

// OpenBackend opens (creating when absent or empty) the database at path
// as a store.Backend, for store.New.
func OpenBackend(path string, opts Options) (store.Backend, error) {
	return openEngine(path, opts)
}

// engine is the Badger store.Backend. One process holds a database (Badger
// locks its directory), so the latest revision is kept in memory as well
// as in m/latest, and writers are serialised by wmu.
type engine struct {
	db   *badger.DB
	path string
	keep tuples.Revision
	// streamMin: bulk writes of this many tuples are stream-loaded into a
	// store that holds tuples (streamIntoFull; lowered in tests).
	streamMin int
	// loadHold and spillFanIn tune bulk loads (loadHold, spillFanIn;
	// lowered in tests), see badger_load.go.
	loadHold, spillFanIn int
	// beforePublish, when set, runs when a bulk load has written its
	// tables and not yet published them: where tests crash it.
	beforePublish func()

	// wmu serialises writers: an Update plans against the latest
	// revision, and nothing commits in between.
	wmu sync.Mutex

	readOnly bool
	// statfs, when set, stands for the free space of the disk (tests).
	statfs func() int64

	mu     sync.RWMutex
	latest tuples.Revision
	oldest tuples.Revision
	// pins counts the open snapshots at each revision. Badger in managed
	// mode drops, at compaction, every version below the discard
	// timestamp but the newest, whatever transactions are open: the
	// discard timestamp is kept at or below the lowest pinned revision
	// (see discardTs), as bbolt keeps the pages an open transaction reads.
	pins map[tuples.Revision]int
	// broken is set when a failed bulk write could not be undone; writes
	// are refused until the database is reopened, which undoes it.
	broken error

	// schema is the schema text in force from its revision on, so that a
	// reader at or above that revision need not seek for it (a seek and a
	// copy on every request of a server). It is filled on open and after
	// each schema write, and schemaOK is false from the start of a schema
	// write until it is published: readers then seek, as they do below
	// the cached revision.
	schemaMu sync.Mutex
	schema   store.SchemaText
	schemaOK bool
}

// checkDir refuses paths that cannot hold a Docket database. It reports
// whether the directory already holds a Badger database.
func checkDir(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open database at %s: %w", path, err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is a file, not a Docket database directory; give the path of a directory (it is created when absent)", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return false, fmt.Errorf("open database at %s: %w", path, err)
	}
	if len(entries) == 0 {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(path, "MANIFEST")); err == nil {
		return true, nil
	}
	return false, fmt.Errorf("%s is not a Docket database: it holds other files (such as %s); use an empty or new directory", path, entries[0].Name())
}

func openEngine(path string, opts Options) (*engine, error) {
	existed, err := checkDir(path)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly && !existed {
		return nil, because(store.ErrNoDatabase, "no database at %s to open read-only", path)
	}
	if opts.KeepRevisions <= 0 {
		opts.KeepRevisions = 1000
	}
	if opts.BlockCacheMB <= 0 {
		opts.BlockCacheMB = 1024
	}
	bo := badger.DefaultOptions(path).
		WithLogger(badgerLogger{logf: opts.Logf}).
		WithSyncWrites(opts.SyncWrites).
		WithDetectConflicts(false). // writers are serialised by the store
		WithBlockCacheSize(int64(opts.BlockCacheMB) << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false)
	// Tables of one size (Badger's default level-1 size) at every
	// level, where Badger's default doubles it at each level: a stream
	// load builds its tables at the deepest level, 64 MB each by default,
	// and holds many of them in memory at once; at 2 MB a 10m import
	// peaked at 1.7 GB instead of 4.3 GB, and ran faster.
	bo.TableSizeMultiplier = 1
	// Each process that writes leaves its memtable as one more level-0
	// table when it closes, and a short process exits before background
	// compaction merges them: after a thousand single-tuple writes a
	// thousand tables, each opened (and checked) on every start, with a
	// file descriptor each. Merging level 0 down on close keeps the
	// count bounded by the data, not by the number of processes.
	bo = bo.WithCompactL0OnClose(!opts.ReadOnly).WithReadOnly(opts.ReadOnly)
	// Blocks are checked again as they are read; see badger_verify.go
	// for why every table is checked before Badger opens them.
	if !opts.noChecksums {
		bo = bo.WithChecksumVerificationMode(options.OnBlockRead)
	}
	if opts.tinyBlockCache {
		// Badger needs a cache for compressed tables; one this small
		// misses on nearly every read of a large store.
		bo = bo.WithBlockCacheSize(256 << 10)
	}
	if existed {
		man, ok, err := readManifest(path)
		var de *DamageError
		switch {
		case errors.As(err, &de):
			return nil, de
		case err != nil:
			return nil, openError(path, true, err)
		}
		if ok && !opts.noChecksums {
			found, err := checkTables(path, man.Manifest, checkBlocks)
			if err != nil {
				return nil, openError(path, true, err)
			}
			if err := damageErr(found); err != nil {
				return nil, err
			}
		}
		if ok && !opts.ReadOnly {
			slack := defaultManifestSlack
			if opts.manifestSlack > 0 {
				slack = opts.manifestSlack
			}
			if err := prepareWritable(path, man, slack); errors.As(err, &de) {
				return nil, err
			} else if err != nil {
				return nil, openError(path, false, err)
			}
		}
	}
	db, err := badger.OpenManaged(bo)
	if err != nil && strings.Contains(err.Error(), z.NewFile.Error()) {
		// A process killed while creating a memtable or value-log file
		// leaves it empty; Badger refuses such a file once, after sizing
		// it, and opens it as empty the next time. It held no data.
		db, err = badger.OpenManaged(bo)
	}
	if err != nil {
		return nil, openError(path, opts.ReadOnly, err)
	}
	e := &engine{db: db, path: path, keep: tuples.Revision(opts.KeepRevisions), readOnly: opts.ReadOnly,
		streamMin: streamIntoFull, loadHold: loadHold, spillFanIn: spillFanIn,
		pins: make(map[tuples.Revision]int)}
	if err := e.init(existed); err != nil {
		db.Close()
		return nil, err
	}
	// The sorted runs of an import the process did not live to finish;
	// the database lock, now held, says no other process is using them.
	// Leaving them only wastes disk space until the next import, which
	// clears them too, so a failure here does not stop the open.
	if !opts.ReadOnly {
		_ = os.RemoveAll(filepath.Join(path, spillDirName))
	}
	return e, nil
}

// init checks the format marker (writing it on a new database), loads the
// latest revision and undoes what an interrupted bulk write left behind.
func (e *engine) init(existed bool) error {
	txn := e.db.NewTransactionAt(math.MaxUint64, false)
	item, err := txn.Get(keyFormat)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		if e.readOnly {
			return fmt.Errorf("%s is not a Docket database: it has no Docket format marker", e.path)
		}
		if existed && !e.empty() {
			return fmt.Errorf("%s is not a Docket database: it is a Badger database without the Docket format marker", e.path)
		}
		w := e.db.NewTransactionAt(0, true)
		if err := w.Set(keyFormat, []byte(formatMarker)); err != nil {
			return fmt.Errorf("create database at %s: %w", e.path, err)
		}
		if err := w.CommitAt(1, nil); err != nil {
			return fmt.Errorf("create database at %s: %w", e.path, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read database at %s: %w", e.path, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return fmt.Errorf("read database at %s: %w", e.path, err)
	}
	if string(v) != formatMarker {
		return fmt.Errorf("database at %s has format %q; this docket reads %q", e.path, v, formatMarker)
	}
	if item, err = txn.Get(keyLatest); err == nil {
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read database at %s: %w", e.path, err)
		}
		if len(v) != 16 {
			return fmt.Errorf("database at %s is damaged: bad revision marker", e.path)
		}
		e.latest = tuples.Revision(binary.BigEndian.Uint64(v))
		e.oldest = tuples.Revision(binary.BigEndian.Uint64(v[8:]))
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("read database at %s: %w", e.path, err)
	}
	e.oldest = max(e.oldest, e.window(e.latest))
	e.db.SetDiscardTs(uint64(e.oldest))
	// Read-only, what an interrupted bulk write left above the latest
	// revision stays there, unseen: every read is at or below it.
	if e.db.MaxVersion() > uint64(e.latest) && !e.readOnly {
		if err := e.rollback(); err != nil {
			return fmt.Errorf("recover database at %s: %w", e.path, err)
		}
	}
	// A bare view: the open holds no pins to release.
	st, err := (&reader{v: &view{e: e, txn: e.db.NewTransactionAt(uint64(e.latest), false)}}).seekSchema()
	if err != nil {
		return err
	}
	e.schema, e.schemaOK = st, true
	return nil
}

func (e *engine) empty() bool {
	txn := e.db.NewTransactionAt(math.MaxUint64, false)
	it := txn.NewIterator(badger.IteratorOptions{AllVersions: true})
	defer it.Close()
	it.Rewind()
	return !it.Valid()
}

// window is the oldest revision kept readable when latest is the newest.
func (e *engine) window(latest tuples.Revision) tuples.Revision {
	if latest < e.keep {
		return 0
	}
	return latest - e.keep + 1
}

// rollback hides what a bulk write interrupted before it advanced the
// latest marker left at versions above it: each such version of a key is
// overwritten, at the same version, with the key's state at the latest
// revision. The next write reuses that revision number and overwrites the
// key again where it needs to.
func (e *engine) rollback() error {
	latest := uint64(e.latest)
	txn := e.db.NewTransactionAt(math.MaxUint64, false)
	it := txn.NewIterator(badger.IteratorOptions{AllVersions: true})
	defer it.Close()
	wb := e.db.NewManagedWriteBatch()
	defer wb.Cancel()
	var key []byte
	var orphans []uint64
	// flush overwrites the orphan versions of key with its state at
	// latest: live with value (a tuple's payload, a relation's counts),
	// or deleted.
	flush := func(live bool, value []byte) error {
		for _, v := range orphans {
			var err error
			if live {
				err = wb.SetEntryAt(badger.NewEntry(key, value), v)
			} else {
				err = wb.DeleteAt(key, v)
			}
			if err != nil {
				return err
			}
		}
		orphans = orphans[:0]
		return nil
	}
	resolved := true
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if !resolved && string(item.Key()) != string(key) {
			if err := flush(false, nil); err != nil {
				return err
			}
			resolved = true
		}
		if item.Key()[0] == 'm' {
			continue
		}
		if item.Version() > latest {
			if resolved || string(item.Key()) != string(key) {
				key = item.KeyCopy(nil)
			}
			orphans = append(orphans, item.Version())
			resolved = false
			continue
		}
		if !resolved { // the newest version at or below latest decides
			live := !item.IsDeletedOrExpired()
			var value []byte
			if live && item.ValueSize() > 0 {
				var err error
				if value, err = item.ValueCopy(nil); err != nil {
					return err
				}
			}
			if err := flush(live, value); err != nil {
				return err
			}
			resolved = true
		}
	}
	if !resolved {
		if err := flush(false, nil); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// writable refuses writes to a store opened read-only or broken by a
// failed write.
func (e *engine) writable() error {
	if e.readOnly {
		return because(store.ErrReadOnly, "database at %s is open read-only: nothing was written", e.path)
	}
	if e.broken != nil {
		return fmt.Errorf("database at %s must be reopened after a failed write: %w", e.path, e.broken)
	}
	return nil
}

func (e *engine) bounds() (tuples.Revision, tuples.Revision) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.oldest, e.latest
}

func (e *engine) Head(context.Context) (oldest, latest tuples.Revision, err error) {
	if e.db.IsClosed() {
		return 0, 0, store.ErrClosed
	}
	oldest, latest = e.bounds()
	return oldest, latest, nil
}

func (e *engine) Reader(ctx context.Context, rev tuples.Revision) (store.Reader, error) {
	if e.db.IsClosed() {
		return nil, store.ErrClosed
	}
	e.mu.Lock()
	if rev == 0 {
		rev = e.latest
	}
	switch {
	case rev > e.latest:
		latest := e.latest
		e.mu.Unlock()
		return nil, store.FutureError(rev, latest)
	case rev < e.oldest:
		oldest := e.oldest
		e.mu.Unlock()
		return nil, store.GoneError(rev, oldest)
	}
	e.pins[rev]++
	e.mu.Unlock()
	now, _ := tuples.ClockFrom(ctx)
	return e.reader(rev, now), nil
}

// reader reads at rev, which the caller has pinned, hiding the tuples
// expired at now.
func (e *engine) reader(rev tuples.Revision, now time.Time) *reader {
	v := &view{e: e, txn: e.db.NewTransactionAt(uint64(rev), false)}
	// The read transaction is left to the collector: in managed mode
	// discarding it only marks it, and would panic under a scan still
	// open. Its pooled iterators are closed with the snapshot, before the
	// pin goes: they hold references on the tables they read.
	return &reader{Reader: kv.NewReader(v, rev, now, func() { v.close(); e.unpin(rev) }), v: v}
}

// reader is a store.Reader: the key-value reads, and the schema.
type reader struct {
	*kv.Reader
	v *view
}

// Schema reads the newest schema text at or below the reader's revision:
// schema keys are written at their own revision, so a read at rev sees
// only those up to rev, and the last in key order is the one in force.
func (r *reader) Schema(context.Context) (store.SchemaText, error) {
	e := r.v.e
	if e.db.IsClosed() {
		return store.SchemaText{}, store.ErrClosed
	}
	e.schemaMu.Lock()
	st, ok := e.schema, e.schemaOK
	e.schemaMu.Unlock()
	if ok && r.Revision() >= st.Revision {
		return st, nil
	}
	return r.seekSchema()
}

// seekSchema reads the schema in force at the reader's revision from the
// database.
func (r *reader) seekSchema() (store.SchemaText, error) {
	it := r.v.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefixSchema, Reverse: true})
	defer it.Close()
	// In reverse, Seek goes to the last key at or before its argument.
	it.Seek(append(append([]byte(nil), prefixSchema...), 0xff))
	if !it.Valid() {
		return store.SchemaText{}, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefixSchema)+8 {
		return store.SchemaText{}, fmt.Errorf("database at %s is damaged: bad schema key %q", r.v.e.path, k)
	}
	v, err := it.Item().ValueCopy(nil)
	if err != nil {
		return store.SchemaText{}, fmt.Errorf("read schema: %w", err)
	}
	return store.SchemaText{Revision: tuples.Revision(binary.BigEndian.Uint64(k[len(prefixSchema):])), Text: string(v)}, nil
}

// latestReader pins and opens a reader at the latest revision, for a
// writer holding wmu: nothing can commit under it.
func (e *engine) latestReader(now time.Time) *reader {
	e.mu.Lock()
	rev := e.latest
	e.pins[rev]++
	e.mu.Unlock()
	return e.reader(rev, now)
}

func (e *engine) Update(ctx context.Context, fn func(context.Context, store.Txn) error) (store.Committed, error) {
	if e.db.IsClosed() {
		return store.Committed{}, store.ErrClosed
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	now, _ := tuples.ClockFrom(ctx)
	r := e.latestReader(now)
	defer r.Close()
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

// unpin releases one snapshot's pin on rev and lets compaction reclaim
// what no open snapshot reads any more.
func (e *engine) unpin(rev tuples.Revision) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pins[rev]--; e.pins[rev] <= 0 {
		delete(e.pins, rev)
	}
	e.db.SetDiscardTs(e.discardTs())
}

// discardTs is the timestamp at and below which compaction may keep only
// a key's newest version: the oldest revision new snapshots may open, or
// the lowest pinned revision when that is lower. Called with e.mu held.
func (e *engine) discardTs() uint64 {
	d := e.oldest
	for r := range e.pins {
		d = min(d, r)
	}
	return uint64(d)
}

func revKey(prefix []byte, rev tuples.Revision, extra int) []byte {
	k := make([]byte, len(prefix)+8, len(prefix)+8+extra)
	copy(k, prefix)
	binary.BigEndian.PutUint64(k[len(prefix):], uint64(rev))
	return k
}

// arena hands out key buffers from large blocks: Badger keeps the keys of
// a pending write, so each needs its own memory, but not its own
// allocation.
type arena struct{ block []byte }

// alloc returns an empty buffer with room for n bytes.
func (a *arena) alloc(n int) []byte {
	if cap(a.block)-len(a.block) < n {
		a.block = make([]byte, 0, max(n, 1<<20))
	}
	b := a.block[len(a.block) : len(a.block) : len(a.block)+n]
	a.block = a.block[:len(a.block)+n]
	return b
}

// put is the subset of Txn and WriteBatch that apply needs.
type put interface {
	set(k, v []byte) error
	del(k []byte) error
}

type txnPut struct{ *badger.Txn }

func (t txnPut) set(k, v []byte) error { return t.Set(k, v) }
func (t txnPut) del(k []byte) error    { return t.Delete(k) }

type batchPut struct{ *badger.WriteBatch }

func (b batchPut) set(k, v []byte) error { return b.Set(k, v) }
func (b batchPut) del(k []byte) error    { return b.Delete(k) }

func (e *engine) apply(ctx context.Context, c *kv.Commit) (tuples.Revision, error) {
	if e.db.IsClosed() {
		return 0, store.ErrClosed
	}
	if err := e.writable(); err != nil {
		return 0, err
	}
	// Room for the commit, and for merging level 0 down on close.
	if err := e.ensureSpace(commitBytes(c) + e.lowLevelsBytes()); err != nil {
		return 0, err
	}
	if c.Schema != "" {
		e.schemaMu.Lock()
		e.schemaOK = false
		e.schemaMu.Unlock()
	}
	bulk := len(c.Changes)+len(c.Index) > atomicLimit
	rev, err := e.write(ctx, c, bulk)
	err = spaceError(e.path, err)
	if !bulk && errors.Is(err, badger.ErrTxnTooBig) {
		bulk = true
		rev, err = e.write(ctx, c, true)
	}
	if err != nil && bulk {
		// Part of the entries may be in; the next write would reuse
		// their revision number and publish them.
		if rerr := e.rollback(); rerr != nil {
			e.broken = rerr
			return 0, fmt.Errorf("%w; undoing it failed too (reopen the database to recover): %v", err, rerr)
		}
	}
	if err == nil && c.Schema != "" {
		e.schemaMu.Lock()
		e.schema, e.schemaOK = store.SchemaText{Revision: rev, Text: c.Schema}, true
		e.schemaMu.Unlock()
	}
	return rev, err
}

// write commits c as the next revision: in one transaction, or in bulk
// through a WriteBatch whose entries stay invisible until the marker that
// publishes the revision is committed after them.
func (e *engine) write(ctx context.Context, c *kv.Commit, bulk bool) (tuples.Revision, error) {
	rev := e.latest + 1
	var p put
	var txn *badger.Txn
	var wb *badger.WriteBatch
	streamed := false
	if bulk && e.streamable(c) {
		if err := e.stream(ctx, rev, c); err != nil {
			return 0, err
		}
		streamed = true
		txn = e.db.NewTransactionAt(uint64(e.latest), true)
		defer txn.Discard()
	} else if bulk {
		wb = e.db.NewWriteBatchAt(uint64(rev))
		defer wb.Cancel()
		p = batchPut{wb}
	} else {
		txn = e.db.NewTransactionAt(uint64(e.latest), true)
		defer txn.Discard()
		p = txnPut{txn}
	}
	if !streamed {
		if err := e.put(ctx, p, rev, c); err != nil {
			return 0, err
		}
	} else if err := e.putIndexAt(ctx, rev, c.Index, c.Counts); err != nil {
		return 0, err
	}
	if bulk && !streamed {
		if err := wb.Flush(); err != nil {
			return 0, fmt.Errorf("write revision %d: %w", rev, err)
		}
		// Everything is flushed; publishing the marker makes it visible.
		txn = e.db.NewTransactionAt(uint64(e.latest), true)
		defer txn.Discard()
	}
	if err := e.publish(txn, rev); err != nil {
		return 0, err
	}
	if c.Progress != nil {
		c.Progress(len(c.Changes))
	}
	return rev, nil
}

// publish commits txn, with the latest-revision marker set to rev, at
// rev: the moment everything written at rev becomes visible.
func (e *engine) publish(txn *badger.Txn, rev tuples.Revision) error {
	oldest := max(e.oldest, e.window(rev))
	marker := make([]byte, 16)
	binary.BigEndian.PutUint64(marker, uint64(rev))
	binary.BigEndian.PutUint64(marker[8:], uint64(oldest))
	if err := txn.Set(keyLatest, marker); err != nil {
		return fmt.Errorf("write revision %d: %w", rev, err)
	}
	if err := txn.CommitAt(uint64(rev), nil); err != nil {
		return fmt.Errorf("write revision %d: %w", rev, err)
	}
	e.mu.Lock()
	e.latest, e.oldest = rev, oldest
	e.db.SetDiscardTs(e.discardTs())
	e.mu.Unlock()
	return nil
}

// put writes a commit's tuple keys, change log and schema through p.
func (e *engine) put(ctx context.Context, p put, rev tuples.Revision, c *kv.Commit) error {
	var a arena
	if err := kv.CheckConflicts(c.Changes); err != nil {
		return err
	}
	if c.Schema != "" {
		if err := p.set(revKey(prefixSchema, rev, 0), []byte(c.Schema)); err != nil {
			return fmt.Errorf("write schema: %w", err)
		}
	}
	for i := range c.Changes {
		if i%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if c.Progress != nil && i > 0 {
				c.Progress(i)
			}
		}
		t := &c.Changes[i].Tuple
		fk := kv.ForwardKey(a.alloc(kv.KeyLen(t)), t)
		rk := kv.ReverseKey(a.alloc(kv.KeyLen(t)), t)
		var err error
		if c.Changes[i].Kind == tuples.ChangeWrite {
			v := kv.Value(t)
			if err = p.set(fk, v); err == nil {
				err = p.set(rk, v)
			}
		} else if err = p.del(fk); err == nil {
			err = p.del(rk)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", *t, err)
		}
	}
	if err := putIndex(ctx, p, c.Index); err != nil {
		return err
	}
	if err := putCounts(p, c.Counts); err != nil {
		return err
	}
	for _, chunk := range changeChunks(c.Changes, rev) {
		if err := p.set(chunk.key, chunk.value); err != nil {
			return fmt.Errorf("write change log: %w", err)
		}
	}
	if c.TrimBefore > 0 {
		return e.trim(ctx, p, c)
	}
	return nil
}

// trim deletes the change-log entries of revisions below c.TrimBefore and
// records where the log now starts, all at the commit's revision, so a
// crash before it is published leaves the log whole.
func (e *engine) trim(ctx context.Context, p put, c *kv.Commit) error {
	txn := e.db.NewTransactionAt(uint64(e.latest), false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefixChange})
	defer it.Close()
	end := revKey(prefixChange, c.TrimBefore, 0)
	// A retry in bulk after a transaction grew too big counts afresh.
	c.Trimmed = 0
	var scratch []tuples.Change
	for it.Rewind(); it.Valid() && bytes.Compare(it.Item().Key(), end) < 0; it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Item().KeyCopy(nil)
		err := it.Item().Value(func(v []byte) error {
			var err error
			scratch, err = decodeChanges(0, v, scratch[:0])
			return err
		})
		if err != nil {
			return fmt.Errorf("read change log entry %q: %w", k, err)
		}
		c.Trimmed += len(scratch)
		if err := p.del(k); err != nil {
			return fmt.Errorf("trim change log: %w", err)
		}
	}
	return p.set(keyLogFrom, binary.BigEndian.AppendUint64(nil, uint64(c.TrimBefore)))
}

// changesFrom reads where the change log starts at the latest revision.
func (e *engine) changesFrom(context.Context) (tuples.Revision, error) {
	_, latest := e.bounds()
	txn := e.db.NewTransactionAt(uint64(latest), false)
	defer txn.Discard()
	return logFrom(txn)
}

func logFrom(txn *badger.Txn) (tuples.Revision, error) {
	item, err := txn.Get(keyLogFrom)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read where the change log starts: %w", err)
	}
	var from tuples.Revision
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("bad change-log start %x", v)
		}
		from = tuples.Revision(binary.BigEndian.Uint64(v))
		return nil
	})
	return from, err
}

// changesPerEntry is how many changes one change-log entry holds: the log
// costs a small fraction of the tuple keys even for a large import.
const changesPerEntry = 512

type changeChunk struct{ key, value []byte }

// changeChunks encodes the change log of a revision: entries
// c 0 <rev:8> <seq:4>, each a run of (kind byte, uvarint length, forward
// key), and, when the kind has logPayload set, (uvarint length, the
// tuple's payload) after it.
func changeChunks(changes []tuples.Change, rev tuples.Revision) iter.Seq2[int, changeChunk] {
	return func(yield func(int, changeChunk) bool) {
		var buf [512]byte
		for seq := 0; seq*changesPerEntry < len(changes); seq++ {
			part := changes[seq*changesPerEntry : min(len(changes), (seq+1)*changesPerEntry)]
			key := changeKey(rev, uint32(seq))
			if !yield(seq, changeChunk{key: key, value: appendChanges(nil, part, &buf)}) {
				return
			}
		}
	}
}

func changeKey(rev tuples.Revision, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(revKey(prefixChange, rev, 4), seq)
}

// appendChanges appends the change-log value of changes to v; buf is
// scratch space for the keys.
func appendChanges(v []byte, changes []tuples.Change, buf *[512]byte) []byte {
	for i := range changes {
		t := &changes[i].Tuple
		fk := kv.ForwardKey(buf[:0], t)
		kind := byte(changes[i].Kind)
		if !t.Payload.IsZero() {
			kind |= logPayload
		}
		v = append(v, kind)
		v = binary.AppendUvarint(v, uint64(len(fk)))
		v = append(v, fk...)
		if kind&logPayload != 0 {
			v = binary.AppendUvarint(v, uint64(tuples.PayloadLen(t.Payload)))
			v = tuples.AppendPayload(v, t.Payload)
		}
	}
	return v
}

// logPayload marks a change-log record that carries the tuple's payload.
const logPayload = 0x80

func decodeChanges(rev tuples.Revision, v []byte, out []tuples.Change) ([]tuples.Change, error) {
	for len(v) > 0 {
		kind := tuples.ChangeKind(v[0] &^ logPayload)
		withPayload := v[0]&logPayload != 0
		n, w := binary.Uvarint(v[1:])
		if w <= 0 || uint64(len(v)-1-w) < n || (kind != tuples.ChangeWrite && kind != tuples.ChangeDelete) {
			return nil, errors.New("malformed change-log entry")
		}
		t, err := kv.DecodeKey(v[1+w : 1+w+int(n)])
		if err != nil {
			return nil, err
		}
		v = v[1+w+int(n):]
		if withPayload {
			n, w := binary.Uvarint(v)
			if w <= 0 || uint64(len(v)-w) < n {
				return nil, errors.New("malformed change-log entry")
			}
			if t.Payload, err = tuples.DecodePayload(v[w : w+int(n)]); err != nil {
				return nil, err
			}
			v = v[w+int(n):]
		}
		out = append(out, tuples.Change{Revision: rev, Kind: kind, Tuple: t})
	}
	return out, nil
}

// changes returns whole revisions, stopping once limit changes are
// collected, so that the last revision returned can be the next "after".
func (e *engine) Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	_, latest := e.bounds()
	txn := e.db.NewTransactionAt(uint64(latest), false)
	defer txn.Discard()
	from, err := logFrom(txn)
	if err != nil {
		return nil, err
	}
	if after+1 < from {
		return nil, &store.TrimmedError{After: after, From: from}
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefixChange})
	defer it.Close()
	var out []tuples.Change
	for it.Seek(revKey(prefixChange, after+1, 0)); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := it.Item().Key()
		if len(k) != len(prefixChange)+12 {
			return nil, fmt.Errorf("read changes: bad change-log key %q", k)
		}
		rev := tuples.Revision(binary.BigEndian.Uint64(k[len(prefixChange):]))
		if limit > 0 && len(out) >= limit && out[len(out)-1].Revision != rev {
			break
		}
		err := it.Item().Value(func(v []byte) error {
			var err error
			out, err = decodeChanges(rev, v, out)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read changes at revision %d: %w", rev, err)
		}
	}
	return out, nil
}

func (e *engine) Close() error {
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("close database at %s: %w", e.path, err)
	}
	return nil
}

// view is a kv.View on a Badger read transaction.
//
// Opening a Badger iterator is the dear part of a short scan: it takes a
// reference on every memtable and table it may read and builds a merge
// iterator over them. A check or a lookup makes many short scans of one
// snapshot, so the view keeps the iterators of finished scans, one free
// list per key tag, and each scan seeks one of them to its own range. An
// iterator serves one scan at a time; scans running at once (a batch of
// checks, a lookup's merged reverse reads, a scan nested in another's
// callback) each take their own.
type view struct {
	e   *engine
	txn *badger.Txn

	mu     sync.Mutex
	closed bool
	free   map[byte][]*badger.Iterator
}

// maxFreeIterators bounds the iterators a view keeps per tag: enough for
// the scans a request runs at once, few enough that a snapshot does not
// hold many merge iterators' worth of memory.
const maxFreeIterators = 8

func (v *view) Get(key []byte) ([]byte, bool, error) {
	if v.e.db.IsClosed() {
		return nil, false, store.ErrClosed
	}
	item, err := v.txn.Get(key)
	if err == nil {
		if item.ValueSize() == 0 { // a plain tuple: nothing to copy
			return nil, true, nil
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return nil, false, fmt.Errorf("read: %w", err)
		}
		return val, true, nil
	}
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read: %w", err)
}

// iterator returns a free iterator over the keys that start with tag, or
// a new one. It fails once the view is closed.
func (v *view) iterator(tag byte) (*badger.Iterator, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, fmt.Errorf("scan: %w", tuples.ErrSnapshotClosed)
	}
	if l := v.free[tag]; len(l) > 0 {
		it := l[len(l)-1]
		v.free[tag] = l[:len(l)-1]
		return it, nil
	}
	// The prefix is the tag alone: the iterator skips the tables that
	// hold no key of the tag and still serves every range within it.
	return v.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte{tag}}), nil
}

// done takes back an iterator whose scan has finished: kept for the next
// scan, or closed when the view is closed or its free list is full.
func (v *view) done(tag byte, it *badger.Iterator) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || len(v.free[tag]) >= maxFreeIterators {
		v.closeIterator(it)
		return
	}
	if v.free == nil {
		v.free = make(map[byte][]*badger.Iterator)
	}
	v.free[tag] = append(v.free[tag], it)
}

// close closes the free iterators; those of scans still running are
// closed as their scans end, and no scan starts from then on.
func (v *view) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	for tag, l := range v.free {
		for _, it := range l {
			v.closeIterator(it)
		}
		delete(v.free, tag)
	}
}

// closeIterator closes it unless the database is closed: the tables it
// references are unmapped then, and closing would touch them.
func (v *view) closeIterator(it *badger.Iterator) {
	if !v.e.db.IsClosed() {
		it.Close()
	}
}

func (v *view) Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	if v.e.db.IsClosed() {
		return store.ErrClosed
	}
	if len(prefix) == 0 {
		return errors.New("scan: empty prefix") // every key layout starts with a tag
	}
	tag := prefix[0]
	it, err := v.iterator(tag)
	if err != nil {
		return err
	}
	defer v.done(tag, it)
	if start == nil {
		start = prefix
	}
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		if !bytes.HasPrefix(item.Key(), prefix) {
			return nil
		}
		var ok bool
		var err error
		if item.ValueSize() == 0 {
			ok, err = fn(item.Key(), nil)
		} else if verr := item.Value(func(b []byte) error {
			// Payloads are small and stored inline: this reads no value
			// log, and plain tuples never get here.
			ok, err = fn(item.Key(), b)
			return nil
		}); verr != nil {
			return fmt.Errorf("read: %w", verr)
		}
		if err != nil || !ok {
			return err
		}
	}
	return nil
}

// badgerLogger routes Badger's log to Logf, dropping info and debug
// chatter.
type badgerLogger struct{ logf func(string, ...any) }

func (l badgerLogger) Errorf(f string, a ...any) {
	if l.logf != nil {
		l.logf("badger: error: "+f, a...)
	}
}

func (l badgerLogger) Warningf(f string, a ...any) {
	if l.logf != nil {
		l.logf("badger: warning: "+f, a...)
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
