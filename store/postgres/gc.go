package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/docketdb/docket/tuples"
)

// GCResult reports one garbage collection.
type GCResult struct {
	// Horizon is the oldest revision held once the collection is done.
	Horizon tuples.Revision
	// Tuples, IndexEntries, Revisions and Schemas count the rows swept.
	Tuples, IndexEntries, Revisions, Schemas int
}

// CollectGarbage removes what no held revision reads, in two phases that
// may be one run or several apart. First it publishes a new horizon (the
// oldest revision new readers may open): the newest revision committed
// more than GCWindow ago, or KeepRevisions below the latest if that is
// newer, but never above a revision a reader of this process has pinned.
// Then, once SnapshotGrace has passed since a horizon was published (so
// that readers other processes opened below it before it was published
// have finished), it sweeps the rows deleted at or below the horizon, in
// batches of GCBatch rows, each its own short transaction: writers never
// wait for a collection, and a collection interrupted half-way resumes
// where it stopped. It is safe to run from several processes at once.
func (b *Backend) CollectGarbage(ctx context.Context) (GCResult, error) {
	var res GCResult
	var horizon, swept, latest, byTime int64
	var age time.Duration
	err := b.pool.QueryRow(ctx, `SELECT g.horizon, g.swept, h.latest, now() - g.horizon_at,
		COALESCE((SELECT max(revision) FROM docket_revisions WHERE committed_at < now() - $1::interval), 0)
		FROM docket_gc g, docket_head h WHERE g.id = 1 AND h.id = 1`, b.opts.GCWindow).Scan(&horizon, &swept, &latest, &age, &byTime)
	if err != nil {
		return res, classify("garbage collection", err)
	}
	res.Horizon = tuples.Revision(horizon)
	if swept < horizon && age >= b.opts.SnapshotGrace {
		if err := b.sweep(ctx, horizon, &res); err != nil {
			return res, err
		}
		swept = horizon
	}
	if swept < horizon {
		return res, nil // the published horizon is still in its grace
	}
	target := byTime
	if k := int64(b.opts.KeepRevisions); k > 0 && latest-k+1 > target {
		target = latest - k + 1
	}
	if pin := int64(b.lowestPin()); pin > 0 && pin < target {
		target = pin
	}
	target = min(target, latest)
	if target <= horizon {
		return res, nil
	}
	// Conditional on the horizon read above, so that two processes
	// collecting at once publish one horizon.
	tag, err := b.pool.Exec(ctx, `UPDATE docket_gc SET horizon = $1, horizon_at = now() WHERE id = 1 AND horizon = $2 AND swept = $2`, target, horizon)
	if err != nil {
		return res, classify("garbage collection: publish the horizon", err)
	}
	if tag.RowsAffected() == 1 {
		res.Horizon = tuples.Revision(target)
		b.mu.Lock()
		b.head.horizon = max(b.head.horizon, tuples.Revision(target))
		b.mu.Unlock()
	}
	return res, nil
}

// sweep deletes the rows no revision at or above horizon reads.
func (b *Backend) sweep(ctx context.Context, horizon int64, res *GCResult) error {
	for {
		tag, err := b.pool.Exec(ctx, `DELETE FROM docket_tuples WHERE (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev) IN
			(SELECT object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev
			 FROM docket_tuples WHERE deleted_rev <= $1 LIMIT $2)`, horizon, b.opts.GCBatch)
		if err != nil {
			return classify("garbage collection: sweep tuples", err)
		}
		res.Tuples += int(tag.RowsAffected())
		if tag.RowsAffected() < int64(b.opts.GCBatch) {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for {
		tag, err := b.pool.Exec(ctx, `DELETE FROM docket_group_index WHERE (object_type, relation, group_id, above_id, chain, created_rev) IN
			(SELECT object_type, relation, group_id, above_id, chain, created_rev
			 FROM docket_group_index WHERE deleted_rev <= $1 LIMIT $2)`, horizon, b.opts.GCBatch)
		if err != nil {
			return classify("garbage collection: sweep the membership index", err)
		}
		res.IndexEntries += int(tag.RowsAffected())
		if tag.RowsAffected() < int64(b.opts.GCBatch) {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if _, err := b.pool.Exec(ctx, `DELETE FROM docket_nesting_counts WHERE deleted_rev <= $1`, horizon); err != nil {
		// One row per relation and write that changed its counts.
		return classify("garbage collection: sweep the counts of nesting relations", err)
	}
	for {
		tag, err := b.pool.Exec(ctx, `DELETE FROM docket_revisions WHERE revision IN
			(SELECT revision FROM docket_revisions WHERE revision < $1 LIMIT $2)`, horizon, b.opts.GCBatch)
		if err != nil {
			return classify("garbage collection: sweep revisions", err)
		}
		res.Revisions += int(tag.RowsAffected())
		if tag.RowsAffected() < int64(b.opts.GCBatch) {
			break
		}
	}
	// Schemas below the one in force at the horizon are read by nothing.
	tag, err := b.pool.Exec(ctx, `DELETE FROM docket_schemas WHERE revision <
		(SELECT COALESCE(max(revision), 0) FROM docket_schemas WHERE revision <= $1)`, horizon)
	if err != nil {
		return classify("garbage collection: sweep schemas", err)
	}
	res.Schemas = int(tag.RowsAffected())
	if _, err := b.pool.Exec(ctx, `UPDATE docket_gc SET swept = $1 WHERE id = 1 AND swept < $1`, horizon); err != nil {
		return classify("garbage collection: record the sweep", err)
	}
	return nil
}

// collectLoop collects garbage every GCInterval until Close.
func (b *Backend) collectLoop() {
	defer b.stopWG.Done()
	t := time.NewTicker(b.opts.GCInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-b.stop; cancel() }()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			if _, err := b.CollectGarbage(ctx); err != nil && ctx.Err() == nil && b.opts.Logger != nil {
				b.opts.Logger.Warn("datastore garbage collection failed; it is retried at the next interval", "error", fmt.Sprint(err))
			}
		}
	}
}
