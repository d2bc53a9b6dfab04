package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// claimSQL takes the next revision: the first statement of every write
// transaction. Updating the one counter row queues writers behind each
// other, so revisions commit in order and a reader that sees revision R
// committed sees every revision below it committed too.
const claimSQL = `UPDATE docket_head SET latest = latest + 1 WHERE id = 1
	RETURNING latest, changes_from, COALESCE((SELECT max(revision) FROM docket_schemas), 0)`

// claim starts a write transaction at the next revision.
func (b *Backend) claim(ctx context.Context, tx pgx.Tx) (rev tuples.Revision, h head, err error) {
	var latest, from, maxSchema int64
	if err := tx.QueryRow(ctx, claimSQL).Scan(&latest, &from, &maxSchema); err != nil {
		return 0, head{}, err
	}
	rev = tuples.Revision(latest)
	// The transaction reads the revision before its own.
	return rev, head{latest: rev - 1, changesFrom: tuples.Revision(from), maxSchema: min(tuples.Revision(maxSchema), rev-1)}, nil
}

// txn is the store.Txn of a write transaction.
type txn struct {
	*reader
	tx      pgx.Tx
	from    tuples.Revision
	changes []tuples.Change
	schema  string
	trim    tuples.Revision
	// index holds the membership index changes staged.
	index []store.IndexChange
}

func (t *txn) Write(changes []tuples.Change) {
	if t.changes == nil {
		t.changes = changes
		return
	}
	t.changes = append(t.changes, changes...)
}

func (t *txn) SetSchema(text string) { t.schema = text }

func (t *txn) TrimChanges(before tuples.Revision) { t.trim = before }

func (t *txn) ChangesFrom(context.Context) (tuples.Revision, error) { return t.from, nil }

// Update runs fn in a SERIALIZABLE transaction at the next revision and
// commits what it staged. A serialization failure (another process's
// write conflicted) runs fn again from the start, on a new transaction,
// so its reads and its preconditions see what the other write committed.
func (b *Backend) Update(ctx context.Context, fn func(context.Context, store.Txn) error) (store.Committed, error) {
	if b.isClosed() {
		return store.Committed{}, store.ErrClosed
	}
	for attempt := 0; ; attempt++ {
		c, err := b.update(ctx, fn)
		if err == nil || !retryable(err) || attempt >= b.opts.WriteRetries {
			if err != nil && retryable(err) {
				return store.Committed{}, fmt.Errorf("write: still conflicting with other writes after %d attempts: %w", attempt+1, err)
			}
			return c, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return store.Committed{}, err
		}
	}
}

func (b *Backend) update(ctx context.Context, fn func(context.Context, store.Txn) error) (store.Committed, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return store.Committed{}, classify("begin a write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rev, h, err := b.claim(ctx, tx)
	if err != nil {
		return store.Committed{}, classify("begin a write", err)
	}
	st, err := b.schemaAt(ctx, tx, h.latest, h)
	if err != nil {
		return store.Committed{}, err
	}
	t := &txn{reader: &reader{q: tx, rev: h.latest, now: clockNanos(ctx), schema: st}, tx: tx, from: h.changesFrom}
	if err := fn(ctx, t); err != nil {
		if errors.Is(err, store.ErrNoCommit) {
			return store.Committed{Revision: h.latest}, nil
		}
		return store.Committed{}, err
	}
	trimmed, err := b.stage(ctx, tx, rev, t.changes, t.index, t.schema, t.trim)
	if err != nil {
		return store.Committed{}, err
	}
	if b.beforeCommit != nil {
		b.beforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Committed{}, classify("commit a write", err)
	}
	learned := head{latest: rev, changesFrom: max(h.changesFrom, t.trim), horizon: b.cachedHorizon(), maxSchema: h.maxSchema}
	if t.schema != "" {
		learned.maxSchema = rev
	}
	b.learn(learned)
	return store.Committed{Revision: rev, Trimmed: trimmed}, nil
}

func (b *Backend) cachedHorizon() tuples.Revision {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.head.horizon
}

// applyChunk is how many changes one statement of a write carries.
const applyChunk = 20000

// stage writes a transaction's changes, index changes, schema and trim at rev, batching
// the statements into as few round trips as it can.
func (b *Backend) stage(ctx context.Context, tx pgx.Tx, rev tuples.Revision, changes []tuples.Change, index []store.IndexChange, schema string, trim tuples.Revision) (int, error) {
	var batch pgx.Batch
	for off := 0; off < len(changes); off += applyChunk {
		queueChanges(&batch, rev, changes[off:min(off+applyChunk, len(changes))], off)
	}
	queueIndex(&batch, rev, index)
	if schema != "" {
		batch.Queue(`INSERT INTO docket_schemas (revision, text) VALUES ($1, $2)`, int64(rev), schema)
	}
	batch.Queue(`INSERT INTO docket_revisions (revision, committed_at) VALUES ($1, now())`, int64(rev))
	if b.notifies {
		batch.Queue(notifySQL, strconv.FormatInt(int64(rev), 10))
	}
	trimmedAt := -1
	if trim > 0 {
		trimmedAt = batch.Len()
		batch.Queue(`DELETE FROM docket_changes WHERE revision < $1`, int64(trim))
		batch.Queue(`UPDATE docket_head SET changes_from = $1 WHERE id = 1`, int64(trim))
	}
	res := tx.SendBatch(ctx, &batch)
	trimmed := 0
	for i := range batch.Len() {
		tag, err := res.Exec()
		if err != nil {
			res.Close()
			return 0, classify(fmt.Sprintf("write revision %d", rev), err)
		}
		if i == trimmedAt {
			trimmed = int(tag.RowsAffected())
		}
	}
	if err := res.Close(); err != nil {
		return 0, classify(fmt.Sprintf("write revision %d", rev), err)
	}
	return trimmed, nil
}

// queueChanges queues the statements that apply changes (at most one per
// tuple, as the store plans them) at rev and log them from sequence
// number seq: deletes close the live row, and so do writes of a tuple
// whose live row carries another payload (a replace); writes then add a
// row unless one is live (a touch of a stored tuple carrying the same
// changes nothing but the log).
func queueChanges(batch *pgx.Batch, rev tuples.Revision, changes []tuples.Change, seq int) {
	var cols [6][]string
	kinds := make([]int16, len(changes))
	payloads := make([][]byte, len(changes))
	expires := make([]*int64, len(changes))
	for i := range changes {
		t := &changes[i].Tuple
		f := [6]string{t.ObjectType, t.ObjectID, t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation}
		kinds[i] = int16(changes[i].Kind)
		for j := range f {
			cols[j] = append(cols[j], f[j])
		}
		payloads[i] = tuples.AppendPayload([]byte{}, t.Payload)
		expires[i] = expiresAt(t.Payload)
	}
	batch.Queue(`UPDATE docket_tuples t SET deleted_rev = $1
		FROM unnest($2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[]) AS d(kind, ot, oid, rel, st, sid, srel, payload)
		WHERE t.deleted_rev IS NULL AND t.object_type = d.ot AND t.object_id = d.oid AND t.relation = d.rel
		AND t.subject_type = d.st AND t.subject_id = d.sid AND t.subject_relation = d.srel
		AND (d.kind <> 1 OR t.payload <> d.payload)`,
		int64(rev), kinds, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], payloads)
	batch.Queue(`INSERT INTO docket_tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev, payload, expires_at)
		SELECT w.ot, w.oid, w.rel, w.st, w.sid, w.srel, $1, w.payload, w.exp
		FROM unnest($2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bigint[]) AS w(kind, ot, oid, rel, st, sid, srel, payload, exp)
		WHERE w.kind = 1 AND NOT EXISTS (SELECT 1 FROM docket_tuples t WHERE t.deleted_rev IS NULL
			AND t.object_type = w.ot AND t.object_id = w.oid AND t.relation = w.rel
			AND t.subject_type = w.st AND t.subject_id = w.sid AND t.subject_relation = w.srel)`,
		int64(rev), kinds, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], payloads, expires)
	batch.Queue(`INSERT INTO docket_changes (revision, seq, kind, object_type, object_id, relation, subject_type, subject_id, subject_relation, payload, expires_at)
		SELECT $1, $2 + c.n, c.kind, c.ot, c.oid, c.rel, c.st, c.sid, c.srel, c.payload, c.exp
		FROM unnest($3::smallint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bigint[]) WITH ORDINALITY AS c(kind, ot, oid, rel, st, sid, srel, payload, exp, n)`,
		int64(rev), int64(seq), kinds, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], payloads, expires)
}

// Changes reads the log after rev. The common case of a poll, nothing
// new, is one statement; otherwise the changes are read in one more,
// which also stops at a revision boundary once limit is reached.
func (b *Backend) Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	if b.isClosed() {
		return nil, store.ErrClosed
	}
	for {
		h, err := b.readHead(ctx, b.pool)
		if err != nil {
			return nil, err
		}
		if after+1 < h.changesFrom {
			return nil, &store.TrimmedError{After: after, From: h.changesFrom}
		}
		if h.latest <= after {
			return nil, nil
		}
		lim := int64(1) << 62
		if limit > 0 {
			lim = int64(limit)
		}
		// The read refuses to answer (no rows) if a trim past after+1
		// committed since the head was read; the loop then reports it.
		cs, err := collect(ctx, b.pool, `SELECT c.revision, c.kind, c.object_type, c.object_id, c.relation, c.subject_type, c.subject_id, c.subject_relation, c.payload
			FROM docket_changes c
			WHERE c.revision > $1 AND c.revision <= $2
			AND c.revision <= COALESCE((SELECT x.revision FROM docket_changes x WHERE x.revision > $1 ORDER BY x.revision, x.seq OFFSET ($3::bigint - 1) LIMIT 1), $2)
			AND $1 + 1 >= (SELECT changes_from FROM docket_head WHERE id = 1)
			ORDER BY c.revision, c.seq`, []any{int64(after), int64(h.latest), lim}, func(rows pgx.Rows) (tuples.Change, error) {
			var c tuples.Change
			var rev int64
			var kind int16
			var p []byte
			t := &c.Tuple
			if err := rows.Scan(&rev, &kind, &t.ObjectType, &t.ObjectID, &t.Relation, &t.SubjectType, &t.SubjectID, &t.SubjectRelation, &p); err != nil {
				return c, err
			}
			c.Revision, c.Kind = tuples.Revision(rev), tuples.ChangeKind(kind)
			return c, decodePayload(t, p)
		})
		if err != nil {
			return nil, classify(fmt.Sprintf("read the changes after revision %d", after), err)
		}
		if len(cs) > 0 {
			return cs, nil
		}
		// Revisions after after that changed no tuple (schema writes,
		// trims), or a trim just now: the head tells which.
		h2, err := b.readHead(ctx, b.pool)
		if err != nil {
			return nil, err
		}
		if after+1 >= h2.changesFrom {
			return nil, nil
		}
	}
}
