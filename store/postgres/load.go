package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// load is a bulk write: one transaction that claims the next revision
// (holding off other writers), COPYs each chunk into the change log at
// that revision and adds its tuples. Nothing is visible before the
// commit; an abort, or the process dying, rolls all of it back.
//
// Tuples reach docket_tuples in one of two ways. While the table held no
// row when the load began and no chunk has repeated a tuple, a chunk is
// COPYed straight into it, created at the load's revision: the primary
// key then refuses a tuple named twice (same fields, same revision), and
// no live row can already hold one. Otherwise, from the first chunk that
// cannot go straight in, chunks go only into the change log and Commit
// adds, in one statement, the tuples they name that no live row holds,
// once each. The straight path skips the per-row probe of the primary
// key that the second one makes, which is most of its cost.
//
// On PostgreSQL the straight path goes further (swap.go): the chunks
// are COPYed into a table without indexes, which are built by sorting
// at the commit before the table takes docket_tuples' place. A tuple
// named twice is then found by that build, and the whole load falls
// back to the checked path.
type load struct {
	b      *Backend
	tx     pgx.Tx
	rev    tuples.Revision
	schema store.SchemaText
	head   head // the claim's, at the revision before rev
	seq    int
	// straight is true while chunks are COPYed into docket_tuples;
	// planned is the sequence number of the last change added that way:
	// Commit adds the tuples of the changes after it.
	straight bool
	planned  int
	// fresh is set when the straight chunks go into importTable, to be
	// swapped in at the commit.
	fresh bool
	// rows is the buffer chunks are encoded in for COPY.
	rows copyRows
	// index holds the membership index changes staged for the commit.
	index []store.IndexChange
	// payloads is set once a change carried a payload: only then can the
	// input hold one tuple twice carrying different ones.
	payloads bool
	done     bool
}

func (b *Backend) Load(ctx context.Context) (store.Loader, error) {
	if b.isClosed() {
		return nil, store.ErrClosed
	}
	for attempt := 0; ; attempt++ {
		l, err := b.startLoad(ctx)
		if err == nil || !retryable(err) || attempt >= b.opts.WriteRetries {
			return l, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

func (b *Backend) startLoad(ctx context.Context) (*load, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, classify("begin an import", err)
	}
	rev, h, err := b.claim(ctx, tx)
	if err == nil {
		// A large import outlives the statement timeout meant for
		// requests; the import as a whole is bounded by its context.
		_, err = tx.Exec(ctx, `SET LOCAL statement_timeout = 0`)
	}
	// Any row at all, live or awaiting garbage collection, sends the
	// load down the checked path; no other writer can add one before
	// the load commits, since each first claims the revision row the
	// load holds.
	var empty bool
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM docket_tuples)`).Scan(&empty)
	}
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, classify("begin an import", err)
	}
	st, err := b.schemaAt(ctx, tx, h.latest, h)
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	l := &load{b: b, tx: tx, rev: rev, schema: st, head: h, straight: empty}
	if empty {
		if l.fresh, err = l.startFresh(ctx); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return l, nil
}

func (l *load) Schema(context.Context) (store.SchemaText, error) { return l.schema, nil }

var (
	changeColumns = []string{"revision", "seq", "kind", "object_type", "object_id", "relation", "subject_type", "subject_id", "subject_relation", "payload", "expires_at"}
	tupleColumns  = []string{"object_type", "object_id", "relation", "subject_type", "subject_id", "subject_relation", "created_rev", "payload", "expires_at"}
)

// Add COPYs a chunk into the change log and, on the straight path, into
// docket_tuples.
func (l *load) Add(ctx context.Context, changes []tuples.Change) error {
	if l.done {
		return fmt.Errorf("import: add after the load ended")
	}
	payloads := carriesPayloads(changes)
	l.payloads = l.payloads || payloads
	if l.straight {
		ok, err := l.copyTuples(ctx, changes, payloads)
		if err != nil {
			return err
		}
		if !ok {
			l.straight = false
		}
	}
	seq := l.seq + len(changes)
	cols := l.rows.encodeChanges(int64(l.rev), l.seq, changes, payloads)
	if err := l.send(ctx, "docket_changes", cols); err != nil {
		return classify("import: copy into the datastore", err)
	}
	if l.straight {
		l.planned = seq
	}
	l.seq = seq
	return nil
}

// send COPYs the rows encoded in l.rows, counting the round trip as
// pgx's tracer counts its own (the COPY goes past it).
func (l *load) send(ctx context.Context, table string, cols []string) error {
	if l.b.queries != nil {
		l.b.queries.n.Add(1)
	}
	return l.rows.send(ctx, l.tx, table, cols)
}

// copyTuples COPYs a chunk into docket_tuples behind a savepoint; ok is
// false, with nothing of the chunk kept, when the chunk repeats a tuple
// already loaded (its own or an earlier chunk's). Into the import table,
// which has no key yet, it needs no savepoint and always succeeds.
func (l *load) copyTuples(ctx context.Context, changes []tuples.Change, payloads bool) (ok bool, err error) {
	table := "docket_tuples"
	if l.fresh {
		table = importTable
	} else if _, err := l.tx.Exec(ctx, `SAVEPOINT docket_chunk`); err != nil {
		return false, classify("import: copy into the datastore", err)
	}
	cols := l.rows.encodeTuples(int64(l.rev), changes, payloads)
	err = l.send(ctx, table, cols)
	if l.fresh {
		return err == nil, classify("import: copy into the datastore", err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: a tuple named twice
		if _, rerr := l.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT docket_chunk`); rerr != nil {
			return false, classify("import: copy into the datastore", rerr)
		}
		return false, nil
	}
	if err != nil {
		return false, classify("import: copy into the datastore", err)
	}
	if _, err := l.tx.Exec(ctx, `RELEASE SAVEPOINT docket_chunk`); err != nil {
		return false, classify("import: copy into the datastore", err)
	}
	return true, nil
}

// Commit adds the tuples the straight path did not and commits the
// revision.
func (l *load) Commit(ctx context.Context, progress func(int)) (tuples.Revision, error) {
	defer l.Abort()
	if l.done {
		return 0, fmt.Errorf("import: commit after the load ended")
	}
	if l.payloads {
		if err := l.conflict(ctx); err != nil {
			return 0, err
		}
	}
	if l.fresh {
		swapped, err := l.swapIn(ctx)
		if err != nil {
			return 0, err
		}
		if !swapped {
			l.planned = 0 // every change goes through the checked path
		}
	}
	var err error
	if l.seq > l.planned {
		// A stored tuple carrying another payload than the input's is
		// replaced: its live row is closed at this revision (rows this
		// load added carry the input's payload already).
		_, err = l.tx.Exec(ctx, `UPDATE docket_tuples t SET deleted_rev = $1
			FROM docket_changes c
			WHERE c.revision = $1 AND c.seq > $2 AND t.deleted_rev IS NULL AND t.created_rev < $1
			AND t.object_type = c.object_type AND t.object_id = c.object_id AND t.relation = c.relation
			AND t.subject_type = c.subject_type AND t.subject_id = c.subject_id AND t.subject_relation = c.subject_relation
			AND t.payload <> c.payload`, int64(l.rev), l.planned)
	}
	if err == nil && l.seq > l.planned {
		// NOT EXISTS: a stored tuple carrying the same stays as it is
		// (imports touch), and so does one a straight chunk added;
		// DISTINCT: an input may name a tuple twice (carrying the same,
		// as conflict checked). Sorted, the primary key grows at its end.
		_, err = l.tx.Exec(ctx, `INSERT INTO docket_tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev, payload, expires_at)
			SELECT DISTINCT c.object_type, c.object_id, c.relation, c.subject_type, c.subject_id, c.subject_relation, c.revision, c.payload, c.expires_at
			FROM docket_changes c
			WHERE c.revision = $1 AND c.seq > $2 AND NOT EXISTS (SELECT 1 FROM docket_tuples t WHERE t.deleted_rev IS NULL
				AND t.object_type = c.object_type AND t.object_id = c.object_id AND t.relation = c.relation
				AND t.subject_type = c.subject_type AND t.subject_id = c.subject_id AND t.subject_relation = c.subject_relation)
			ORDER BY 1, 2, 3, 4, 5, 6`,
			int64(l.rev), l.planned)
	}
	if err == nil && len(l.index) > 0 {
		var batch pgx.Batch
		queueIndex(&batch, l.rev, l.index)
		err = l.tx.SendBatch(ctx, &batch).Close()
	}
	if err == nil {
		_, err = l.tx.Exec(ctx, `INSERT INTO docket_revisions (revision, committed_at) VALUES ($1, now())`, int64(l.rev))
	}
	if err == nil && l.b.notifies {
		_, err = l.tx.Exec(ctx, notifySQL, strconv.FormatInt(int64(l.rev), 10))
	}
	if err != nil {
		return 0, classify("import: write the tuples", err)
	}
	if l.b.beforeCommit != nil {
		l.b.beforeCommit()
	}
	if err := l.tx.Commit(ctx); err != nil {
		return 0, classify("import: commit", err)
	}
	l.done = true
	if l.b.loaded != nil {
		l.b.loaded(l.planned, l.seq)
	}
	if progress != nil {
		progress(l.seq)
	}
	l.b.learn(head{latest: l.rev, changesFrom: l.head.changesFrom, horizon: l.b.cachedHorizon(), maxSchema: l.head.maxSchema})
	return l.rev, nil
}

// conflict refuses a load that names one tuple twice carrying different
// payloads: which one to keep would be a guess.
func (l *load) conflict(ctx context.Context) error {
	var t tuples.Tuple
	var ps [][]byte
	err := l.tx.QueryRow(ctx, `SELECT object_type, object_id, relation, subject_type, subject_id, subject_relation, (array_agg(DISTINCT payload))[1:2]
		FROM docket_changes WHERE revision = $1
		GROUP BY object_type, object_id, relation, subject_type, subject_id, subject_relation
		HAVING count(DISTINCT payload) > 1 LIMIT 1`, int64(l.rev)).Scan(&t.ObjectType, &t.ObjectID, &t.Relation, &t.SubjectType, &t.SubjectID, &t.SubjectRelation, &ps)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return classify("import: check the input for conflicting tuples", err)
	}
	if len(ps) != 2 {
		return fmt.Errorf("import: the conflict check of %s read %d payloads", t.Key(), len(ps))
	}
	a, b := t, t
	if err := decodePayload(&a, ps[0]); err != nil {
		return err
	}
	if err := decodePayload(&b, ps[1]); err != nil {
		return err
	}
	return &kv.ConflictError{A: a, B: b}
}

// Abort rolls the load back; harmless after Commit.
func (l *load) Abort() {
	if l.done {
		return
	}
	l.done = true
	l.tx.Rollback(context.Background())
}
