package postgres

import (
	"context"
	"fmt"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// load is a bulk write: one transaction that claims the next revision
// (holding off other writers), COPYs each chunk into the change log at
// that revision and, on Commit, adds the tuples the log names and no live
// row holds. Nothing is visible before the commit; an abort, or the
// process dying, rolls all of it back.
type load struct {
	b      *Backend
	tx     pgx.Tx
	rev    tuples.Revision
	schema store.SchemaText
	head   head // the claim's, at the revision before rev
	seq    int
	done   bool
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
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, classify("begin an import", err)
	}
	st, err := b.schemaAt(ctx, tx, h.latest, h)
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return &load{b: b, tx: tx, rev: rev, schema: st, head: h}, nil
}

func (l *load) Schema(context.Context) (store.SchemaText, error) { return l.schema, nil }

// Add COPYs a chunk into the change log.
func (l *load) Add(ctx context.Context, changes []tuples.Change) error {
	if l.done {
		return fmt.Errorf("import: add after the load ended")
	}
	rev, seq := int64(l.rev), l.seq
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(changes) {
			return nil, nil
		}
		c := &changes[i]
		t := &c.Tuple
		i++
		seq++
		return []any{rev, int32(seq), int16(c.Kind), t.ObjectType, t.ObjectID, t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation}, nil
	})
	_, err := l.tx.CopyFrom(ctx, pgx.Identifier{"docket_changes"},
		[]string{"revision", "seq", "kind", "object_type", "object_id", "relation", "subject_type", "subject_id", "subject_relation"}, src)
	if err != nil {
		return classify("import: copy into the datastore", err)
	}
	l.seq = seq
	return nil
}

// Commit adds the loaded tuples and commits the revision.
func (l *load) Commit(ctx context.Context, progress func(int)) (tuples.Revision, error) {
	defer l.Abort()
	if l.done {
		return 0, fmt.Errorf("import: commit after the load ended")
	}
	// NOT EXISTS: a stored tuple stays as it is (imports touch); ON
	// CONFLICT: an input may name a tuple twice, and its second row
	// meets the first on the primary key (same fields, same revision).
	_, err := l.tx.Exec(ctx, `INSERT INTO docket_tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev)
		SELECT c.object_type, c.object_id, c.relation, c.subject_type, c.subject_id, c.subject_relation, c.revision
		FROM docket_changes c
		WHERE c.revision = $1 AND NOT EXISTS (SELECT 1 FROM docket_tuples t WHERE t.deleted_rev IS NULL
			AND t.object_type = c.object_type AND t.object_id = c.object_id AND t.relation = c.relation
			AND t.subject_type = c.subject_type AND t.subject_id = c.subject_id AND t.subject_relation = c.subject_relation)
		ON CONFLICT (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev) DO NOTHING`,
		int64(l.rev))
	if err == nil {
		_, err = l.tx.Exec(ctx, `INSERT INTO docket_revisions (revision, committed_at) VALUES ($1, now())`, int64(l.rev))
	}
	if err != nil {
		return 0, classify("import: write the tuples", err)
	}
	if err := l.tx.Commit(ctx); err != nil {
		return 0, classify("import: commit", err)
	}
	l.done = true
	if progress != nil {
		progress(l.seq)
	}
	l.b.learn(head{latest: l.rev, changesFrom: l.head.changesFrom, horizon: l.b.cachedHorizon(), maxSchema: l.head.maxSchema})
	return l.rev, nil
}

// Abort rolls the load back; harmless after Commit.
func (l *load) Abort() {
	if l.done {
		return
	}
	l.done = true
	l.tx.Rollback(context.Background())
}
