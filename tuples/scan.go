package tuples

import (
	"context"
	"iter"
)

// ObjectScanner is a read some snapshots offer beside Reads: the objects
// of one type, in order of object id, that store any of a set of
// (relation, subject) pairs, found by reading the type's tuples forward
// from a starting id. A paged lookup of resources uses it where the
// reverse reads it would merge are many and its page small: one ordered
// read that stops with the page costs less than opening every one of
// them to learn which holds the first object (a reverse read cannot know
// its first object before it is opened).
type ObjectScanner interface {
	// ScanObjects iterates, in order of object id, the objects of
	// objectType whose id is above after ("" = from the first) and that
	// store one or more of wants (a relation and a subject each), hiding
	// expired tuples as every read does: one ScanMatch per object, once
	// all its tuples are read. It reads at most about budget tuples (0 =
	// no bound), stopping between two objects: then its last ScanMatch
	// has Stopped set and the id of the last object whose tuples were
	// all read (after, when none was). ok is false when the snapshot
	// cannot scan; the caller then reads otherwise.
	ScanObjects(ctx context.Context, objectType, after string, wants []Want, budget int) (matches iter.Seq2[ScanMatch, error], ok bool)
}

// Want is one (relation, subject) pair a scan looks for.
type Want struct {
	Relation string
	Subject  Subject
}

// ScanMatch is one object a scan found: its id and the indexes in wants
// of the tuples it stores, in the order of its tuples; Scanned is how
// many tuples the scan has read so far, matching or not.
type ScanMatch struct {
	ObjectID string
	Wants    []int
	Scanned  int
	// Stopped marks the scan's end at its budget.
	Stopped bool
}
