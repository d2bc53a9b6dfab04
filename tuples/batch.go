package tuples

import "github.com/docketdb/docket/errkind"

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

// The errors of reading and writing tuples, for callers to test with
// errors.Is. They are package errkind's sentinels, the one list of
// Docket's errors, under the names the vocabulary's users know.
var (
	ErrRevisionGone   = errkind.ErrRevisionGone
	ErrSnapshotClosed = errkind.ErrSnapshotClosed
	ErrChangesTrimmed = errkind.ErrChangesTrimmed
	ErrNoSchema       = errkind.ErrNoSchema
	ErrExists         = errkind.ErrExists
	ErrPrecondition   = errkind.ErrPrecondition
	ErrLocked         = errkind.ErrLocked
	ErrFutureRevision = errkind.ErrFutureRevision
)
