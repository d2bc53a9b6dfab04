package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestDatastoreCommands runs the command line on a SQL datastore: it
// refuses unmigrated tables with the command to run, migrates, and then
// writes, checks, imports, exports and lists changes as on --db.
func TestDatastoreCommands(t *testing.T) {
	url := pg.Database(t)
	dir := t.TempDir()
	ds := func(args ...string) result {
		t.Helper()
		return run(t, append([]string{"--datastore", url}, args...)...)
	}
	schema := writeFile(t, dir, "case.rebac", testSchema)
	r := ds("schema", "write", schema)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "not at this version", "docket datastore migrate")

	r = ds("datastore", "migrate")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "applied migrations 1, 2, 3, 4, 5; datastore at version 5")
	r = ds("datastore", "migrate")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "datastore already at version 5")

	ds("schema", "write", schema).want(t, 0)
	ds("tuple", "write", "case:1#assignee@user:alice", "case:1#access_list@team:east#member", "team:east#member@user:bob").want(t, 0)
	ds("check", "case:1#viewer@user:bob").want(t, 0)
	ds("check", "case:1#viewer@user:mallory").want(t, 1)
	ds("tuple", "import", writeFile(t, dir, "more.tuples", "case:2#assignee@user:carol\ncase:3#public@user:*\n")).want(t, 0)
	ds("check", "case:3#viewer@user:anyone").want(t, 0)
	r = ds("tuple", "export")
	r.want(t, 0)
	if n := strings.Count(r.stdout, "\n"); n != 5 {
		t.Errorf("export printed %d tuples, want 5:\n%s", n, r.stdout)
	}
	r = ds("tuple", "changes", "--since", "0")
	r.want(t, 0)
	contains(t, "changes", r.stdout, "case:2#assignee@user:carol")
	r = ds("datastore", "gc")
	r.want(t, 0)
	contains(t, "gc", r.stdout, "oldest revision held")

	// Another datastore flag spelling: the environment variable.
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "DOCKET_DATASTORE" {
			return url
		}
		return ""
	}}
	if code := e.run(context.Background(), []string{"check", "case:2#viewer@user:carol"}); code != 0 {
		t.Errorf("check through $DOCKET_DATASTORE: exit %d: %s", code, errb.String())
	}
}

func TestDatastoreErrors(t *testing.T) {
	r := run(t, "--datastore", "postgres://docket:secret@127.0.0.1:1/none?connect_timeout=2", "check", "case:1#viewer@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "datastore unavailable", "check that the database is running")
	lacks(t, "stderr", r.stderr, "secret", "goroutine")
	r = run(t, "--datastore", "postgres://x@127.0.0.1:1/db", "--memory", "check", "case:1#viewer@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "contradict")
	r = run(t, "datastore", "migrate")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "add --datastore")
	r = run(t, "serve", "--memory", "--no-auth", "--migrate")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--migrate applies to a SQL datastore only")
	r = run(t, "--server", "http://127.0.0.1:1", "--datastore", "postgres://x@127.0.0.1:1/db", "check", "case:1#viewer@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--server and --datastore contradict")
}

// TestValidateOnDatastore runs the seed schemas' validation files on the
// SQL datastore, each in a schema of its own, and checks that none is left.
func TestValidateOnDatastore(t *testing.T) {
	url := pg.Database(t)
	all, err := filepath.Glob("../../../../schemas/casebook/*.yaml")
	if err != nil || len(all) == 0 {
		t.Fatalf("no validation files: %v", err)
	}
	want := run(t, append([]string{"validate"}, all...)...)
	r := run(t, append([]string{"validate", "--datastore", url}, all...)...)
	if r.code != want.code || r.stdout != want.stdout {
		t.Fatalf("validate on the datastore: exit %d\n%s\nwant exit %d\n%s\nstderr: %s", r.code, r.stdout, want.code, want.stdout, r.stderr)
	}
	contains(t, "summary", r.stdout, " passed, ")
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'docket_scratch_%'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d scratch schemas left behind (%v)", left, err)
	}
}

// The membership index lives in the datastore: status reads it, and a
// nested-team check is answered with it.
func TestDatastoreIndex(t *testing.T) {
	url := pg.Database(t)
	dir := t.TempDir()
	ds := func(args ...string) result {
		return run(t, append([]string{"--datastore", url}, args...)...)
	}
	ds("datastore", "migrate").want(t, 0)
	sch := writeFile(t, dir, "s.rebac", "type user\ntype team {\n  relation member: user | team#member\n}\n")
	ds("schema", "write", sch).want(t, 0)
	ds("tuple", "write", "team:a#member@team:b#member", "team:b#member@team:c#member", "team:c#member@user:ann").want(t, 0)
	r := ds("db", "index", "status")
	r.want(t, 0)
	contains(t, "status", r.stdout, "team#member: maintained, 2 groups with 3 entries, 0 over the bound")
	ds("check", "team:a#member@user:ann").want(t, 0)
	ds("tuple", "delete", "team:b#member@team:c#member").want(t, 0)
	ds("check", "team:a#member@user:ann").want(t, 1)
	r = ds("db", "index", "status")
	r.want(t, 0)
	contains(t, "status", r.stdout, "team#member: maintained, 1 groups with 1 entries, 0 over the bound")
}

// TestDatastoreExpiry stores an expiring tuple on the SQL datastore,
// checks it either side of its expiry and collects it with tuple gc.
func TestDatastoreExpiry(t *testing.T) {
	url := pg.Database(t)
	dir := t.TempDir()
	ds := func(args ...string) result {
		t.Helper()
		return run(t, append([]string{"--datastore", url}, args...)...)
	}
	ds("datastore", "migrate").want(t, 0)
	ds("schema", "write", writeFile(t, dir, "team.rebac", "type user\n\ntype team {\n  relation member: user with expiration\n}\n")).want(t, 0)
	ds("tuple", "write", "team:t#member@user:ana[expiration:2027-01-15T00:00:00Z]").want(t, 0)
	ds("check", "--now", "2027-01-14T23:59:59Z", "team:t#member@user:ana").want(t, 0)
	ds("check", "--now", "2027-01-15T00:00:00Z", "team:t#member@user:ana").want(t, 1)
	r := ds("tuple", "gc", "--before", "2027-01-16T00:00:00Z")
	r.want(t, 0)
	contains(t, "gc", r.stdout, "deleted 1 expired tuple")
	ds("check", "--now", "2027-01-01T00:00:00Z", "team:t#member@user:ana").want(t, 1)
	r = ds("tuple", "changes", "--since", "0")
	r.want(t, 0)
	contains(t, "changes", r.stdout, "team:t#member@user:ana[expiration:2027-01-15T00:00:00Z]")
}
