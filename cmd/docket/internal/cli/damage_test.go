package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// panickingStore stands for a bug anywhere below the command line.
type panickingStore struct{ store.Store }

func (panickingStore) Snapshot(context.Context, tuples.Revision) (tuples.Snapshot, error) {
	panic("index out of range [3] with length 3")
}

func TestPanicIsOneLineWithVersionAndWhereToReport(t *testing.T) {
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := runOn(t, panickingStore{s}, "", "check", "case:1#viewer@user:alice")
	r.want(t, 2)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), r.stderr)
	}
	contains(t, "stderr", r.stderr, "error: internal error: index out of range", "(docket ", reportTo, "DOCKET_DEBUG=1")
	lacks(t, "stderr", r.stderr, "goroutine", ".go:")
}

// A damaged table is one line naming the file, with a hint, on every
// command, never a stack trace.
func TestDamagedDatabaseIsOneLineOnEveryCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	schemaFile := writeFile(t, dir, "case.rebac", testSchema)
	var b strings.Builder
	for i := range 40000 {
		b.WriteString("case:" + itoa(i) + "#access_list@team:t" + itoa(i%500) + "#member\n")
	}
	tuplesFile := writeFile(t, dir, "many.tuples", b.String())
	run(t, "--db", db, "schema", "write", schemaFile).want(t, 0)
	run(t, "--db", db, "tuple", "import", tuplesFile).want(t, 0)
	ssts, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	var table string
	var size int64
	for _, p := range ssts {
		if fi, _ := os.Stat(p); fi.Size() > size {
			table, size = p, fi.Size()
		}
	}
	if err := os.Truncate(table, size/2); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "case:1#viewer@user:bob"},
		{"tuple", "read", "case:1"},
		{"tuple", "export"},
		{"tuple", "write", "case:1#assignee@user:bob"},
		{"lookup", "resources", "user:bob", "case#viewer"},
		{"schema", "show"},
	} {
		r := run(t, append([]string{"--db", db}, args...)...)
		r.want(t, 2)
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: stderr is not one line:\n%s", args, r.stderr)
		}
		contains(t, strings.Join(args, " "), r.stderr, "database damaged: table "+filepath.Base(table)+" is truncated", "restore a backup")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDBVerify(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	var b strings.Builder
	for i := range 30000 {
		b.WriteString("case:" + itoa(i) + "#access_list@team:t" + itoa(i%500) + "#member\n")
	}
	run(t, "--db", db, "schema", "write", writeFile(t, dir, "case.rebac", testSchema)).want(t, 0)
	run(t, "--db", db, "tuple", "import", writeFile(t, dir, "many.tuples", b.String())).want(t, 0)
	run(t, "--db", db, "tuple", "write", "case:1#assignee@user:alice").want(t, 0)
	r := run(t, "--db", db, "db", "verify")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "revision 3:", "30001 tuples, 30001 changes checked: ok")
	r = run(t, "--db", db, "db", "verify", "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"ok": true`, `"revision": 3`, `"problems": []`)

	ssts, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	var table string
	var size int64
	for _, p := range ssts {
		if fi, _ := os.Stat(p); fi.Size() > size {
			table, size = p, fi.Size()
		}
	}
	f, err := os.OpenFile(table, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	one := []byte{0}
	f.ReadAt(one, size/2)
	one[0] ^= 1
	f.WriteAt(one, size/2)
	f.Close()
	r = run(t, "--db", db, "db", "verify")
	r.want(t, 1)
	contains(t, "stdout", r.stdout, "table "+filepath.Base(table)+" fails its checksum", "1 problem found; restore a backup")
	r = run(t, "--db", db, "check", "case:1#viewer@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "database damaged: table "+filepath.Base(table)+" fails its checksum")

	r = run(t, "--memory", "db", "verify")
	r.want(t, 2)
	r = run(t, "--db", filepath.Join(dir, "nothing"), "db", "verify")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "no database at")
}

// A process killed after writing leaves its writes in a memtable's log,
// which the next open replays. Badger takes a record that fails its
// checksum for the end of the log and drops every write after it; a log
// damaged so is named instead, by db verify and by every command.
func TestDamagedMemtableLogIsNamed(t *testing.T) {
	dir := t.TempDir()
	live, db := filepath.Join(dir, "live"), filepath.Join(dir, "db")
	run(t, "--db", live, "schema", "write", writeFile(t, dir, "case.rebac", testSchema)).want(t, 0)
	s, err := badger.Open(live, badger.Options{BlockCacheMB: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		tu, err := tuples.Parse("case:" + itoa(i) + "#assignee@user:bob")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(context.Background(), tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: tu}}}); err != nil {
			t.Fatal(err)
		}
	}
	copyOpenDatabase(t, live, db) // as a crash leaves it
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mems, _ := filepath.Glob(filepath.Join(db, "*.mem"))
	if len(mems) != 1 {
		t.Fatalf("memtable logs: %v", mems)
	}
	f, err := os.OpenFile(mems[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	one := []byte{0}
	f.ReadAt(one, 30) // inside the first record, after the file's 20-byte header
	one[0] ^= 1
	f.WriteAt(one, 30)
	f.Close()
	name := filepath.Base(mems[0])

	r := run(t, "--db", db, "db", "verify")
	r.want(t, 1)
	contains(t, "stdout", r.stdout, "memtable log "+name+" fails its checksum at byte 20, and writes logged after it would be lost",
		"1 problem found; restore a backup")
	r = run(t, "--db", db, "check", "case:1#viewer@user:bob")
	r.want(t, 2)
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr is not one line:\n%s", r.stderr)
	}
	contains(t, "stderr", r.stderr, "database damaged: memtable log "+name+" fails its checksum at byte 20", "restore a backup")
}

// copyOpenDatabase copies the files of an open database as they are. Its
// logs are sized up front (a value log to 2 GiB); what the few writes of
// a test wrote lies in their first megabyte, so only that is copied, and
// the copy is then extended, sparse, to the file's size.
func copyOpenDatabase(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		in, err := os.Open(filepath.Join(src, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := in.Stat()
		out, err := os.Create(filepath.Join(dst, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, io.NewSectionReader(in, 0, 1<<20)); err != nil {
			t.Fatal(err)
		}
		if err := out.Truncate(fi.Size()); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}
