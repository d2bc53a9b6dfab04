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
	"slices"
	"strings"
	"testing"
)

// damagedFixture writes n tuples to a new Badger store, closes it and
// returns its directory and the largest table in it.
func damagedFixture(t *testing.T, n int) (dir, table string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	s := openBadger(t, dir)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "doc:%d#viewer@team:t%d#member\n", i, i%997)
	}
	if _, err := s.WriteSchema(ctx, "test.rebac", []byte(storetest.Schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	var size int64
	for _, p := range ssts {
		if fi, err := os.Stat(p); err == nil && fi.Size() > size {
			table, size = p, fi.Size()
		}
	}
	if size < 100000 {
		t.Fatalf("largest table holds %d bytes; the fixture is too small", size)
	}
	return dir, table
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// A byte flipped anywhere in a table's blocks once changed answers or
// made export return part of the tuples with no error; a table cut short
// made every open panic. Each is now an open error naming the table.
func TestBadgerDamagedTableIsAnErrorNamingIt(t *testing.T) {
	dir, table := damagedFixture(t, 60000)
	fi, _ := os.Stat(table)
	name := filepath.Base(table)
	work := t.TempDir()
	for _, c := range []struct {
		what   string
		damage func(path string)
		want   string
	}{
		{"a byte flipped early", func(p string) { flipByte(t, p, 1000) }, "fails its checksum"},
		{"a byte flipped in the middle", func(p string) { flipByte(t, p, fi.Size()/2) }, "fails its checksum"},
		{"a byte flipped in the index", func(p string) { flipByte(t, p, fi.Size()-200) }, "fails its checksum (index)"},
		{"cut to half", func(p string) { os.Truncate(p, fi.Size()/2) }, "is truncated or damaged"},
		{"cut to 3 bytes", func(p string) { os.Truncate(p, 3) }, "is truncated or damaged"},
		{"emptied", func(p string) { os.Truncate(p, 0) }, "is truncated or damaged"},
		{"removed", func(p string) { os.Remove(p) }, "is missing"},
	} {
		t.Run(c.what, func(t *testing.T) {
			d := filepath.Join(work, strings.ReplaceAll(c.what, " ", "_"))
			if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			c.damage(filepath.Join(d, name))
			s, err := openTestStore(d, Options{BlockCacheMB: 16})
			if err == nil {
				s.Close()
				t.Fatal("a damaged database opened")
			}
			var de *DamageError
			if !errors.As(err, &de) || !errors.Is(err, store.ErrDamaged) ||
				!strings.Contains(err.Error(), name+" "+c.want) || !strings.Contains(err.Error(), "restore a backup or re-import an export") {
				t.Fatalf("open error = %v, want one naming %s: %s", err, name, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("open error spans lines: %q", err)
			}
		})
	}
	// The undamaged original still opens and holds everything.
	s := openBadger(t, dir)
	defer s.Close()
	if n := len(all(t, context.Background(), snap(t, context.Background(), s, 0), tuples.Filter{})); n != 60000 {
		t.Fatalf("undamaged store holds %d tuples", n)
	}
}

func TestVerifyTablesPassesAHealthyStore(t *testing.T) {
	dir, _ := damagedFixture(t, 30000)
	found, err := verifyTables(dir, checkBlocks)
	if err != nil || len(found) != 0 {
		t.Fatalf("healthy store: %v %v", found, err)
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	slices.Sort(ssts)
	if len(ssts) == 0 {
		t.Fatal("no tables")
	}
}
