package badger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// crashedCopy writes n tuples to a store, one commit each, and copies its
// directory while the store is still open, as a process killed then
// would leave it: the writes in a memtable's log, not yet in a table. It
// returns the copy and its memtable log.
func crashedCopy(t *testing.T, n int) (dir, mem string) {
	t.Helper()
	ctx := context.Background()
	live := t.TempDir()
	s := openBadger(t, live)
	setup(t, ctx, s)
	for i := range n {
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i))
	}
	dir = t.TempDir()
	copySparse(t, live, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	for _, m := range mems {
		if data, err := readLogData(m); err == nil && len(data) > logHeaderSize+recordHeaderMax {
			return dir, m
		}
	}
	t.Fatalf("no memtable log holds the writes: %v", mems)
	return "", ""
}

// copySparse copies the files of src into dst, each only as far as its
// data goes and then extended to its size: Badger's logs are sized up
// front, a value log to 2 GiB.
func copySparse(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if !ent.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := in.Stat()
		out, err := os.Create(filepath.Join(dst, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, io.NewSectionReader(in, 0, dataEnd(in, fi.Size()))); err != nil {
			t.Fatal(err)
		}
		if err := out.Truncate(fi.Size()); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// records returns the offsets of the sound records of a log, from the
// first to where checkLog's walk ends.
func records(t *testing.T, path string) []int {
	t.Helper()
	data, err := readLogData(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for at := logHeaderSize; ; {
		n, ok := recordAt(data, at)
		if !ok {
			return offs
		}
		offs = append(offs, at)
		at += n
	}
}

// Badger replays a memtable's log up to the first record that fails its
// checksum, and a writable open truncates the log there: a flipped byte
// in it once dropped every later write without a word. It is an error
// naming the file, on open and in Verify; a torn last record, all a crash
// can leave, is not.
func TestDamagedMemtableLogIsAnErrorNamingIt(t *testing.T) {
	ctx := context.Background()
	const n = 20
	dir, mem := crashedCopy(t, n)
	offs := records(t, mem)
	if len(offs) < 2*n {
		t.Fatalf("the log holds %d records for %d writes", len(offs), n)
	}
	name := filepath.Base(mem)
	work := t.TempDir()
	for _, c := range []struct {
		what    string
		damage  func(path string)
		damaged bool
		tuples  int // held after a writable open, when not damaged
	}{
		{"untouched", func(string) {}, false, n},
		{"a byte flipped in an early record", func(p string) { flipByte(t, p, int64(offs[3]+5)) }, true, 0},
		{"a byte flipped in a record's header", func(p string) { flipByte(t, p, int64(offs[len(offs)/2]+2)) }, true, 0},
		{"a record zeroed", func(p string) { zero(t, p, offs[len(offs)/2], 8) }, true, 0},
		// The last write's records cut short, as a crash in the middle of
		// logging it leaves them: that write is not there, the rest is.
		{"its last records torn", func(p string) { zero(t, p, offs[len(offs)-2]+3, 1<<12) }, false, n - 1},
	} {
		t.Run(c.what, func(t *testing.T) {
			d := filepath.Join(work, strings.ReplaceAll(c.what, " ", "_"))
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			copySparse(t, dir, d)
			c.damage(filepath.Join(d, name))

			r, err := Verify(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if c.damaged {
				if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "memtable log "+name+" fails its checksum at byte") || !r.TablesOnly {
					t.Fatalf("verify problems = %q", r.Problems)
				}
			}
			s, err := openTestStore(d, Options{BlockCacheMB: 16})
			if c.damaged {
				if err == nil {
					s.Close()
					t.Fatal("a database with a damaged memtable log opened")
				}
				var de *DamageError
				if !errors.As(err, &de) || !errors.Is(err, store.ErrDamaged) || strings.Contains(err.Error(), "\n") ||
					!strings.Contains(err.Error(), "database damaged: memtable log "+name+" fails its checksum at byte") ||
					!strings.Contains(err.Error(), "restore a backup or re-import an export") {
					t.Fatalf("open error = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); got != c.tuples {
				t.Fatalf("store holds %d tuples, want %d", got, c.tuples)
			}
			if len(r.Problems) != 0 {
				t.Fatalf("verify problems = %q", r.Problems)
			}
		})
	}
}

func zero(t *testing.T, path string, at, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, n), int64(at)); err != nil {
		t.Fatal(err)
	}
}
