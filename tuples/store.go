package tuples

import (
	"context"
	"io"
	"iter"

	"github.com/docketdb/docket/schema"
)

// Revision numbers a committed write. Revisions grow by one with every
// successful write; 0 means "the latest".
type Revision uint64

// Store holds tuples and the schema, versioned by revision. Both backends
// (Badger, the persistent default, and go-memdb, in memory) implement it.
type Store interface {
	// Snapshot returns a consistent read view at rev (0 = latest). A
	// revision older than the store still holds is refused with
	// ErrRevisionGone, one above the latest with ErrFutureRevision. The
	// caller must Close the snapshot; until then its revision stays
	// readable whatever is written meanwhile.
	Snapshot(ctx context.Context, rev Revision) (Snapshot, error)
	// Write applies a batch atomically: all of it, or nothing.
	Write(ctx context.Context, w Batch) (Revision, error)
	// DeleteMatching deletes every tuple matching f in one revision and
	// reports how many; an empty filter is refused.
	DeleteMatching(ctx context.Context, f Filter) (Revision, int, error)
	// WriteSchema validates and stores a new schema text. It is refused
	// when stored tuples would become invalid.
	WriteSchema(ctx context.Context, filename string, text []byte) (Revision, error)
	// Import writes every tuple of r as one revision; see ImportOptions.
	// The input is read in chunks, never held whole, and nothing of it
	// is visible before all of it is read, checked and written: a bad
	// line anywhere means nothing is written, and the error lists the
	// first 20 bad lines. Tuples are touched, so running an import again
	// (after a crash, say) is harmless. Other writers wait for it.
	Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error)
	// Export streams every tuple at rev (0 = latest) in format.
	Export(ctx context.Context, w io.Writer, rev Revision, format Format) (int, error)
	// Changes returns the changes committed after rev, in order. It
	// returns whole revisions: it stops at the first revision boundary
	// once limit (0 = no limit) changes are collected, so the revision of
	// the last change is the next call's after.
	Changes(ctx context.Context, after Revision, limit int) ([]Change, error)
	// TrimChanges drops the change log of every revision below before,
	// which must not be above the latest, and returns how many changes
	// were dropped. It is a write of its own: it makes a revision, with no
	// tuple changes. Afterwards Changes refuses to start before it, with
	// ErrChangesTrimmed, so a reader of the log never misses changes
	// silently. Tuples and snapshots are not affected.
	TrimChanges(ctx context.Context, before Revision) (int, error)
	Close() error
}

// Snapshot is a read view at one revision. Reads never see part of a write.
//
// Lifetime: a snapshot pins its revision from Store.Snapshot until Close.
// While it is open, the store keeps every version the snapshot reads, so
// each read answers as of its revision even after the revision has left
// the window of revisions new snapshots may open (KeepRevisions) and the
// backend has compacted. Close releases the pin, at once, so a snapshot
// should live for one request or command, not for a process; every
// snapshot must be closed, and reads after Close fail with
// ErrSnapshotClosed. Close is idempotent. A snapshot is safe for
// concurrent reads.
type Snapshot interface {
	Revision() Revision
	// Schema is the schema at this revision; nil when none was written.
	Schema() *schema.Schema

	// Has reports whether object#relation@subject is stored exactly. The
	// checker's hot path.
	Has(ctx context.Context, obj Object, relation string, subj Subject) (bool, error)
	// Subjects iterates the subjects stored in object#relation, all of
	// them or narrowed by the filter.
	Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error]
	// Reverse iterates the objects of objectType that store subj in
	// relation: the pairs lookup-resources walks backwards.
	Reverse(ctx context.Context, subj Subject, objectType, relation string) iter.Seq2[Object, error]
	// Read returns tuples matching f, at most limit (0 = no limit),
	// starting after cursor ("" = from the start); next is "" at the end.
	Read(ctx context.Context, f Filter, cursor string, limit int) (ts []Tuple, next string, err error)
	// Close releases the snapshot's pin on its revision.
	Close() error
}

// SubjectFilter narrows Subjects: to one subject type, and to plain
// subjects (objects and wildcards) or to subject sets of one relation.
type SubjectFilter struct {
	Type string // "" = any
	// Sets: only subject sets; Relation then narrows to one relation.
	Sets     bool
	Relation string
	// Plain: only objects and wildcards.
	Plain bool
}

// Filter selects tuples; empty fields match anything.
type Filter struct {
	ObjectType, ObjectID, Relation          string
	SubjectType, SubjectID, SubjectRelation string
}
