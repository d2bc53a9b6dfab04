package store

import (
	"context"
	"errors"

	"github.com/docketdb/docket/tuples"
)

// Backend is what a storage engine implements for a Store: tuples and
// schema texts at revisions, read through pinned readers and written
// through transactions. Everything a Store needs to know is read from the
// backend, never kept in the process: the latest revision, the schema in
// force at a revision, the change log. Several processes (replicas on a
// shared database) may therefore use one backend, as long as the backend
// makes each Update a serializable transaction.
//
// The shared logic above it (New) validates tuples against the schema,
// plans batches (preconditions, ErrExists, the net effect of several
// operations on one tuple) and checks schema changes, inside the
// backend's transaction, so a backend only stores and reads. Package
// store/storetest holds the suite every backend must pass.
type Backend interface {
	// Head returns the oldest revision a new reader may open and the
	// latest committed one.
	Head(ctx context.Context) (oldest, latest tuples.Revision, err error)
	// Reader opens a reader at rev (0 = the latest) and pins rev until
	// the reader is closed: every version the reader reads stays, however
	// many revisions are written meanwhile. A rev below the oldest held
	// fails with ErrRevisionGone, one above the latest with
	// ErrFutureRevision; the check and the pin are one step.
	Reader(ctx context.Context, rev tuples.Revision) (Reader, error)
	// Update runs fn in a write transaction and commits what fn staged
	// as one revision, one more than the latest: all of it visible at
	// once, or none of it. fn reads the latest revision through tx, and
	// no other write commits between those reads and the commit. An error
	// from fn aborts the transaction and is returned; ErrNoCommit ends it
	// without a revision, and Update then returns the latest revision and
	// a nil error.
	Update(ctx context.Context, fn func(ctx context.Context, tx Txn) error) (Committed, error)
	// Load starts a bulk write of the next revision whose changes, all
	// writes, arrive in chunks, so that an import need not hold its whole
	// input. It holds off other writers until Commit or Abort. Nothing of
	// it is visible before Commit, and Abort (or a crash) leaves nothing
	// behind.
	Load(ctx context.Context) (Loader, error)
	// Changes returns the changes committed after rev, in order, in whole
	// revisions: it stops at the first revision boundary once limit (0 =
	// no limit) changes are collected. A log trimmed past after+1 fails
	// with ErrChangesTrimmed.
	Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error)
	Close() error
}

// Reader reads a backend at one revision. Its tuple reads are those of
// tuples.Snapshot, whose lifetime rules it follows: Close unpins it.
type Reader interface {
	tuples.Reads
	Revision() tuples.Revision
	// Schema returns the schema text in force at the reader's revision
	// and the revision that wrote it; the zero SchemaText when none was.
	Schema(ctx context.Context) (SchemaText, error)
	Close() error
}

// SchemaText is a schema's canonical text as stored at a revision.
type SchemaText struct {
	Revision tuples.Revision
	Text     string
}

// Txn is a write transaction. Its reads see the latest revision, the one
// the write builds on; what it stages is committed as the next revision
// when Update's function returns nil.
type Txn interface {
	Reader
	// Write stages tuple changes, at most one per tuple, already planned
	// and validated, each with its payload (condition, context, expiry),
	// which the backend stores with the tuple and hides once expired at a
	// reader's clock. The slice is the backend's from then on.
	Write(changes []tuples.Change)
	// SetSchema stages a new canonical schema text.
	SetSchema(text string)
	// TrimChanges stages dropping the change log of every revision below
	// before; Committed.Trimmed reports how many changes it dropped.
	TrimChanges(before tuples.Revision)
	// ChangesFrom returns the first revision whose changes the log still
	// holds: 1 until the log is trimmed.
	ChangesFrom(ctx context.Context) (tuples.Revision, error)
}

// Committed reports a committed transaction.
type Committed struct {
	Revision tuples.Revision
	// Trimmed counts the changes a staged TrimChanges dropped.
	Trimmed int
}

// ErrNoCommit, returned by Update's function, ends the transaction
// without a revision and without an error.
var ErrNoCommit = errors.New("nothing to commit")

// Loader is a bulk write in progress; see Backend.Load.
type Loader interface {
	// Schema returns the schema in force at the latest revision, which
	// the load builds on.
	Schema(ctx context.Context) (SchemaText, error)
	// Add takes a chunk of validated writes; the loader keeps the slice.
	Add(ctx context.Context, changes []tuples.Change) error
	// Commit writes everything added as one revision and publishes it;
	// progress, when set, is told how many changes are written so far.
	Commit(ctx context.Context, progress func(done int)) (tuples.Revision, error)
	// Abort discards what was added and lets other writers in. It is
	// harmless after Commit.
	Abort()
}

// ChangeNotifier is implemented by a backend that hears of commits made
// by other processes sharing its database, and by the Store over any
// backend. ChangeSignal returns a channel closed when a write commits
// after the call, or nil when the backend cannot tell (a nil channel
// never fires, so a watcher then relies on polling Changes). It is only
// a wake-up: Changes stays the record of what was written.
type ChangeNotifier interface {
	ChangeSignal() <-chan struct{}
}
