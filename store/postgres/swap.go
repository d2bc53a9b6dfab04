package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// An import into an empty docket_tuples on PostgreSQL is built in a
// table of its own, docket_tuples_import, that has no index while the
// chunks are COPYed in; at the commit its indexes are built by sorting,
// and it takes docket_tuples' place. Building a B-tree from sorted rows
// costs a fraction of inserting a million rows one at a time into two
// wide ones. Nothing changes for readers until the commit: the new table
// is the import transaction's own, and docket_tuples is locked
// exclusively only for the drop and renames at its very end, and for at
// most swapLockWait before them. A killed import takes the table with
// it.
//
// The swap is taken only where it loses nothing the old table carried:
// the table belongs to the importing role and has no grants, storage
// options, tablespace, replica identity, per-column statistics settings,
// triggers, policies, publications, extended statistics, dependent views
// or indexes beyond Docket's (nor options or a tablespace on those). Otherwise, or when the
// lock is not granted in time, or when the input repeats a tuple (the
// primary key's build refuses it), the load falls back to the checked
// path: the rows are added to docket_tuples from the change log at the
// commit, as for a store holding tuples.

// importTable is the table an import into an empty store is built in.
const importTable = "docket_tuples_import"

// defaultSwapLockWait bounds how long the swap waits for readers of
// docket_tuples to finish; new readers queue behind the wait.
const defaultSwapLockWait = 500 * time.Millisecond

// swapBuild builds the import table's indexes, under temporary names:
// the same definitions as docket_tuples' (migrations 1 and 3), which
// TestImportSwapKeepsTheTable compares after a swap.
var swapBuild = []string{
	`ALTER TABLE ` + importTable + ` ADD CONSTRAINT docket_tuples_import_pkey
		PRIMARY KEY (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev)`,
	`CREATE INDEX docket_tuples_import_reverse ON ` + importTable + `
		(subject_type, subject_id, subject_relation, object_type, relation, object_id)`,
	`CREATE INDEX docket_tuples_import_deleted ON ` + importTable + ` (deleted_rev) WHERE deleted_rev IS NOT NULL`,
}

// swapRename gives the import table and its indexes the canonical names
// once docket_tuples is dropped.
var swapRename = []string{
	`ALTER TABLE ` + importTable + ` RENAME TO docket_tuples`,
	`ALTER TABLE docket_tuples RENAME CONSTRAINT docket_tuples_import_pkey TO docket_tuples_pkey`,
	`ALTER INDEX docket_tuples_import_reverse RENAME TO docket_tuples_reverse`,
	`ALTER INDEX docket_tuples_import_deleted RENAME TO docket_tuples_deleted`,
}

// swappableSQL tells whether replacing docket_tuples by another table
// would lose nothing but its (absent) rows.
const swappableSQL = `SELECT pg_get_userbyid(c.relowner) = current_user
	AND c.relacl IS NULL AND c.reloptions IS NULL AND NOT c.relrowsecurity
	AND c.reltablespace = 0 AND c.relreplident = 'd'
	AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0
		AND (attstattarget >= 0 OR attoptions IS NOT NULL))
	AND NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = c.oid AND (i.reltablespace <> 0 OR i.reloptions IS NOT NULL))
	AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = c.oid)
	AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = c.oid)
	AND NOT EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = c.oid)
	AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxrelid = c.oid)
	AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE refobjid = c.oid AND classid = 'pg_rewrite'::regclass)
	AND (SELECT count(*) FROM pg_index WHERE indrelid = c.oid) = 3
	FROM pg_class c WHERE c.oid = 'docket_tuples'::regclass`

// probeSwap tells whether the database is PostgreSQL itself: CockroachDB
// and YugabyteDB, which speak its protocol, have neither its catalogs
// nor its transactional DDL, and take the checked path.
func (b *Backend) probeSwap(ctx context.Context) error {
	var v string
	if err := b.pool.QueryRow(ctx, `SELECT version()`).Scan(&v); err != nil {
		return classify("read the datastore's version", err)
	}
	b.swaps = strings.HasPrefix(v, "PostgreSQL ") && !strings.Contains(v, "-YB-")
	return nil
}

// startFresh creates the import table when the load may be swapped in;
// it reports whether it did.
func (l *load) startFresh(ctx context.Context) (bool, error) {
	if !l.b.swaps || l.b.noSwap {
		return false, nil
	}
	var ok bool
	if err := l.tx.QueryRow(ctx, swappableSQL).Scan(&ok); err != nil {
		return false, classify("import: inspect docket_tuples", err)
	}
	if !ok {
		return false, nil
	}
	// LIKE copies the columns, their collations, defaults and checks.
	if _, err := l.tx.Exec(ctx, `CREATE TABLE `+importTable+` (LIKE docket_tuples INCLUDING ALL EXCLUDING INDEXES)`); err != nil {
		return false, classify("import: create the import table", err)
	}
	return true, nil
}

// swapIn builds the import table's indexes and puts it in docket_tuples'
// place. It returns false, with the import table dropped and the
// transaction otherwise as before, when the swap cannot be made (see
// above); the caller then adds the rows through the checked path.
func (l *load) swapIn(ctx context.Context) (bool, error) {
	if _, err := l.tx.Exec(ctx, `SAVEPOINT docket_swap`); err != nil {
		return false, classify("import: build the tuples' indexes", err)
	}
	wait := l.b.swapLockWait
	if wait <= 0 {
		wait = defaultSwapLockWait
	}
	// A sort that fits in memory is the fast build; the setting lasts
	// until the transaction ends.
	steps := append([]string{`SET LOCAL maintenance_work_mem = '256MB'`}, swapBuild...)
	steps = append(steps,
		fmt.Sprintf(`SET LOCAL lock_timeout = %d`, wait.Milliseconds()),
		`LOCK TABLE docket_tuples IN ACCESS EXCLUSIVE MODE`,
		`SET LOCAL lock_timeout = 0`,
		`DROP TABLE docket_tuples`)
	steps = append(steps, swapRename...)
	for _, sql := range steps {
		if _, err := l.tx.Exec(ctx, sql); err != nil {
			if !swapRefused(err) {
				return false, classify("import: build the tuples' indexes", err)
			}
			if _, rerr := l.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT docket_swap`); rerr != nil {
				return false, classify("import: build the tuples' indexes", rerr)
			}
			if _, derr := l.tx.Exec(ctx, `DROP TABLE `+importTable); derr != nil {
				return false, classify("import: drop the import table", derr)
			}
			return false, nil
		}
	}
	return true, nil
}

// swapRefused tells the failures after which the load falls back to the
// checked path: a tuple named twice, the lock not granted in time (or a
// deadlock found while waiting for it), too few privileges, objects
// depending on docket_tuples.
func swapRefused(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "23505", // unique_violation
		"55P03", // lock_not_available
		"40P01", // deadlock_detected
		"42501", // insufficient_privilege
		"2BP01": // dependent_objects_still_exist
		return true
	}
	return false
}
