package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// queryStrings is the one text column of every row query returns.
func queryStrings(t *testing.T, ctx context.Context, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tableShape describes docket_tuples as the catalogs see it: its columns
// (type, collation, nullability, default) and its indexes' definitions.
func tableShape(t *testing.T, ctx context.Context, pool *pgxpool.Pool) string {
	t.Helper()
	out := queryStrings(t, ctx, pool, `SELECT column_name || ' ' || data_type || ' ' || COALESCE(collation_name, '-') || ' ' || is_nullable || ' ' || COALESCE(column_default, '-')
		FROM information_schema.columns WHERE table_name = 'docket_tuples' ORDER BY ordinal_position`)
	out = append(out, queryStrings(t, ctx, pool, `SELECT indexdef FROM pg_indexes WHERE tablename = 'docket_tuples' ORDER BY indexname`)...)
	var pkey string
	if err := pool.QueryRow(ctx, `SELECT conname FROM pg_constraint WHERE conrelid = 'docket_tuples'::regclass AND contype = 'p'`).Scan(&pkey); err != nil {
		t.Fatal(err)
	}
	return strings.Join(append(out, "primary key "+pkey), "\n")
}

func swapInput(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "doc:%d#viewer@user:u%d\n", i, i%7)
	}
	return b.String()
}

// TestImportSwapKeepsTheTable imports into an empty store by building a
// table and swapping it in, and checks that the table swapped in is the
// one the migrations make (columns, indexes, names), that readers on
// connections that read the old one read the new one, and that writes
// after it keep their semantics.
func TestImportSwapKeepsTheTable(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{})
	if !b.swaps {
		t.Fatal("PostgreSQL not recognised: imports would not be swapped in")
	}
	want := tableShape(t, ctx, b.Pool())
	var straight int
	b.loaded = func(s, _ int) { straight = s }
	s := store.New(b, store.Options{ImportChunk: 100})
	storetest.Setup(t, ctx, s)
	// Every pooled connection reads the old table first, so that their
	// cached statements name it.
	for range 4 {
		if got := storetest.All(t, ctx, storetest.Snap(t, ctx, s, 0), tuples.Filter{ObjectType: "doc"}); len(got) != 0 {
			t.Fatalf("read %d tuples from an empty store", len(got))
		}
	}
	res, err := s.Import(ctx, strings.NewReader(swapInput(450)), store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if straight != 450 {
		t.Fatalf("%d of 450 changes went straight in", straight)
	}
	if got := tableShape(t, ctx, b.Pool()); got != want {
		t.Fatalf("the table swapped in differs from the migrated one:\n%s\nwant\n%s", got, want)
	}
	sn := storetest.Snap(t, ctx, s, res.Revision)
	if !storetest.Has(t, ctx, sn, "doc:17#viewer@user:u3") || len(storetest.All(t, ctx, sn, tuples.Filter{ObjectType: "doc"})) != 450 {
		t.Fatal("the imported tuples are not read back")
	}
	// The primary key holds: writing a stored tuple again changes
	// nothing, deleting one removes it at the next revision only.
	storetest.Write(t, ctx, s, tuples.OpTouch, "doc:17#viewer@user:u3")
	del := storetest.Write(t, ctx, s, tuples.OpDelete, "doc:18#viewer@user:u4")
	if storetest.Has(t, ctx, storetest.Snap(t, ctx, s, del), "doc:18#viewer@user:u4") || !storetest.Has(t, ctx, sn, "doc:18#viewer@user:u4") {
		t.Fatal("a delete after the swap is not read at its revision")
	}
	var rows int
	if err := b.Pool().QueryRow(ctx, `SELECT count(*) FROM docket_tuples`).Scan(&rows); err != nil || rows != 450 {
		t.Fatalf("%d rows after touching and deleting one of 450 (%v)", rows, err)
	}
}

// TestImportSwapFallsBack holds what the swap may not take from the
// table (a reader's lock, a grant) and checks that the import then takes
// the checked path and stores the same.
func TestImportSwapFallsBack(t *testing.T) {
	ctx := context.Background()
	t.Run("a reader holds the table", func(t *testing.T) {
		b := openBackend(t, Options{})
		b.swapLockWait = 50 * time.Millisecond
		var straight int
		b.loaded = func(s, _ int) { straight = s }
		s := store.New(b, store.Options{ImportChunk: 100})
		storetest.Setup(t, ctx, s)
		tx, err := b.Pool().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT count(*) FROM docket_tuples`); err != nil {
			t.Fatal(err)
		}
		res, err := s.Import(ctx, strings.NewReader(swapInput(300)), store.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if straight != 0 {
			t.Fatalf("%d changes went straight in while a reader held the table", straight)
		}
		if got := storetest.All(t, ctx, storetest.Snap(t, ctx, s, res.Revision), tuples.Filter{}); len(got) != 300 {
			t.Fatalf("%d tuples stored, want 300", len(got))
		}
		// The reader's snapshot, older than the import, still sees none.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM docket_tuples`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the older reader saw %d rows (%v)", n, err)
		}
	})
	// What the table carries, and a statement true while it still does.
	for _, c := range []struct{ name, set, kept string }{
		{"a grant on the table", `GRANT SELECT ON docket_tuples TO %s`, `SELECT has_table_privilege('%s', 'docket_tuples', 'SELECT')`},
		{"replica identity", `ALTER TABLE docket_tuples REPLICA IDENTITY FULL`, `SELECT relreplident = 'f' FROM pg_class WHERE oid = 'docket_tuples'::regclass`},
		{"a column's statistics target", `ALTER TABLE docket_tuples ALTER COLUMN object_id SET STATISTICS 500`,
			`SELECT attstattarget = 500 FROM pg_attribute WHERE attrelid = 'docket_tuples'::regclass AND attname = 'object_id'`},
		{"a storage option", `ALTER TABLE docket_tuples SET (fillfactor = 90)`, `SELECT reloptions IS NOT NULL FROM pg_class WHERE oid = 'docket_tuples'::regclass`},
		{"an index of its own", `CREATE INDEX docket_tuples_extra ON docket_tuples (relation)`, `SELECT to_regclass('docket_tuples_extra') IS NOT NULL`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := openBackend(t, Options{})
			s := store.New(b, store.Options{ImportChunk: 100})
			storetest.Setup(t, ctx, s)
			var db string
			if err := b.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
				t.Fatal(err)
			}
			role := db + "_reader"
			if _, err := b.Pool().Exec(ctx, `CREATE ROLE `+role); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				b.Pool().Exec(ctx, `REVOKE ALL ON docket_tuples FROM `+role)
				b.Pool().Exec(ctx, `DROP ROLE `+role)
			})
			if _, err := b.Pool().Exec(ctx, strings.ReplaceAll(c.set, "%s", role)); err != nil {
				t.Fatal(err)
			}
			res, err := s.Import(ctx, strings.NewReader(swapInput(300)), store.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var kept bool
			if err := b.Pool().QueryRow(ctx, strings.ReplaceAll(c.kept, "%s", role)).Scan(&kept); err != nil || !kept {
				t.Fatalf("the import lost %s (%v)", c.name, err)
			}
			if got := storetest.All(t, ctx, storetest.Snap(t, ctx, s, res.Revision), tuples.Filter{}); len(got) != 300 {
				t.Fatalf("%d tuples stored, want 300", len(got))
			}
		})
	}
}
