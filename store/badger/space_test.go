package badger

import (
	"context"
	"errors"
	"fmt"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A full disk is seen through the engine's free-space seam: every write
// is refused with store.ErrNoSpace, nothing is written, and once space is
// back, writes go through.
func TestBadgerFullDiskRefusesWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	defer s.Close()
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana")
	e := s.e
	free := int64(1 << 20)
	e.statfs = func() int64 { return free }
	_, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:2#viewer@user:ana")}}})
	if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("write on a full disk = %v", err)
	}
	_, err = s.Import(ctx, strings.NewReader("doc:3#viewer@user:ana\n"), store.ImportOptions{})
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("import on a full disk = %v", err)
	}
	if sn := snap(t, ctx, s, 0); sn.Revision() != rev || len(all(t, ctx, sn, tuples.Filter{})) != 1 {
		t.Fatal("a refused write wrote something")
	}
	free = 1 << 30
	write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:ana")
}

// A real full disk: a small tmpfs, filled by imports until one is
// refused. The process must not die (Badger's memory-mapped writes raise
// SIGBUS on a full tmpfs), the store stays readable and reopens, and it
// takes writes again once space is freed. It needs a mount, so root.
func TestBadgerFullTmpfs(t *testing.T) {
	ctx := context.Background()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=24m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "db")
	s := openBadger(t, dir)
	setup(t, ctx, s)
	stored := 0
	var err error
	for round := 0; round < 40; round++ {
		var b strings.Builder
		for i := range 40000 {
			fmt.Fprintf(&b, "doc:r%d_%d#viewer@team:t%d#member\n", round, i, i%997)
		}
		if _, err = s.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{}); err != nil {
			break
		}
		stored += 40000
	}
	if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("after %d tuples, import on a full tmpfs = %v", stored, err)
	}
	if n := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); n != stored {
		t.Fatalf("store holds %d tuples, want %d", n, stored)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close on a full disk: %v", err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	if n := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); n != stored {
		t.Fatalf("reopened store holds %d tuples, want %d", n, stored)
	}
	os.Remove(filler)
	write(t, ctx, s, tuples.OpTouch, "doc:after#viewer@user:ana")
}

// What an import the process did not live to finish leaves never stops
// the store from opening.
func TestBadgerOpensWithLeftoverSpill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	s.Close()
	spill := filepath.Join(dir, spillDirName)
	os.MkdirAll(spill, 0o700)
	os.WriteFile(filepath.Join(spill, "run000001"), []byte("\xff\xff\xffgarbage"), 0o600)
	os.WriteFile(filepath.Join(spill, "changes"), make([]byte, 1<<16), 0o600)
	ro, err := openTestStore(dir, Options{ReadOnly: true, BlockCacheMB: 8})
	if err != nil {
		t.Fatalf("read-only open with a leftover spill: %v", err)
	}
	ro.Close()
	s = openBadger(t, dir)
	defer s.Close()
	if !has(t, ctx, snap(t, ctx, s, 0), "doc:1#viewer@user:ana") {
		t.Fatal("tuple lost")
	}
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover spill is still there: %v", err)
	}
	write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:ana")
}
