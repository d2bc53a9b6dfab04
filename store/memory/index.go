package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	memdb "github.com/hashicorp/go-memdb"
)

// applyIndex stages the membership index's changes in txn: each entry is
// a row of the tuples table whose keys, of the index's own tags, no
// tuple scan ever reaches, so it is versioned with the tuples for free.
func applyIndex(txn *memdb.Txn, changes []store.IndexChange) error {
	for i := range changes {
		k := kv.IndexKey(nil, &changes[i])
		row := &memRow{fwd: k, rev: k}
		var err error
		if changes[i].Delete {
			if err = txn.Delete(memTable, row); err == memdb.ErrNotFound {
				err = nil
			}
		} else {
			err = txn.Insert(memTable, row)
		}
		if err != nil {
			return fmt.Errorf("write the membership index: %w", err)
		}
	}
	return nil
}

// Base reads the revision the load builds on.
func (l *memLoad) Base(context.Context) (store.Reader, error) {
	return l.e.latestReader(time.Time{}), nil
}

// WriteGroupIndex takes the load's index changes.
func (l *memLoad) WriteGroupIndex(changes []store.IndexChange) {
	l.index = append(l.index, changes...)
}

// applyCounts stages the counts' changes of nesting relations in txn,
// rows of the tuples table as the index's entries are.
func applyCounts(txn *memdb.Txn, changes []store.CountChange) error {
	for i := range changes {
		c := &changes[i]
		k := kv.CountKey(c.Type, c.Relation)
		row := &memRow{fwd: k, rev: k, val: kv.CountValue(c.Counts)}
		var err error
		if c.Delete {
			if err = txn.Delete(memTable, row); err == memdb.ErrNotFound {
				err = nil
			}
		} else {
			err = txn.Insert(memTable, row)
		}
		if err != nil {
			return fmt.Errorf("write the counts of %s#%s: %w", c.Type, c.Relation, err)
		}
	}
	return nil
}

// WriteNestingCounts takes the load's count changes.
func (l *memLoad) WriteNestingCounts(_ context.Context, changes []store.CountChange) error {
	l.counts = append(l.counts, changes...)
	return nil
}

var _ store.CountLoader = (*memLoad)(nil)
