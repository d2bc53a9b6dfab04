package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Store holds tuples and the schema, versioned by revision.
type Store interface {
	// Snapshot returns a consistent read view at rev (0 = latest). A
	// revision older than the store still holds is refused with
	// ErrRevisionGone, one above the latest with ErrFutureRevision. The
	// caller must Close the snapshot; until then its revision stays
	// readable whatever is written meanwhile (see tuples.Snapshot).
	Snapshot(ctx context.Context, rev tuples.Revision) (tuples.Snapshot, error)
	// Write applies a batch atomically: all of it, or nothing.
	Write(ctx context.Context, w tuples.Batch) (tuples.Revision, error)
	// DeleteMatching deletes every tuple matching f in one revision and
	// reports how many; an empty filter is refused.
	DeleteMatching(ctx context.Context, f tuples.Filter) (tuples.Revision, int, error)
	// WriteSchema validates and stores a new schema text. It is refused
	// when stored tuples would become invalid.
	WriteSchema(ctx context.Context, filename string, text []byte) (tuples.Revision, error)
	// Import writes every tuple of r as one revision; see ImportOptions.
	// The input is read in chunks, never held whole, and nothing of it
	// is visible before all of it is read, checked and written: a bad
	// line anywhere means nothing is written, and the error lists the
	// first 20 bad lines. Tuples are touched, so running an import again
	// (after a crash, say) is harmless. Other writers wait for it.
	Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error)
	// Export streams every tuple at rev (0 = latest) in format.
	Export(ctx context.Context, w io.Writer, rev tuples.Revision, format tuples.Format) (int, error)
	// Changes returns the changes committed after rev, in order. It
	// returns whole revisions: it stops at the first revision boundary
	// once limit (0 = no limit) changes are collected, so the revision of
	// the last change is the next call's after.
	Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error)
	// TrimChanges drops the change log of every revision below before,
	// which must not be above the latest, and returns how many changes
	// were dropped. It is a write of its own: it makes a revision, with no
	// tuple changes. Afterwards Changes refuses to start before it, with
	// ErrChangesTrimmed, so a reader of the log never misses changes
	// silently. Tuples and snapshots are not affected.
	TrimChanges(ctx context.Context, before tuples.Revision) (int, error)
	Close() error
}

// Errors of the store, for errors.Is: the sentinels of package errkind.
var (
	ErrRevisionGone   = errkind.ErrRevisionGone
	ErrFutureRevision = errkind.ErrFutureRevision
	ErrSnapshotClosed = errkind.ErrSnapshotClosed
	ErrChangesTrimmed = errkind.ErrChangesTrimmed
	ErrNoSchema       = errkind.ErrNoSchema
	ErrExists         = errkind.ErrExists
	ErrPrecondition   = errkind.ErrPrecondition
	ErrLocked         = errkind.ErrLocked
	ErrClosed         = errkind.ErrClosed
)

// Errors of opening and writing a database's files, for errors.Is.
var (
	// ErrReadOnly: a write to a store opened read-only.
	ErrReadOnly = errors.New("database open read-only")
	// ErrNoDatabase: a read-only open of a path that holds no database.
	ErrNoDatabase = errors.New("no database")
	// ErrNotWritable: the database's directory or files cannot be
	// written (a read-only filesystem, or permissions); it can be opened
	// read-only.
	ErrNotWritable = errors.New("database not writable")
	// ErrTooManyFiles: the process may not open more files.
	ErrTooManyFiles = errors.New("too many open files")
	// ErrNoSpace: the disk holding the database is full.
	ErrNoSpace = errors.New("no space left on device")
	// ErrNotClosedCleanly: a read-only open of a database that a
	// process did not close; a writable open recovers it.
	ErrNotClosedCleanly = errors.New("database not closed cleanly")
	// ErrDamaged: the database's files fail their checks.
	ErrDamaged = errors.New("database damaged")
)

// Options tune the shared store logic.
type Options struct {
	// ImportChunk is the most tuples Import checks and hands to the
	// backend at a time (default 262144); the input is never held whole.
	ImportChunk int
	// IndexBound is the most groups above one group that the membership
	// index records (default DefaultIndexBound); a group with more is
	// left to the checker's walk.
	IndexBound int
	// IndexRecompute is the most rows of the index one write recomputes
	// (default DefaultIndexRecompute); a write that needs more drops the
	// relation's index until it is built again.
	IndexRecompute int
	// Now is the clock snapshots and writes judge expiry by when the
	// request sets none (tuples.WithClock); time.Now when nil.
	Now func() time.Time
	// MemIndex says whether snapshots read the membership index from
	// memory (see memindex.go); off by default, for a backend other
	// processes write too.
	MemIndex MemIndexMode
	// MemIndexLimit is the most tuples the index in memory holds
	// (default DefaultMemIndexLimit).
	MemIndexLimit int
}

// DefaultImportChunk is Options.ImportChunk's default.
const DefaultImportChunk = 1 << 18

// New returns the Store over b. Closing the store closes b.
func New(b Backend, opts Options) Store {
	if opts.ImportChunk <= 0 {
		opts.ImportChunk = DefaultImportChunk
	}
	if opts.IndexBound <= 0 {
		opts.IndexBound = DefaultIndexBound
	}
	if opts.IndexRecompute <= 0 {
		opts.IndexRecompute = DefaultIndexRecompute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &store{b: b, importChunk: opts.ImportChunk, now: opts.Now,
		compiled: make(map[tuples.Revision]*schema.Schema), index: indexLimits{bound: opts.IndexBound, recompute: opts.IndexRecompute}}
	if opts.MemIndex != MemIndexOff {
		s.mem = newMemIndex(b, opts.MemIndex, opts.MemIndexLimit, opts.Now, func(ctx context.Context, r Reader) (*schema.Schema, error) {
			return s.schemaOf(ctx, r)
		})
	}
	return s
}

// store is the backend-independent half of a Store.
type store struct {
	b           Backend
	importChunk int
	index       indexLimits
	now         func() time.Time
	mem         *memIndex // nil: snapshots read the backend's index

	// compiled caches the schemas read from the backend, by the revision
	// that wrote them: a stored schema never changes, so compiling it
	// once is safe, while which one is in force is always the backend's
	// answer.
	mu       sync.Mutex
	compiled map[tuples.Revision]*schema.Schema
}

// compile returns the compiled form of a stored schema text, nil for none.
func (s *store) compile(st SchemaText) (*schema.Schema, error) {
	if st.Text == "" {
		return nil, nil
	}
	s.mu.Lock()
	c := s.compiled[st.Revision]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := schema.Load(fmt.Sprintf("schema@%d", st.Revision), []byte(st.Text))
	if err != nil {
		return nil, fmt.Errorf("stored schema at revision %d does not compile (corrupt store?): %w", st.Revision, err)
	}
	s.mu.Lock()
	s.compiled[st.Revision] = c
	s.mu.Unlock()
	return c, nil
}

// schemaOf returns the compiled schema in force for r.
func (s *store) schemaOf(ctx context.Context, r interface {
	Schema(context.Context) (SchemaText, error)
}) (*schema.Schema, error) {
	st, err := r.Schema(ctx)
	if err != nil {
		return nil, err
	}
	return s.compile(st)
}

// snapshot is a backend reader with the schema in force at its revision.
type snapshot struct {
	Reader
	schema *schema.Schema
	now    time.Time
}

func (s *snapshot) Schema() *schema.Schema { return s.schema }

// Now is the clock the snapshot hides expired tuples by.
func (s *snapshot) Now() time.Time { return s.now }

// ScanObjects answers from the backend where it can scan
// (tuples.ObjectScanner); ok is false where it cannot.
func (s *snapshot) ScanObjects(ctx context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	if sc, ok := s.Reader.(tuples.ObjectScanner); ok {
		return sc.ScanObjects(ctx, objectType, after, wants, budget)
	}
	return nil, false
}

// ReadsObjects reports whether the backend reads objects whole
// (tuples.ObjectReader).
func (s *snapshot) ReadsObjects() bool {
	or, ok := s.Reader.(tuples.ObjectReader)
	return ok && or.ReadsObjects()
}

// ObjectTuples answers from the backend where it reads an object whole
// (tuples.ObjectReader); complete is false where it cannot.
func (s *snapshot) ObjectTuples(ctx context.Context, obj tuples.Object, max int) ([]tuples.ObjectTuple, bool, error) {
	if or, ok := s.Reader.(tuples.ObjectReader); ok {
		return or.ObjectTuples(ctx, obj, max)
	}
	return nil, false, nil
}

// Get returns one stored tuple with its payload.
func (s *snapshot) Get(ctx context.Context, k tuples.Key) (tuples.Tuple, bool, error) {
	return tuples.Get(ctx, s.Reader, k)
}

// clocked returns ctx with the clock of the request: the one it carries
// (tuples.WithClock), else the store's current time, read once here so
// that every read of one snapshot or write judges expiry alike.
func (s *store) clocked(ctx context.Context) (context.Context, time.Time) {
	if now, ok := tuples.ClockFrom(ctx); ok {
		return ctx, now
	}
	now := s.now()
	return tuples.WithClock(ctx, now), now
}

func (s *store) Snapshot(ctx context.Context, rev tuples.Revision) (tuples.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, now := s.clocked(ctx)
	r, err := s.b.Reader(ctx, rev)
	if err != nil {
		return nil, err
	}
	text, err := r.Schema(ctx)
	if err != nil {
		r.Close()
		return nil, err
	}
	sch, err := s.compile(text)
	if err != nil {
		r.Close()
		return nil, err
	}
	mv := s.mem.view(ctx, r, sch, text.Revision)
	ix, ok := r.(tuples.GroupIndex)
	if ok || mv != nil {
		nc, _ := r.(tuples.NestingCounter)
		return &indexedSnapshot{snapshot: snapshot{Reader: r, schema: sch, now: now}, ix: ix, nc: nc, mem: mv, bound: s.index.bound}, nil
	}
	return &snapshot{Reader: r, schema: sch, now: now}, nil
}

// writable returns the schema a write validates against; it fails with
// ErrNoSchema when no schema was written yet.
func (s *store) writable(ctx context.Context, r interface {
	Schema(context.Context) (SchemaText, error)
}) (*schema.Schema, error) {
	sch, err := s.schemaOf(ctx, r)
	if err != nil {
		return nil, err
	}
	if sch == nil {
		return nil, fmt.Errorf("write a schema before writing tuples: %w", ErrNoSchema)
	}
	return sch, nil
}

func (s *store) Write(ctx context.Context, b tuples.Batch) (tuples.Revision, error) {
	ctx, _ = s.clocked(ctx)
	c, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
		sch, err := s.writable(ctx, tx)
		if err != nil {
			return err
		}
		changes, err := plan(ctx, tx, sch, b)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			// Nothing would change: no empty revision to fill the window
			// of readable revisions and the change log.
			return ErrNoCommit
		}
		tx.Write(changes)
		return maintainIndex(ctx, s.index, tx, sch, changes)
	})
	return c.Revision, err
}

// plan validates a batch, checks its preconditions against cur and turns
// its operations into the changes to store. Several operations on one
// tuple apply in order; only the net effect is stored.
func plan(ctx context.Context, cur tuples.Reads, sch *schema.Schema, b tuples.Batch) ([]tuples.Change, error) {
	var errs []error
	for i, op := range b.Ops {
		if op.Kind < tuples.OpCreate || op.Kind > tuples.OpDelete {
			errs = append(errs, fmt.Errorf("operation %d: unknown kind %d", i+1, op.Kind))
			continue
		}
		if err := tuples.Validate(op.Tuple, sch); err != nil {
			errs = append(errs, fmt.Errorf("operation %d: %w", i+1, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing written: %w", errors.Join(errs...))
	}
	for _, p := range b.Preconditions {
		ts, _, err := cur.Read(ctx, p.Filter, "", 1)
		if err != nil {
			return nil, err
		}
		if p.MustMatch && len(ts) == 0 {
			return nil, fmt.Errorf("nothing written: no tuple matches %s: %w", p.Filter, ErrPrecondition)
		}
		if !p.MustMatch && len(ts) > 0 {
			return nil, fmt.Errorf("nothing written: %s matches %s: %w", ts[0], p.Filter, ErrPrecondition)
		}
	}
	// present tracks each touched tuple's state as the batch goes on;
	// initial is the tuple stored before the batch (absent, or expired at
	// the write's clock, when its key is not in had); last is the tuple
	// the last operation on a key wrote, and wroteAt the operation.
	present := make(map[tuples.Key]bool, len(b.Ops))
	had := make(map[tuples.Key]bool, len(b.Ops))
	initial := make(map[tuples.Key]tuples.Tuple, len(b.Ops))
	last := make(map[tuples.Key]tuples.Tuple, len(b.Ops))
	wroteAt := make(map[tuples.Key]int, len(b.Ops))
	order := make([]tuples.Key, 0, len(b.Ops))
	for i, op := range b.Ops {
		t, k := op.Tuple, op.Tuple.Key()
		was, seen := present[k]
		if !seen {
			stored, ok, err := tuples.Get(ctx, cur, k)
			if err != nil {
				return nil, err
			}
			was = ok
			had[k], initial[k] = ok, stored
			order = append(order, k)
		}
		if op.Kind != tuples.OpDelete {
			if j, ok := wroteAt[k]; ok && !last[k].Payload.Equal(t.Payload) {
				return nil, fmt.Errorf("nothing written: operations %d and %d write %s with different conditions or expiries (%s and %s); write each tuple once: %w",
					j+1, i+1, k, describePayload(last[k].Payload), describePayload(t.Payload), errkind.ErrInvalid)
			}
			last[k], wroteAt[k] = t, i
		}
		switch op.Kind {
		case tuples.OpCreate:
			if was {
				return nil, fmt.Errorf("nothing written: %s: %w", t, ErrExists)
			}
			present[k] = true
		case tuples.OpTouch:
			present[k] = true
		case tuples.OpDelete:
			present[k] = false
		}
	}
	changes := make([]tuples.Change, 0, len(order))
	for _, k := range order {
		switch {
		case present[k] && had[k] && initial[k].Payload.Equal(last[k].Payload):
			// Stored before and after, carrying the same: nothing
			// changes, and nothing is logged, so a batch of such touches
			// makes no revision.
		case present[k]:
			// New, or replacing what the tuple carried.
			changes = append(changes, tuples.Change{Kind: tuples.ChangeWrite, Tuple: last[k]})
		case had[k]:
			changes = append(changes, tuples.Change{Kind: tuples.ChangeDelete, Tuple: k.Tuple()})
		}
	}
	return changes, nil
}

// describePayload names what a tuple carries, for messages.
func describePayload(p tuples.Payload) string {
	if p.IsZero() {
		return "none"
	}
	return p.String()
}

func (s *store) DeleteMatching(ctx context.Context, f tuples.Filter) (tuples.Revision, int, error) {
	if f == (tuples.Filter{}) {
		return 0, 0, errors.New("delete matching: the filter is empty and would delete every tuple; set at least one field")
	}
	var n int
	c, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
		sch, err := s.writable(ctx, tx)
		if err != nil {
			return err
		}
		var changes []tuples.Change
		cursor := ""
		for {
			ts, next, err := tx.Read(ctx, f, cursor, 10000)
			if err != nil {
				return err
			}
			for _, t := range ts {
				changes = append(changes, tuples.Change{Kind: tuples.ChangeDelete, Tuple: t})
			}
			if next == "" {
				break
			}
			cursor = next
		}
		n = len(changes)
		if n == 0 {
			return ErrNoCommit
		}
		tx.Write(changes)
		return maintainIndex(ctx, s.index, tx, sch, changes)
	})
	if err != nil {
		return 0, 0, err
	}
	return c.Revision, n, nil
}

func (s *store) Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	return s.b.Changes(ctx, after, limit)
}

// TrimmedError refuses a read of the change log after After that would
// start before From, the first revision the log still holds
// (ErrChangesTrimmed). Backends return it from Changes.
type TrimmedError struct{ After, From tuples.Revision }

func (e *TrimmedError) Error() string {
	return fmt.Sprintf("changes after revision %d: the log starts at revision %d: %v", e.After, e.From, ErrChangesTrimmed)
}

func (e *TrimmedError) Unwrap() error { return ErrChangesTrimmed }

// GoneError refuses a reader at rev below oldest, the oldest revision
// held. Backends return it from Reader.
func GoneError(rev, oldest tuples.Revision) error {
	return fmt.Errorf("revision %d no longer held; oldest is %d: %w", rev, oldest, ErrRevisionGone)
}

// FutureError refuses a reader at rev above latest. Backends return it
// from Reader.
func FutureError(rev, latest tuples.Revision) error {
	return fmt.Errorf("revision %d is not written yet; the latest is %d: %w", rev, latest, ErrFutureRevision)
}

func (s *store) TrimChanges(ctx context.Context, before tuples.Revision) (int, error) {
	c, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
		if latest := tx.Revision(); before > latest {
			return fmt.Errorf("trim the change log before revision %d; the latest is %d: %w", before, latest, ErrFutureRevision)
		}
		from, err := tx.ChangesFrom(ctx)
		if err != nil {
			return err
		}
		if before <= from {
			return ErrNoCommit
		}
		tx.TrimChanges(before)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrFutureRevision) {
			return 0, err
		}
		return 0, fmt.Errorf("trim the change log before revision %d: %w", before, err)
	}
	return c.Trimmed, nil
}

func (s *store) Close() error {
	s.mem.close()
	return s.b.Close()
}

// ChangeSignal forwards the backend's, if it has one (see ChangeNotifier).
func (s *store) ChangeSignal() <-chan struct{} {
	if n, ok := s.b.(ChangeNotifier); ok {
		return n.ChangeSignal()
	}
	return nil
}
