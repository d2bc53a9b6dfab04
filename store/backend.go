package tuples

import (
	"context"
	"errors"
)

// engine is what a backend provides to the shared store logic in
// store_core.go: versioned reads and atomic commits of planned changes.
// The shared layer serialises writers, validates, plans and keeps the
// compiled schemas; an engine only stores.
type engine interface {
	// bounds returns the oldest revision still readable and the latest
	// committed one.
	bounds() (oldest, latest Revision)
	// view opens a read view at rev and pins it: until the view is
	// released, the backend keeps every version rev reads, however many
	// revisions are written meanwhile. A rev below the oldest revision
	// still held is refused with ErrRevisionGone; the check and the pin
	// are one step, so no write can drop rev in between.
	view(ctx context.Context, rev Revision) (view, error)
	// apply commits changes (and a schema text when set) as revision
	// latest+1, all of it visible at once or none of it. It is called by
	// one writer at a time.
	apply(ctx context.Context, c *commit) (Revision, error)
	// schemas returns every stored schema text with its revision, oldest
	// first, to rebuild the schema history when a store opens.
	schemas(ctx context.Context) ([]schemaVersion, error)
	// changes returns committed changes after rev, at most limit, or
	// ErrChangesTrimmed when the log no longer starts early enough.
	changes(ctx context.Context, after Revision, limit int) ([]Change, error)
	// changesFrom returns the first revision whose changes the log still
	// holds: 1 until the log is trimmed.
	changesFrom(ctx context.Context) (Revision, error)
	// load starts a bulk write of revision latest+1 whose changes, all
	// writes, arrive in chunks, so that an import need not hold its whole
	// input. Nothing of it is visible before commit, and abort (or a
	// crash) leaves nothing behind. It is used by one writer at a time.
	load(ctx context.Context) (loader, error)
	close() error
}

// loader is a bulk write in progress; see engine.load.
type loader interface {
	// add takes a chunk of validated writes; the loader keeps the slice.
	add(ctx context.Context, changes []Change) error
	// commit writes everything added as one revision and publishes it;
	// progress, when set, is told how many changes are written so far.
	commit(ctx context.Context, progress func(done int)) (Revision, error)
	// abort discards what was added. It is harmless after commit.
	abort()
}

// view is a backend's read view at one revision, in terms of keys (see
// keys.go); snapshot.go builds the Snapshot methods on it.
type view interface {
	// has reports whether key is stored.
	has(key []byte) (bool, error)
	// scan calls fn with each stored key that starts with prefix, in
	// order, beginning at the first key >= start (start nil: at prefix),
	// until fn returns false or an error. The key is valid only during
	// the call.
	scan(ctx context.Context, prefix, start []byte, fn func(key []byte) (bool, error)) error
	// release unpins the view; it is called once, by Snapshot.Close.
	release()
}

// commit is one planned write.
type commit struct {
	changes []Change // Revision is filled in by the engine
	// schema is the canonical schema text to store, "" for none.
	schema string
	// trimBefore, when set, drops the change log of every revision below
	// it, in the same revision; Changes then refuses to start earlier.
	trimBefore Revision
	// trimmed is set by the engine: how many changes the trim dropped.
	trimmed int
	// progress, when set, is told how many changes are written so far.
	progress func(done int)
}

var errClosed = errors.New("store is closed")
