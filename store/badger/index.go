package badger

import (
	"context"
	"fmt"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// The membership index's entries are keys without values (store/kv's
// index.go), written at the revision of the tuples they derive from, in
// the same transaction or, for a bulk write, at the same version before
// the revision is published: so they are rolled back with the tuples
// after a crash, and read at a snapshot's revision with them.

// putIndex writes index changes through p.
func putIndex(ctx context.Context, p put, changes []store.IndexChange) error {
	var a arena
	for i := range changes {
		if i%8192 == 8191 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := &changes[i]
		k := kv.IndexKey(a.alloc(indexKeyLen(c)), c)
		var err error
		if c.Delete {
			err = p.del(k)
		} else {
			err = p.set(k, nil)
		}
		if err != nil {
			return fmt.Errorf("write the membership index: %w", err)
		}
	}
	return nil
}

func indexKeyLen(c *store.IndexChange) int {
	return 8 + len(c.Type) + len(c.Relation) + len(c.Group) + len(c.Above)
}

// putIndexAt writes index and count changes at rev through a
// WriteBatch, after a stream load at rev and before its publication.
func (e *engine) putIndexAt(ctx context.Context, rev tuples.Revision, changes []store.IndexChange, counts []store.CountChange) error {
	if len(changes) == 0 && len(counts) == 0 {
		return nil
	}
	wb := e.db.NewWriteBatchAt(uint64(rev))
	defer wb.Cancel()
	if err := putIndex(ctx, batchPut{wb}, changes); err != nil {
		return err
	}
	if err := putCounts(batchPut{wb}, counts); err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write the membership index: %w", err)
	}
	return nil
}

// Base reads the revision the load builds on; the load holds the writer
// lock, so nothing commits under it.
func (l *load) Base(context.Context) (store.Reader, error) { return l.e.latestReader(time.Time{}), nil }

// WriteGroupIndex takes the load's index changes.
func (l *load) WriteGroupIndex(changes []store.IndexChange) {
	l.index = append(l.index, changes...)
}

// putCounts writes the counts' changes of nesting relations through p:
// a key of their own tag each, with the counts as its value, versioned
// and rolled back with the tuples as the index is.
func putCounts(p put, changes []store.CountChange) error {
	for i := range changes {
		c := &changes[i]
		k := kv.CountKey(c.Type, c.Relation)
		var err error
		if c.Delete {
			err = p.del(k)
		} else {
			err = p.set(k, kv.CountValue(c.Counts))
		}
		if err != nil {
			return fmt.Errorf("write the counts of %s#%s: %w", c.Type, c.Relation, err)
		}
	}
	return nil
}

// WriteNestingCounts takes the load's count changes.
func (l *load) WriteNestingCounts(_ context.Context, changes []store.CountChange) error {
	l.counts = append(l.counts, changes...)
	return nil
}

var _ store.CountLoader = (*load)(nil)
