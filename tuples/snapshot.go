package tuples

import (
	"context"
	"iter"

	"github.com/docketdb/docket/schema"
)

// Revision numbers a committed write. Revisions grow by one with every
// successful write; 0 means "the latest".
type Revision uint64

// Snapshot is a read view at one revision, with the schema in force there.
// Reads never see part of a write. The checker, expansion and lookups read
// tuples only through it; the store (package store) opens snapshots, and
// Overlay lays contextual tuples over one.
//
// Lifetime: a snapshot pins its revision from the store's Snapshot until
// Close.
// While it is open, the store keeps every version the snapshot reads, so
// each read answers as of its revision even after the revision has left
// the window of revisions new snapshots may open (KeepRevisions) and the
// backend has compacted. Close releases the pin, at once, so a snapshot
// should live for one request or command, not for a process; every
// snapshot must be closed, and reads after Close fail with
// ErrSnapshotClosed. Close is idempotent. A snapshot is safe for
// concurrent reads.
type Snapshot interface {
	Reads
	Revision() Revision
	// Schema is the schema at this revision; nil when none was written.
	Schema() *schema.Schema
	// Close releases the snapshot's pin on its revision.
	Close() error
}

// Reads are the tuple reads of a snapshot.
type Reads interface {
	// Has reports whether object#relation@subject is stored exactly. The
	// checker's hot path.
	Has(ctx context.Context, obj Object, relation string, subj Subject) (bool, error)
	// Subjects iterates the subjects stored in object#relation, all of
	// them or narrowed by the filter.
	Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error]
	// Reverse iterates the objects of objectType that store subj in
	// relation, in order of object id (byte order): the pairs
	// lookup-resources walks backwards, and merges by id to stop a page
	// once it is full.
	Reverse(ctx context.Context, subj Subject, objectType, relation string) iter.Seq2[Object, error]
	// Read returns tuples matching f, at most limit (0 = no limit),
	// starting after cursor ("" = from the start); next is "" at the end.
	Read(ctx context.Context, f Filter, cursor string, limit int) (ts []Tuple, next string, err error)

	// The set-at-a-time reads answer for many objects or subjects in one
	// call, where the checker fans out (the members of every team on an
	// access list, the parents of a folder): against a networked
	// database each is one round trip instead of one per object. A
	// snapshot with no cheaper way implements them with LoopHasAny,
	// LoopSubjectsOf and LoopObjectsOf.

	// HasAny reports whether any object of objs stores any subject of
	// subjs in relation: is the subject in any of these sets.
	HasAny(ctx context.Context, objs []Object, relation string, subjs []Subject) (bool, error)
	// SubjectsOf iterates the subjects stored in relation on each object
	// of objs, narrowed by f, as tuples, object by object in the order of
	// objs: the subjects of these objects.
	SubjectsOf(ctx context.Context, objs []Object, relation string, f SubjectFilter) iter.Seq2[Tuple, error]
	// ObjectsOf iterates, for each subject of subjs, the objects of
	// objectType that store it in relation, as tuples, subject by subject
	// in the order of subjs: the objects of these subjects.
	ObjectsOf(ctx context.Context, subjs []Subject, objectType, relation string) iter.Seq2[Tuple, error]
}

// OneAtATime is the part of Reads that reads one object or subject.
type OneAtATime interface {
	Has(ctx context.Context, obj Object, relation string, subj Subject) (bool, error)
	Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error]
	Reverse(ctx context.Context, subj Subject, objectType, relation string) iter.Seq2[Object, error]
}

// LoopHasAny implements HasAny with one Has of r per pair.
func LoopHasAny(ctx context.Context, r OneAtATime, objs []Object, relation string, subjs []Subject) (bool, error) {
	for _, o := range objs {
		for _, s := range subjs {
			ok, err := r.Has(ctx, o, relation, s)
			if err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// LoopSubjectsOf implements SubjectsOf with one Subjects of r per object.
func LoopSubjectsOf(ctx context.Context, r OneAtATime, objs []Object, relation string, f SubjectFilter) iter.Seq2[Tuple, error] {
	return func(yield func(Tuple, error) bool) {
		for _, o := range objs {
			for s, err := range r.Subjects(ctx, o, relation, f) {
				if err != nil {
					yield(Tuple{}, err)
					return
				}
				if !yield(New(o, relation, s), nil) {
					return
				}
			}
		}
	}
}

// LoopObjectsOf implements ObjectsOf with one Reverse of r per subject.
func LoopObjectsOf(ctx context.Context, r OneAtATime, subjs []Subject, objectType, relation string) iter.Seq2[Tuple, error] {
	return func(yield func(Tuple, error) bool) {
		for _, s := range subjs {
			for o, err := range r.Reverse(ctx, s, objectType, relation) {
				if err != nil {
					yield(Tuple{}, err)
					return
				}
				if !yield(New(o, relation, s), nil) {
					return
				}
			}
		}
	}
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

// String describes a filter for messages.
func (f Filter) String() string {
	field := func(v string) string {
		if v == "" {
			return "*"
		}
		return v
	}
	s := field(f.ObjectType) + ":" + field(f.ObjectID) + "#" + field(f.Relation) + "@" + field(f.SubjectType) + ":" + field(f.SubjectID)
	if f.SubjectRelation != "" {
		s += "#" + f.SubjectRelation
	}
	return "filter " + s
}
