package tuples

import "errors"

// OpKind is what a write operation does.
type OpKind int

// Operation kinds.
const (
	// OpCreate writes a tuple and fails the batch if it already exists.
	OpCreate OpKind = iota + 1
	// OpTouch writes a tuple whether or not it exists.
	OpTouch
	// OpDelete removes a tuple; absent tuples are not an error.
	OpDelete
)

// Op is one operation of a batch.
type Op struct {
	Kind  OpKind
	Tuple Tuple
}

// Precondition must hold at the start of the batch, or nothing is written.
type Precondition struct {
	Filter Filter
	// MustMatch: at least one tuple matches; otherwise none may match.
	MustMatch bool
}

// Batch is an atomic write.
type Batch struct {
	Ops           []Op
	Preconditions []Precondition
}

// Format is a tuple file format.
type Format int

// Formats.
const (
	FormatText  Format = iota + 1 // one tuple a line, `//` comments
	FormatJSONL                   // {"object":..., "relation":..., "subject":...}
)

// ImportOptions tune Import.
type ImportOptions struct {
	Format Format
	// Name is the input's name, used in error messages (file:line).
	Name string
	// Progress, when set, is called as tuples are written, once the
	// whole input is read and checked: done of total. Calls may come from
	// goroutines other than the caller's, one at a time.
	Progress func(done, total int)
	// DryRun reads and checks the whole input as an import does, and
	// writes nothing: the result says how many tuples it holds, at the
	// latest revision.
	DryRun bool
}

// ImportResult reports what Import did.
type ImportResult struct {
	Revision Revision
	Tuples   int
}

// ChangeKind is what a change did.
type ChangeKind int

// Change kinds.
const (
	ChangeWrite ChangeKind = iota + 1
	ChangeDelete
)

// Change is one entry of the change feed.
type Change struct {
	Revision Revision
	Kind     ChangeKind
	Tuple    Tuple
}

// Errors callers can test with errors.Is.
var (
	ErrRevisionGone = errors.New("revision no longer held")
	// ErrSnapshotClosed: a snapshot was read after its Close.
	ErrSnapshotClosed = errors.New("snapshot is closed")
	// ErrChangesTrimmed: the change log no longer holds the revisions
	// asked for (see Store.TrimChanges).
	ErrChangesTrimmed = errors.New("change log trimmed")
	ErrNoSchema       = errors.New("no schema written")
	ErrExists         = errors.New("tuple already exists")
	ErrPrecondition   = errors.New("precondition failed")
	ErrLocked         = errors.New("database in use by another docket process")

	// ErrFutureRevision: a snapshot was asked at a revision above the
	// latest, such as one a client read from another, newer store.
	ErrFutureRevision = errors.New("revision not written yet")
)
