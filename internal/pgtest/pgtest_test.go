package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

var pg = New()

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// TestDatabases checks that each test gets a database of its own, that it
// is empty and writable, and that the cluster survives a stop and restart
// with its data.
func TestDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := pg.Database(t), pg.Database(t)
	if a == b {
		t.Fatalf("two tests got one database: %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Exec(ctx, "CREATE TABLE x (v int); INSERT INTO x VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the second database sees the first's table: %d, %v", n, err)
	}
	cb.Close(ctx)

	c := pg.Cluster(t)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, a); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	ca, err = pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if err := ca.QueryRow(ctx, "SELECT v FROM x").Scan(&n); err != nil || n != 7 {
		t.Fatalf("after a restart: %d, %v", n, err)
	}
}
