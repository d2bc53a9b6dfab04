package badger

import (
	"context"
	"errors"
	"fmt"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every open failure once said "the files may be damaged". Each cause
// now has its own words and remedy, and only damage is called damage.
func TestOpenErrorsSayWhatIsWrong(t *testing.T) {
	path := "/srv/docket.db"
	wrap := func(errno syscall.Errno) error {
		return fmt.Errorf("while opening memtables: %w", &os.PathError{Op: "open", Path: path + "/00001.mem", Err: errno})
	}
	for _, c := range []struct {
		err      error
		readOnly bool
		is       error
		want     string
	}{
		{wrap(syscall.EROFS), false, store.ErrNotWritable, "is on a read-only filesystem; read it with --read-only"},
		{wrap(syscall.EACCES), false, store.ErrNotWritable, "permission denied writing its files; check the directory's owner and permissions, or read it with --read-only"},
		{wrap(syscall.EACCES), true, os.ErrPermission, "permission denied reading its files"},
		{wrap(syscall.EMFILE), false, store.ErrTooManyFiles, "may not open more files; raise the limit (ulimit -n)"},
		{wrap(syscall.ENOSPC), false, store.ErrNoSpace, "no space left on device; free space and retry"},
		{errors.New(`Cannot acquire directory lock on "/srv/docket.db".  Another process is using this Badger database.`), false, store.ErrLocked, "in use by another docket process"},
		{errors.New("manifest has unsupported version: 9"), false, nil, "the files may be damaged"},
	} {
		err := openError(path, c.readOnly, c.err)
		if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%v: got %v, want %q", c.err, err, c.want)
		}
		if c.is != nil && strings.Contains(err.Error(), "damaged") {
			t.Errorf("%v: a cause that is not damage is called damage: %v", c.err, err)
		}
	}
}

func TestBadgerReadOnlyOpenWritesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	s.Close()
	before := dirState(t, dir)

	ro, err := openTestStore(dir, Options{BlockCacheMB: 16, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	// Two read-only opens share the directory.
	ro2, err := openTestStore(dir, Options{BlockCacheMB: 16, ReadOnly: true})
	if err != nil {
		t.Fatalf("second read-only open: %v", err)
	}
	ro2.Close()
	if !has(t, ctx, snap(t, ctx, ro, 0), "doc:1#viewer@user:ana") {
		t.Error("read-only open does not see the tuple")
	}
	_, err = ro.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:2#viewer@user:ana")}}})
	if !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("write to a read-only store = %v", err)
	}
	_, err = ro.Import(ctx, strings.NewReader("doc:3#viewer@user:ana\n"), store.ImportOptions{})
	if !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("import into a read-only store = %v", err)
	}
	if _, err := ro.WriteSchema(ctx, "x.rebac", []byte(storetest.Schema+"\ntype other\n")); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("schema write to a read-only store = %v", err)
	}
	ro.Close()
	if after := dirState(t, dir); after != before {
		t.Errorf("a read-only open changed the directory:\nbefore %s\nafter  %s", before, after)
	}

	empty := t.TempDir()
	if _, err := openTestStore(empty, Options{ReadOnly: true}); !errors.Is(err, store.ErrNoDatabase) {
		t.Errorf("read-only open of an empty directory = %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a read-only open created %d files", len(entries))
	}
}

// dirState lists a directory's files with their sizes and times.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fmt.Fprintf(&b, "%s:%d:%d ", d.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}
