package badger

import (
	"context"
	"errors"
	"fmt"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestBadgerReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	r1 := setup(t, ctx, s, fixture...)
	r2 := write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana")
	want1 := all(t, ctx, snap(t, ctx, s, r1), tuples.Filter{})
	want2 := all(t, ctx, snap(t, ctx, s, r2), tuples.Filter{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != r2 || sn.Schema() == nil || sn.Schema().Relation("doc", "viewer") == nil {
		t.Fatalf("reopened at revision %d, schema %v", sn.Revision(), sn.Schema())
	}
	if got := all(t, ctx, sn, tuples.Filter{}); !slices.Equal(got, want2) {
		t.Fatalf("reopened latest = %v", got)
	}
	if got := all(t, ctx, snap(t, ctx, s, r1), tuples.Filter{}); !slices.Equal(got, want1) {
		t.Fatalf("reopened revision %d = %v", r1, got)
	}
	if r := write(t, ctx, s, tuples.OpTouch, "doc:9#owner@user:ana"); r != r2+1 {
		t.Fatalf("write after reopen at %d, want %d", r, r2+1)
	}
	cs, err := s.Changes(ctx, 0, 0)
	if err != nil || len(cs) != len(fixture)+2 {
		t.Fatalf("changes after reopen: %d, %v", len(cs), err)
	}
}

func TestBadgerOpenErrors(t *testing.T) {
	dir := t.TempDir()
	s := openBadger(t, dir)
	_, err := openTestStore(dir, Options{BlockCacheMB: 16})
	if !errors.Is(err, tuples.ErrLocked) || !strings.Contains(err.Error(), "database at "+dir+" is in use by another docket process") {
		t.Errorf("second open = %v, want store.ErrLocked", err)
	}
	s.Close()

	file := filepath.Join(t.TempDir(), "plain.txt")
	os.WriteFile(file, []byte("hello"), 0o644)
	if _, err := openTestStore(file, Options{}); err == nil || !strings.Contains(err.Error(), "is a file, not a Docket database") {
		t.Errorf("open of a file = %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.md"), []byte("x"), 0o644)
	if _, err := openTestStore(other, Options{}); err == nil || !strings.Contains(err.Error(), "is not a Docket database: it holds other files (such as notes.md)") {
		t.Errorf("open of a foreign directory = %v", err)
	}

	// A damaged manifest is reported as damage, not as a panic.
	broken := t.TempDir()
	s = openBadger(t, broken)
	setup(t, context.Background(), s, "doc:1#viewer@user:ana")
	s.Close()
	if err := os.WriteFile(filepath.Join(broken, "MANIFEST"), []byte("garbage, not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openTestStore(broken, Options{BlockCacheMB: 16}); err == nil || !strings.Contains(err.Error(), "database damaged: MANIFEST cannot be read") {
		t.Errorf("open of a damaged database = %v", err)
	}
}

func TestBadgerLargeWriteIsOneRevision(t *testing.T) {
	ctx := context.Background()
	s := openBadger(t, t.TempDir())
	defer s.Close()
	setup(t, ctx, s)
	var b tuples.Batch
	for i := range atomicLimit + 5 {
		b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpCreate, Tuple: tuples.Tuple{ObjectType: "doc", ObjectID: "d" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i), Relation: "viewer", SubjectType: "user", SubjectID: "ana"}})
	}
	rev, err := s.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(all(t, ctx, snap(t, ctx, s, rev-1), tuples.Filter{})); got != 0 {
		t.Fatalf("previous revision sees %d tuples", got)
	}
	rev2, n, err := s.DeleteMatching(ctx, tuples.Filter{SubjectType: "user", SubjectID: "ana"})
	if err != nil || n != atomicLimit+5 || rev2 != rev+1 {
		t.Fatalf("delete matching: %d at %d, %v", n, rev2, err)
	}
	if got := len(all(t, ctx, snap(t, ctx, s, rev), tuples.Filter{})); got != atomicLimit+5 {
		t.Fatalf("revision %d sees %d tuples", rev, got)
	}
	if got := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); got != 0 {
		t.Fatalf("after delete %d tuples", got)
	}
}

// TestBadgerRollback leaves the entries of an unpublished bulk write
// behind, as a crash between its flush and its marker would, and checks
// that reopening hides them, also from the write that next takes that
// revision number.
func TestBadgerRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:2#viewer@user:ana")
	e := s.e
	orphans := []tuples.Change{
		{Kind: tuples.ChangeWrite, Tuple: mustParse(t, "doc:3#viewer@user:ana")},
		{Kind: tuples.ChangeDelete, Tuple: mustParse(t, "doc:1#viewer@user:ana")},
		{Kind: tuples.ChangeWrite, Tuple: mustParse(t, "doc:2#viewer@user:ana")},
	}
	wb := e.db.NewWriteBatchAt(uint64(rev + 1))
	if err := e.put(ctx, batchPut{wb}, rev+1, &kv.Commit{Changes: orphans}); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})
	s.Close()

	s = openBadger(t, dir)
	defer s.Close()
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{}); !slices.Equal(got, want) {
		t.Fatalf("after reopen %v, want %v", got, want)
	}
	next := write(t, ctx, s, tuples.OpTouch, "doc:9#owner@user:bob")
	if next != rev+1 {
		t.Fatalf("next write at %d, want %d", next, rev+1)
	}
	got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{ObjectType: "doc", Relation: "viewer"})
	if !slices.Equal(got, want) {
		t.Fatalf("the unpublished write shows through: %v, want %v", got, want)
	}
	cs, err := s.Changes(ctx, rev, 0)
	if err != nil || len(cs) != 1 || cs[0].Tuple.String() != "doc:9#owner@user:bob" {
		t.Fatalf("changes at the reused revision = %v, %v", cs, err)
	}
}

// TestBadgerCancelledImport cancels imports half-way, on the stream-load
// path and the write-batch path: nothing of them may show, then or after
// the next write.
func TestBadgerCancelledImport(t *testing.T) {
	// Large enough that Badger has committed part of it when cancelled
	// (its write batches and stream tables fill at about 50k tuples).
	n, cancelAt := 100000, 60000
	if raceEnabled {
		n, cancelAt = 40000, 8192
	}
	var b strings.Builder
	for i := range n {
		b.WriteString("doc:c" + strconv.Itoa(i) + "#viewer@user:ana\n")
	}
	for _, seed := range []string{"", "doc:0#owner@user:bob"} {
		ctx := context.Background()
		s := openBadger(t, t.TempDir())
		var lines []string
		if seed != "" {
			lines = append(lines, seed)
		}
		rev := setup(t, ctx, s, lines...)
		cctx, cancel := context.WithCancel(ctx)
		_, err := s.Import(cctx, strings.NewReader(b.String()), store.ImportOptions{Progress: func(done, total int) {
			if done >= cancelAt && done < total {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled import = %v", err)
		}
		if got := snap(t, ctx, s, 0).Revision(); got != rev {
			t.Fatalf("cancelled import published revision %d", got)
		}
		write(t, ctx, s, tuples.OpTouch, "doc:1#owner@user:cy")
		if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{SubjectID: "ana"}); len(got) != 0 {
			t.Errorf("seed %q: a cancelled import shows %d tuples", seed, len(got))
		}
		if _, err := s.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{SubjectID: "ana"}); len(got) != n {
			t.Fatalf("re-run import shows %d tuples", len(got))
		}
		s.Close()
	}
}

func TestBadgerClosed(t *testing.T) {
	ctx := context.Background()
	s := openBadger(t, t.TempDir())
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	sn := snap(t, ctx, s, 0)
	s.Close()
	if _, err := sn.Has(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.Subject{Type: "user", ID: "ana"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Has after close = %v", err)
	}
	if _, _, err := sn.Read(ctx, tuples.Filter{}, "", 0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Read after close = %v", err)
	}
	if _, err := s.Snapshot(ctx, 0); err == nil {
		t.Error("Snapshot after close succeeded")
	}
}

// TestBadgerStreamIntoFull stream-loads an import into a store that holds
// tuples, some of which the import repeats: older snapshots keep their
// view, and the result survives deletes and a reopen.
func TestBadgerStreamIntoFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	s.e.streamMin = atomicLimit + 1
	before := setup(t, ctx, s, fixture...)
	var b strings.Builder
	for _, x := range fixture[:4] {
		b.WriteString(x + "\n")
	}
	const n = atomicLimit + 100
	for i := range n {
		b.WriteString("doc:s" + strconv.Itoa(i) + "#viewer@user:ana\n")
	}
	res, err := s.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(s store.Store, rev tuples.Revision, want int) {
		t.Helper()
		if got := len(all(t, ctx, snap(t, ctx, s, rev), tuples.Filter{})); got != want {
			t.Fatalf("revision %d holds %d tuples, want %d", rev, got, want)
		}
	}
	check(s, before, len(fixture))
	check(s, res.Revision, len(fixture)+n)
	write(t, ctx, s, tuples.OpDelete, fixture[0], "doc:s7#viewer@user:ana")
	check(s, 0, len(fixture)+n-2)
	check(s, res.Revision, len(fixture)+n)
	s.Close()
	s = openBadger(t, dir)
	defer s.Close()
	check(s, 0, len(fixture)+n-2)
	check(s, before, len(fixture))
	if has(t, ctx, snap(t, ctx, s, 0), fixture[0]) || !has(t, ctx, snap(t, ctx, s, 0), fixture[1]) {
		t.Fatal("touch by stream-load lost a delete or a tuple")
	}
}

// TestBadgerEmptyMemtableFile opens a database holding the empty memtable
// file a kill during its creation leaves behind.
func TestBadgerEmptyMemtableFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, "99999.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	if !has(t, ctx, snap(t, ctx, s, 0), "doc:1#viewer@user:ana") {
		t.Fatal("tuple lost")
	}
}

// TestBadgerCancelledStreamedImport cancels an import that sorts on disk
// while it reads and while it writes its tables: nothing of it may show,
// its files must go, and it must then run whole.
func TestBadgerCancelledStreamedImport(t *testing.T) {
	n := 20000
	if raceEnabled {
		n = 8000
	}
	var b strings.Builder
	for i := range n {
		b.WriteString("doc:c" + strconv.Itoa(i) + "#viewer@user:ana\n")
	}
	input := b.String()
	for _, when := range []string{"reading", "writing"} {
		t.Run(when, func(t *testing.T) {
			ctx := context.Background()
			s := openBadger(t, t.TempDir())
			defer s.Close()
			setup(t, ctx, s, fixture...)
			streamSmall(s)
			before := stateOf(t, ctx, s)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var r io.Reader = strings.NewReader(input)
			opts := store.ImportOptions{}
			spill := filepath.Join(s.e.path, spillDirName)
			if when == "reading" {
				// Cancelled once runs are on disk and half the input is read.
				r = &cancellingReader{r: r, after: len(input) / 2, cancel: func() {
					if runs, _ := filepath.Glob(filepath.Join(spill, "run*")); len(runs) == 0 {
						t.Error("no runs on disk when cancelled")
					}
					cancel()
				}}
			} else {
				opts.Progress = func(done, total int) {
					if done < total {
						cancel()
					}
				}
			}
			if _, err := s.Import(cctx, r, opts); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled import = %v", err)
			}
			if after := stateOf(t, ctx, s); !after.Equal(before) {
				t.Fatalf("a cancelled import changed the store: revision %d -> %d, %d -> %d tuples",
					before.Revision(), after.Revision(), len(before.Tuples()), len(after.Tuples()))
			}
			noLeftovers(t, s, when == "reading")
			write(t, ctx, s, tuples.OpTouch, "doc:1#owner@user:cy")
			if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{SubjectID: "ana", Relation: "viewer", ObjectType: "doc"}); len(got) != 3 {
				t.Fatalf("after a cancelled import and a write: %d viewers ana, want the fixture's 3", len(got))
			}
			if _, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{SubjectID: "ana", Relation: "viewer", ObjectType: "doc"}); len(got) != n+3 {
				t.Fatalf("re-run import shows %d tuples, want %d", len(got), n+3)
			}
			noLeftovers(t, s, false)
		})
	}
}

// cancellingReader calls cancel once it has read after bytes.
type cancellingReader struct {
	r      io.Reader
	after  int
	read   int
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.read >= c.after && c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	n, err := c.r.Read(p[:min(len(p), 4096)])
	c.read += n
	return n, err
}

// TestBadgerTrimChangesPersists: where the change log starts survives a
// reopen, and a trim of many revisions' entries takes one revision.
func TestBadgerTrimChangesPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s)
	var last tuples.Revision
	for i := range 300 {
		last = write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:ana", i))
	}
	n, err := s.TrimChanges(ctx, last)
	if err != nil || n != 299 {
		t.Fatalf("trim = %d, %v; want 299", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	if _, err := s.Changes(ctx, last-2, 0); !errors.Is(err, tuples.ErrChangesTrimmed) {
		t.Fatalf("changes after reopen: %v, want ErrChangesTrimmed", err)
	}
	cs, err := s.Changes(ctx, last-1, 0)
	if err != nil || len(cs) != 1 || cs[0].Revision != last {
		t.Fatalf("changes after %d = %v, %v", last-1, cs, err)
	}
	if latest := snap(t, ctx, s, 0); latest.Revision() != last+1 {
		t.Errorf("latest = %d, want %d (the trim's own revision)", latest.Revision(), last+1)
	}
}
