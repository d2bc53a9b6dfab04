package kv

import (
	"context"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// Commit is one write as a key-value backend applies it: what a Txn
// staged, or a bulk load's changes.
type Commit struct {
	Changes []tuples.Change // Revision is filled in when read back
	// Schema is the canonical schema text to store, "" for none.
	Schema string
	// TrimBefore, when set, drops the change log of every revision below
	// it, in the same revision.
	TrimBefore tuples.Revision
	// Trimmed is set by the backend: how many changes the trim dropped.
	Trimmed int
	// Progress, when set, is told how many changes are written so far.
	Progress func(done int)
	// Index holds the membership index's changes, in the same revision.
	Index []store.IndexChange
	// Counts holds the counts' changes of nesting relations, in the same
	// revision.
	Counts []store.CountChange
}

// Txn is the store.Txn of a key-value backend: the reads of the latest
// revision, and the Commit it stages.
type Txn struct {
	store.Reader
	C *Commit
	// From answers ChangesFrom.
	From func(ctx context.Context) (tuples.Revision, error)
}

// Write stages changes.
func (t *Txn) Write(changes []tuples.Change) {
	if t.C.Changes == nil {
		t.C.Changes = changes
		return
	}
	t.C.Changes = append(t.C.Changes, changes...)
}

// SetSchema stages a schema text.
func (t *Txn) SetSchema(text string) { t.C.Schema = text }

// TrimChanges stages a trim of the change log.
func (t *Txn) TrimChanges(before tuples.Revision) { t.C.TrimBefore = before }

// ChangesFrom returns the first revision the change log holds.
func (t *Txn) ChangesFrom(ctx context.Context) (tuples.Revision, error) { return t.From(ctx) }

// Get returns one tuple of the latest revision with its payload.
func (t *Txn) Get(ctx context.Context, k tuples.Key) (tuples.Tuple, bool, error) {
	return tuples.Get(ctx, t.Reader, k)
}
