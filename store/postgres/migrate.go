package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A migration brings Docket's tables from version-1 to version. They are
// applied in order, each in a transaction of its own together with the
// row that records it, so a failed migration leaves the previous version
// whole. Migrations are append-only: a released one is never edited.
type migration struct {
	version     int
	description string
	sql         string
}

// The SQL is the subset PostgreSQL, CockroachDB and YugabyteDB share:
// plain tables with primary keys, B-tree indexes, no sequences, no
// triggers, no PostgreSQL-only types. Text columns compare bytewise
// (COLLATE "C"), which makes the order of Read's pages the order of the
// key-value backends and keeps comparisons independent of the database's
// locale.
var migrations = []migration{
	{1, "the store id, tuples at revisions, the revision counter, schemas, the change log, garbage-collection state", `
CREATE TABLE docket_store (
	id       INT PRIMARY KEY CHECK (id = 1),
	store_id TEXT NOT NULL
);
INSERT INTO docket_store (id, store_id) VALUES (1, 'pg-' || substr(md5(random()::text || now()::text), 1, 16));

CREATE TABLE docket_head (
	id           INT PRIMARY KEY CHECK (id = 1),
	latest       BIGINT NOT NULL,
	changes_from BIGINT NOT NULL
);
INSERT INTO docket_head (id, latest, changes_from) VALUES (1, 0, 1);

CREATE TABLE docket_gc (
	id         INT PRIMARY KEY CHECK (id = 1),
	horizon    BIGINT NOT NULL,
	horizon_at TIMESTAMPTZ NOT NULL,
	swept      BIGINT NOT NULL
);
INSERT INTO docket_gc (id, horizon, horizon_at, swept) VALUES (1, 0, now(), 0);

CREATE TABLE docket_revisions (
	revision     BIGINT PRIMARY KEY,
	committed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE docket_schemas (
	revision BIGINT PRIMARY KEY,
	text     TEXT NOT NULL
);

CREATE TABLE docket_tuples (
	object_type      TEXT COLLATE "C" NOT NULL,
	object_id        TEXT COLLATE "C" NOT NULL,
	relation         TEXT COLLATE "C" NOT NULL,
	subject_type     TEXT COLLATE "C" NOT NULL,
	subject_id       TEXT COLLATE "C" NOT NULL,
	subject_relation TEXT COLLATE "C" NOT NULL,
	created_rev      BIGINT NOT NULL,
	deleted_rev      BIGINT,
	PRIMARY KEY (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev)
);
CREATE INDEX docket_tuples_reverse ON docket_tuples
	(subject_type, subject_id, subject_relation, object_type, relation, object_id);
CREATE INDEX docket_tuples_deleted ON docket_tuples (deleted_rev) WHERE deleted_rev IS NOT NULL;

CREATE TABLE docket_changes (
	revision         BIGINT NOT NULL,
	seq              INT NOT NULL,
	kind             SMALLINT NOT NULL,
	object_type      TEXT COLLATE "C" NOT NULL,
	object_id        TEXT COLLATE "C" NOT NULL,
	relation         TEXT COLLATE "C" NOT NULL,
	subject_type     TEXT COLLATE "C" NOT NULL,
	subject_id       TEXT COLLATE "C" NOT NULL,
	subject_relation TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (revision, seq)
);
`},
	{2, "the membership index of nesting relations, at revisions", `
CREATE TABLE docket_group_index (
	object_type TEXT COLLATE "C" NOT NULL,
	relation    TEXT COLLATE "C" NOT NULL,
	group_id    TEXT COLLATE "C" NOT NULL,
	above_id    TEXT COLLATE "C" NOT NULL,
	chain       SMALLINT NOT NULL,
	created_rev BIGINT NOT NULL,
	deleted_rev BIGINT,
	PRIMARY KEY (object_type, relation, group_id, above_id, chain, created_rev)
);
CREATE INDEX docket_group_index_deleted ON docket_group_index (deleted_rev) WHERE deleted_rev IS NOT NULL;
`},
	// payload is tuples.AppendPayload's form of what a tuple carries, empty
	// for a plain tuple; expires_at repeats its expiry in Unix nanoseconds
	// (NULL for none) so that reads filter expired rows in SQL.
	{3, "tuples' conditions, contexts and expiries, in the tuples and the change log", `
ALTER TABLE docket_tuples ADD COLUMN payload BYTEA NOT NULL DEFAULT '';
ALTER TABLE docket_tuples ADD COLUMN expires_at BIGINT;
ALTER TABLE docket_changes ADD COLUMN payload BYTEA NOT NULL DEFAULT '';
ALTER TABLE docket_changes ADD COLUMN expires_at BIGINT;
`},
	{4, "the counts of nesting relations' subject sets, at revisions", `
CREATE TABLE docket_nesting_counts (
	object_type TEXT COLLATE "C" NOT NULL,
	relation    TEXT COLLATE "C" NOT NULL,
	sets        BIGINT NOT NULL,
	parents     BIGINT NOT NULL,
	children    BIGINT NOT NULL,
	created_rev BIGINT NOT NULL,
	deleted_rev BIGINT,
	PRIMARY KEY (object_type, relation, created_rev)
);
`},
	// The membership index read downwards: the groups below a group are
	// the rows whose above_id it is.
	{5, "the membership index by the group above, for reading the groups below a group", `
CREATE INDEX docket_group_index_below ON docket_group_index (object_type, relation, above_id, group_id);
`},
}

// SchemaVersion is the version of Docket's tables this build reads and
// writes.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// ErrNotMigrated means the database lacks Docket's tables, or holds an
// older version of them.
var ErrNotMigrated = errors.New("the datastore's tables are not at this version of docket")

// ErrNewerSchema means the database was migrated by a newer Docket.
var ErrNewerSchema = errors.New("the datastore was migrated by a newer version of docket")

const migrationsTable = `CREATE TABLE IF NOT EXISTS docket_migrations (
	version     INT PRIMARY KEY,
	description TEXT NOT NULL,
	applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)`

// Version returns the version of Docket's tables in the database: 0 when
// it holds none.
func Version(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var v int
	err := pool.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM docket_migrations`).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, classify("read the datastore's version", err)
	}
	return v, nil
}

// Migrate brings Docket's tables to SchemaVersion and returns the
// versions it applied. It refuses a database migrated by a newer Docket.
// Concurrent Migrate calls are safe: each migration's transaction
// re-reads the version and the loser of a race finds it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	if _, err := pool.Exec(ctx, migrationsTable); err != nil {
		// Two IF NOT EXISTS creations racing: the loser fails on one
		// of the catalog's unique indexes, and the table is there.
		// Any other failure (a timeout, say) leaves no table.
		if !migrationsTableExists(ctx, pool) || unavailable(err) {
			return nil, classify("create the migrations table", err)
		}
	}
	var applied []int
	for _, m := range migrations {
		done, err := applyRetrying(ctx, pool, m)
		if err != nil {
			// A concurrent Migrate may have won the race (its tables
			// already exist, or a serialization failure): what counts
			// is whether the version is there now.
			if v, verr := Version(ctx, pool); verr == nil && v >= m.version && !errors.Is(err, ErrNewerSchema) {
				continue
			}
			return applied, err
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyRetrying applies m, again after a serialization failure: two
// processes migrating at once (replicas started together) conflict on
// docket_migrations, and the one that loses may look before the winner
// has committed; run again, it sees the winner's version and has nothing
// to do.
func applyRetrying(ctx context.Context, pool *pgxpool.Pool, m migration) (bool, error) {
	for attempt := 1; ; attempt++ {
		done, err := apply(ctx, pool, m)
		if err == nil || !retryable(err) || attempt == migrateAttempts {
			return done, err
		}
		select {
		case <-ctx.Done():
			return false, classify("migrate", ctx.Err())
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		}
	}
}

// migrateAttempts bounds applyRetrying: a conflict that outlasts it is
// not another migration finishing.
const migrateAttempts = 10

// migrationsTableExists reports whether docket_migrations can be read.
func migrationsTableExists(ctx context.Context, pool *pgxpool.Pool) bool {
	rows, err := pool.Query(ctx, `SELECT 1 FROM docket_migrations LIMIT 1`)
	if err != nil {
		return false
	}
	rows.Close()
	return rows.Err() == nil
}

// apply runs one migration unless it is applied already.
func apply(ctx context.Context, pool *pgxpool.Pool, m migration) (bool, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return false, classify("migrate", err)
	}
	defer tx.Rollback(ctx)
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM docket_migrations`).Scan(&have); err != nil {
		return false, classify("migrate", err)
	}
	if have > SchemaVersion() {
		return false, fmt.Errorf("datastore tables are at version %d, this docket knows versions up to %d; upgrade docket: %w", have, SchemaVersion(), ErrNewerSchema)
	}
	if have >= m.version {
		return false, nil
	}
	if have != m.version-1 {
		return false, fmt.Errorf("datastore tables are at version %d, migration %d needs %d", have, m.version, m.version-1)
	}
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return false, classify(fmt.Sprintf("migration %d (%s)", m.version, m.description), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO docket_migrations (version, description) VALUES ($1, $2)`, m.version, m.description); err != nil {
		return false, classify(fmt.Sprintf("record migration %d", m.version), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, classify(fmt.Sprintf("migration %d", m.version), err)
	}
	return true, nil
}

// checkVersion refuses a database whose tables are not at SchemaVersion.
func checkVersion(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := Version(ctx, pool)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion():
		return fmt.Errorf("datastore tables are at version %d, this docket knows versions up to %d; upgrade docket: %w", v, SchemaVersion(), ErrNewerSchema)
	case v < SchemaVersion():
		return fmt.Errorf("datastore tables are at version %d, this docket needs %d; run `docket datastore migrate --datastore URL` (or start with --migrate): %w", v, SchemaVersion(), ErrNotMigrated)
	}
	return nil
}
