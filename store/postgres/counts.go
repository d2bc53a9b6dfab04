package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// The counts of nesting relations (store/counts.go) are kept in
// docket_nesting_counts, a row per relation at revisions as tuples are
// (created_rev, deleted_rev): a change closes the live row and adds one,
// in the transaction that writes the tuples they count.

// NestingCounts reads the counts of typ#rel.
func (r *reader) NestingCounts(ctx context.Context, typ, rel string) (tuples.NestingCounts, bool, error) {
	if err := r.open(); err != nil {
		return tuples.NestingCounts{}, false, err
	}
	return r.counts.Get(typ, rel, func() (tuples.NestingCounts, bool, error) {
		var c tuples.NestingCounts
		err := r.q.QueryRow(ctx, `SELECT sets, parents, children FROM docket_nesting_counts
		WHERE object_type = $2 AND relation = $3 AND `+visible, int64(r.rev), typ, rel).Scan(&c.Sets, &c.Parents, &c.Children)
		switch {
		case err == nil:
			return c, true, nil
		case errors.Is(err, pgx.ErrNoRows):
			return tuples.NestingCounts{}, false, nil
		}
		return tuples.NestingCounts{}, false, classify(fmt.Sprintf("read the counts of %s#%s", typ, rel), err)
	})
}

// NestingCountRelations lists the relations whose counts are kept.
func (r *reader) NestingCountRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	out, err := collect(ctx, r.q, `SELECT object_type, relation FROM docket_nesting_counts
		WHERE `+visible+` ORDER BY object_type, relation`, []any{int64(r.rev)}, func(rows pgx.Rows) (store.IndexedRelation, error) {
		var ir store.IndexedRelation
		err := rows.Scan(&ir.Type, &ir.Relation)
		return ir, err
	})
	if err != nil {
		return nil, classify("read the counted relations", err)
	}
	return out, nil
}

// writeCounts applies count changes at rev in tx: one statement each,
// and a relation's counts change at most once per write.
func writeCounts(ctx context.Context, tx pgx.Tx, rev tuples.Revision, changes []store.CountChange) error {
	var batch pgx.Batch
	for _, c := range changes {
		batch.Queue(`UPDATE docket_nesting_counts SET deleted_rev = $1
			WHERE object_type = $2 AND relation = $3 AND deleted_rev IS NULL`, int64(rev), c.Type, c.Relation)
		if !c.Delete {
			batch.Queue(`INSERT INTO docket_nesting_counts (object_type, relation, sets, parents, children, created_rev)
				VALUES ($2, $3, $4, $5, $6, $1)`, int64(rev), c.Type, c.Relation, c.Counts.Sets, c.Counts.Parents, c.Counts.Children)
		}
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return classify("write the counts of nesting relations", err)
	}
	return nil
}

// WriteNestingCounts writes count changes in the transaction, at the
// revision it commits (the one after its reader's).
func (t *txn) WriteNestingCounts(ctx context.Context, changes []store.CountChange) error {
	return writeCounts(ctx, t.tx, t.rev+1, changes)
}

// WriteNestingCounts writes count changes in the load's transaction, at
// the revision it commits.
func (l *load) WriteNestingCounts(ctx context.Context, changes []store.CountChange) error {
	return writeCounts(ctx, l.tx, l.rev, changes)
}

var (
	_ store.CountReads  = (*reader)(nil)
	_ store.CountTxn    = (*txn)(nil)
	_ store.CountLoader = (*load)(nil)
)
