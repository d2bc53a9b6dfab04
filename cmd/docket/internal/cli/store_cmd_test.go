package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
)

func TestSchemaWriteAndShow(t *testing.T) {
	f := newFixture(t)
	r := f.run("schema", "show")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "type case {", "relation viewer = assignee | access_list | public - deny_list")

	r = f.run("schema", "show", "-o", "json")
	r.want(t, 0)
	var out struct {
		Revision int    `json:"revision"`
		Schema   string `json:"schema"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Revision != 2 || !strings.Contains(out.Schema, "type team") {
		t.Errorf("schema show json: %v %+v", err, out)
	}
}

func TestSchemaWriteInvalid(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "bad.rebac", "type doc {\n  relation owner: usr\n}\n")
	r := f.run("schema", "write", p)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, p+":2:19: ")
	lacks(t, "stderr", r.stderr, "Usage:")
}

func TestSchemaWriteRefusesOrphaningTuples(t *testing.T) {
	f := newFixture(t)
	// Drop deny_list, which holds tuples.
	smaller := strings.Replace(testSchema, "  relation deny_list: user\n", "", 1)
	smaller = strings.Replace(smaller, " - deny_list", "", 1)
	p := writeFile(t, f.dir, "smaller.rebac", smaller)
	r := f.run("schema", "write", p)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "case#deny_list", "case:1#deny_list@user:mallory", "case:2#deny_list@user:bob")
	// Nothing changed.
	contains(t, "schema show", f.run("schema", "show").stdout, "deny_list")

	// A dry run says the same, with status 1, and writes nothing.
	r = f.run("schema", "write", "--dry-run", p)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, "would be refused: stored tuples the new schema does not accept include case:1#deny_list@user:mallory")
	contains(t, "schema show", f.run("schema", "show").stdout, "deny_list")
}

func TestSchemaWriteListsChanges(t *testing.T) {
	f := newFixture(t) // schema at 1, tuples at 2
	bigger := strings.Replace(testSchema, "  relation deny_list: user\n", "  relation deny_list: user | team#member\n  relation watcher: user\n", 1)
	p := writeFile(t, f.dir, "bigger.rebac", bigger)

	r := f.run("schema", "write", "--dry-run", p)
	r.want(t, 0)
	want := "dry run: the schema would be accepted; nothing written (3 types, 2 changes)\n" +
		"  ~ case#deny_list: user | team#member   (was: user)\n" +
		"  + case#watcher: user\n"
	if r.stdout != want {
		t.Errorf("dry run printed %q, want %q", r.stdout, want)
	}
	lacks(t, "schema show", f.run("schema", "show").stdout, "watcher")

	r = f.run("schema", "write", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "schema written at revision 3 (3 types, 2 changes)\n  ~ case#deny_list")
	r = f.run("schema", "write", p, "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"changes": []`, `"revision": 3`)
	// The same schema again makes no revision.
	r = f.run("schema", "write", p)
	r.want(t, 0)
	if r.stdout != "schema unchanged at revision 3 (3 types, 0 changes)\n" {
		t.Errorf("rewrite printed %q", r.stdout)
	}
	// A comment is a change of the stored text, though not of any answer.
	p2 := writeFile(t, f.dir, "commented.rebac", "// Deny lists may hold teams now.\n"+bigger)
	r = f.run("schema", "write", p2)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "schema written at revision 4 (3 types, 0 changes)")

	// A dry run on a path with no database creates none.
	db := filepath.Join(t.TempDir(), "db")
	r = run(t, "--db", db, "schema", "write", "--dry-run", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "would be accepted; nothing written (3 types)")
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", db)
	}
}

func TestSchemaNotYetWritten(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for i, args := range [][]string{
		{"tuple", "write", "case:1#assignee@user:alice"},
		{"tuple", "read"},
		{"check", "case:1#viewer@user:alice"},
		{"expand", "case:1#viewer"},
		{"lookup", "subjects", "case:1#viewer"},
		{"schema", "show"},
	} {
		// Badger for the first two (the message names the path), then
		// the faster in-memory store.
		flags := []string{"--db", db}
		if i > 1 {
			flags = []string{"--memory"}
		}
		r := run(t, append(flags, args...)...)
		r.want(t, 2)
		contains(t, strings.Join(args, " ")+" stderr", r.stderr, "no schema written", "docket schema write")
		if n := strings.Count(r.stderr, "\n"); n != 1 {
			t.Errorf("%v: want one error line, got:\n%s", args, r.stderr)
		}
	}
	r := run(t, "--memory", "check", "case:1#viewer@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "no schema written to the in-memory store", "docket schema write")
}

func TestBadgerPersistsAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "docket.db")
	schemaPath := writeFile(t, dir, "case.rebac", testSchema)
	run(t, "--db", db, "schema", "write", schemaPath).want(t, 0)
	r := run(t, "--db", db, "tuple", "write", "case:1#assignee@user:alice")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "wrote 1 tuple at revision 2")
	r = run(t, "--db", db, "check", "case:1#viewer@user:alice")
	r.want(t, 0)
	if r.stdout != "allowed\n" {
		t.Errorf("check printed %q", r.stdout)
	}
}

func TestDocketDBEnvironment(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "from-env.db")
	schemaPath := writeFile(t, dir, "case.rebac", testSchema)
	e := func(args ...string) int {
		var out, errb strings.Builder
		en := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string {
				if k == "DOCKET_DB" {
					return db
				}
				return ""
			}}
		return en.run(t.Context(), args)
	}
	if code := e("schema", "write", schemaPath); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("$DOCKET_DB not used: %v", err)
	}
}

func TestLockedDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "docket.db")
	schemaPath := writeFile(t, dir, "case.rebac", testSchema)
	run(t, "--db", db, "schema", "write", schemaPath).want(t, 0)

	// A second env holds the database open while a run tries to use it.
	holder := &env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{},
		getenv: func(string) string { return "" }, dbPath: db}
	if _, err := holder.openStore(); err != nil {
		t.Fatal(err)
	}
	defer holder.closeStore()

	r := run(t, "--db", db, "tuple", "read")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: database at "+db+" is in use by another docket process", "--db")
	lacks(t, "stderr", r.stderr, "Usage:", "goroutine")
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("want one error line:\n%s", r.stderr)
	}
}

// Only `schema write` starts a database: every other command given a path
// where there is none says so and leaves nothing behind.
func TestMissingDatabaseIsNotCreated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo", "db")
	for _, args := range [][]string{
		{"check", "case:1#viewer@user:alice"},
		{"tuple", "write", "case:1#assignee@user:alice"},
		{"tuple", "read"},
		{"tuple", "import", "-"},
		{"schema", "show"},
		{"lookup", "resources", "user:alice", "case#viewer"},
	} {
		r := run(t, append([]string{"--db", db}, args...)...)
		r.want(t, 2)
		contains(t, strings.Join(args, " ")+" stderr", r.stderr,
			"error: no database at "+db+" (no schema written yet); start one with 'docket schema write FILE'")
		if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, filepath.Dir(db))
		}
	}

	// A database that exists but holds no schema names the path.
	s, err := badger.Open(db, badger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := run(t, "--db", db, "check", "case:1#viewer@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: no schema written to the database at "+db+"; write one first")

	schemaFile := writeFile(t, t.TempDir(), "case.rebac", testSchema)
	db2 := filepath.Join(t.TempDir(), "new", "db")
	r = run(t, "--db", db2, "schema", "write", schemaFile)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "schema written at revision 1")
}

func TestSchemaShowExpanded(t *testing.T) {
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{t: t, store: s, dir: t.TempDir()}
	withPartial := "type user\n\npartial access {\n  relation owner: user\n  relation viewer = owner\n}\n\ntype doc {\n  ...access\n}\n"
	p := writeFile(t, f.dir, "partial.rebac", withPartial)
	f.run("schema", "write", p).want(t, 0)

	r := f.run("schema", "show")
	r.want(t, 0)
	if r.stdout != withPartial {
		t.Errorf("schema show printed %q, want the schema as written %q", r.stdout, withPartial)
	}
	r = f.run("schema", "show", "--expanded")
	r.want(t, 0)
	want := "type user\n\ntype doc {\n  relation owner: user\n  relation viewer = owner\n}\n"
	if r.stdout != want {
		t.Errorf("schema show --expanded printed %q, want %q", r.stdout, want)
	}
}
