package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadOnEmptyDirectoryCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"tuple", "read", "case:1"},
		{"check", "case:1#viewer@user:bob"},
		{"tuple", "export"},
		{"tuple", "changes"},
		{"schema", "show"},
		{"lookup", "resources", "user:bob", "case#viewer"},
		{"tuple", "write", "case:1#assignee@user:bob"},
	} {
		r := run(t, append([]string{"--db", dir}, args...)...)
		r.want(t, 2)
		contains(t, strings.Join(args, " "), r.stderr, "no database at "+dir+" (the directory is empty)", "docket schema write FILE")
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%v created %d files in an empty directory", args, len(entries))
		}
	}
}

// newBadgerDB makes a database holding testSchema and two tuples.
func newBadgerDB(t *testing.T, db string) {
	t.Helper()
	run(t, "--db", db, "schema", "write", writeFile(t, t.TempDir(), "case.rebac", testSchema)).want(t, 0)
	run(t, "--db", db, "tuple", "write", "case:1#assignee@user:alice", "case:1#deny_list@user:mallory").want(t, 0)
}

func TestReadOnlyFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	newBadgerDB(t, db)
	before := listDir(t, db)
	r := run(t, "--db", db, "--read-only", "check", "case:1#viewer@user:alice")
	r.want(t, 0)
	r = run(t, "--db", db, "--read-only", "tuple", "write", "case:2#assignee@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "database at "+db+" is read-only: nothing was written", "drop the flag to write")
	if after := listDir(t, db); after != before {
		t.Errorf("--read-only changed the directory:\n%s\n%s", before, after)
	}
	r = run(t, "--memory", "--db", db, "check", "case:1#viewer@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--memory and --db both given")
	r = run(t, "--memory", "--read-only", "schema", "show")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--memory and --read-only both given")
}

// A database on a read-only filesystem opens read-only by itself: reads
// answer, writes say why they cannot. It needs a mount, so root.
func TestReadOnlyFilesystemOpensReadOnly(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	db := filepath.Join(mnt, "db")
	newBadgerDB(t, db)
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	r := run(t, "--db", db, "check", "case:1#viewer@user:alice")
	r.want(t, 0)
	r = run(t, "--db", db, "tuple", "read", "case:1")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "case:1#assignee@user:alice")
	r = run(t, "--db", db, "tuple", "write", "case:2#assignee@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "is read-only: nothing was written", "because its directory is not writable")
	lacks(t, "stderr", r.stderr, "damaged")
	r = run(t, "--db", db, "schema", "write", writeFile(t, t.TempDir(), "x.rebac", testSchema))
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "read-only filesystem")
	lacks(t, "stderr", r.stderr, "damaged")
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, _ := e.Info()
		b.WriteString(e.Name() + ":" + fi.ModTime().String() + ":" + itoa(int(fi.Size())) + " ")
	}
	return b.String()
}
