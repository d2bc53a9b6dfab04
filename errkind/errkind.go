// Package errkind is the one vocabulary of Docket's errors: the sentinel
// errors that every package wraps (test them with errors.Is), the kind of
// failure each stands for, and the table from a kind to what each
// transport reports: the command line's exit status, the gRPC (and
// Connect) code, and the HTTP status. It imports nothing of Docket, so
// every package, the server and a client can use it.
//
// An error that wraps none of the sentinels and is not a context error is
// of kind Internal.
package errkind

import (
	"context"
	"errors"
	"net/http"
)

// Sentinel errors. Packages wrap them with context
// (fmt.Errorf("...: %w", ErrX)); callers test them with errors.Is.
var (
	// ErrInvalid: the input is malformed (a tuple's syntax, a name too
	// long, an unknown operation, an empty filter where one is needed).
	ErrInvalid = errors.New("invalid input")
	// ErrUnknownName: a type, relation or permission named in a request
	// is not in the schema. A *NameError says which, with a suggestion.
	ErrUnknownName = errors.New("unknown name")
	// ErrNoSchema: the store holds no schema (at the revision asked).
	ErrNoSchema = errors.New("no schema written")
	// ErrRevisionGone: the revision is older than the store still holds.
	ErrRevisionGone = errors.New("revision no longer held")
	// ErrFutureRevision: the revision is above the latest, such as one
	// read from another, newer store.
	ErrFutureRevision = errors.New("revision not written yet")
	// ErrSnapshotClosed: a snapshot was read after its Close.
	ErrSnapshotClosed = errors.New("snapshot is closed")
	// ErrChangesTrimmed: the change log no longer holds the revisions
	// asked for.
	ErrChangesTrimmed = errors.New("change log trimmed")
	// ErrExists: a create met a tuple already stored.
	ErrExists = errors.New("tuple already exists")
	// ErrPrecondition: a write's precondition did not hold, or a schema
	// change would strand stored tuples.
	ErrPrecondition = errors.New("precondition failed")
	// ErrLocked: the database is in use by another process.
	ErrLocked = errors.New("database in use by another docket process")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store is closed")
	// ErrDepth: a walk went deeper than the depth limit.
	ErrDepth = errors.New("depth limit exceeded")
	// ErrUnavailable: a shared datastore cannot be reached (down,
	// restarting, refusing connections, or the connection broke); the
	// request may be retried once it is back.
	ErrUnavailable = errors.New("datastore unavailable")
	// ErrTimeout: a shared datastore cancelled a statement at its
	// timeout.
	ErrTimeout = errors.New("datastore statement timed out")
)

// Kind is a class of failure, named after the gRPC code it maps to.
type Kind uint8

// Kinds.
const (
	Internal Kind = iota
	InvalidArgument
	NotFound
	AlreadyExists
	FailedPrecondition
	OutOfRange
	ResourceExhausted
	Unavailable
	Canceled
	DeadlineExceeded
)

// Code is a gRPC status code; Connect's codes have the same numbers.
type Code uint32

// Exit statuses of the command line. 1 is a negative answer (a denied
// check, an invalid schema, a failed assertion), not a failure; every
// failure to answer is 2, so that scripts can tell the two apart.
const (
	ExitOK      = 0
	ExitNo      = 1
	ExitFailure = 2
	// ExitConditional: an answer that depends on condition parameters
	// the request did not give (none denied): not allowed, not denied.
	ExitConditional = 3
)

// Status is what each transport reports for a kind.
type Status struct {
	Name string // the gRPC code's name
	Exit int    // command-line exit status
	GRPC Code
	HTTP int
}

var statuses = [...]Status{
	Internal:           {"internal", ExitFailure, 13, http.StatusInternalServerError},
	InvalidArgument:    {"invalid_argument", ExitFailure, 3, http.StatusBadRequest},
	NotFound:           {"not_found", ExitFailure, 5, http.StatusNotFound},
	AlreadyExists:      {"already_exists", ExitFailure, 6, http.StatusConflict},
	FailedPrecondition: {"failed_precondition", ExitFailure, 9, http.StatusPreconditionFailed},
	OutOfRange:         {"out_of_range", ExitFailure, 11, http.StatusBadRequest},
	ResourceExhausted:  {"resource_exhausted", ExitFailure, 8, http.StatusTooManyRequests},
	Unavailable:        {"unavailable", ExitFailure, 14, http.StatusServiceUnavailable},
	Canceled:           {"canceled", ExitFailure, 1, 499},
	DeadlineExceeded:   {"deadline_exceeded", ExitFailure, 4, http.StatusGatewayTimeout},
}

// Status returns what the transports report for k.
func (k Kind) Status() Status {
	if int(k) < len(statuses) {
		return statuses[k]
	}
	return statuses[Internal]
}

func (k Kind) String() string { return k.Status().Name }

// kinds maps each sentinel to its kind, in the order Of tests them.
var kinds = []struct {
	err  error
	kind Kind
}{
	{ErrInvalid, InvalidArgument},
	{ErrUnknownName, InvalidArgument},
	{ErrNoSchema, FailedPrecondition},
	{ErrRevisionGone, FailedPrecondition},
	{ErrFutureRevision, OutOfRange},
	{ErrSnapshotClosed, FailedPrecondition},
	{ErrChangesTrimmed, FailedPrecondition},
	{ErrExists, AlreadyExists},
	{ErrPrecondition, FailedPrecondition},
	{ErrLocked, Unavailable},
	{ErrClosed, Unavailable},
	{ErrDepth, ResourceExhausted},
	{ErrUnavailable, Unavailable},
	{ErrTimeout, DeadlineExceeded},
	{context.Canceled, Canceled},
	{context.DeadlineExceeded, DeadlineExceeded},
}

// Of returns the kind of err: that of the first sentinel it wraps in the
// table's order, or Internal.
func Of(err error) Kind {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return Internal
}
