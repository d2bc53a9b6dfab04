package tuples

import "context"

// ObjectReader is a read some snapshots offer beside Reads: every tuple
// stored on one object, whatever its relation, in one read. Where the
// tuples of one object lie together (the forward keys of the key-value
// backends), reading them at once costs about one scan, where a check
// that asks about several relations of the object would otherwise make a
// point read or a scan for each.
type ObjectReader interface {
	// ReadsObjects reports whether ObjectTuples reads objects whole;
	// false where it never does (a wrapper over a snapshot that cannot),
	// so that a caller need not ask about each object.
	ReadsObjects() bool
	// ObjectTuples returns the tuples stored on obj, ordered as the
	// forward keys are (relation, then subject type, id and relation,
	// bytewise), with their payloads, hiding expired tuples as every read
	// does. When obj stores more than max tuples, or the snapshot cannot
	// read an object whole, complete is false and nothing is returned:
	// the caller reads relation by relation.
	ObjectTuples(ctx context.Context, obj Object, max int) (ts []ObjectTuple, complete bool, err error)
}

// ObjectTuple is one tuple of an ObjectTuples read, without its object.
// Payload is nil for a plain tuple (most are), which keeps the tuples of
// one object in little memory.
type ObjectTuple struct {
	Relation string
	Subject  Subject
	Payload  *Payload
}
