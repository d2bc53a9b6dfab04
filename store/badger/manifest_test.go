package badger

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// manyWrites writes n tuples, each by a store opened for it and closed
// after it, as n `docket tuple write` runs do, and returns what the
// MANIFEST records after each.
func manyWrites(t *testing.T, dir string, n int, opts Options) []manifest {
	t.Helper()
	ctx := context.Background()
	s, err := openTestStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	setup(t, ctx, s)
	s.Close()
	var after []manifest
	for i := range n {
		s, err := openTestStore(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		m, ok, err := readManifest(dir)
		if err != nil || !ok {
			t.Fatalf("after write %d: MANIFEST: %v", i, err)
		}
		after = append(after, m)
	}
	return after
}

// Every process that writes adds a table and its compaction to the
// MANIFEST, which Badger rewrites only past 10,000 deletions, and which
// is replayed on every open: after 10,000 single-tuple writes opening took
// 3.8 times as long as opening the same tuples written at once. A
// writable open now rewrites it once it records more than a few
// deletions beyond its tables, and the tables are the same afterwards.
func TestBadgerManifestStaysShortAfterManySmallWrites(t *testing.T) {
	ctx := context.Background()
	const writes, slack = 30, 4
	grown := manyWrites(t, t.TempDir(), writes, Options{BlockCacheMB: 16, manifestSlack: 1 << 30})
	if last := grown[len(grown)-1]; last.Deletions < writes {
		t.Fatalf("with no rewrite, %d writes left only %d deletions in the MANIFEST: the test measures nothing", writes, last.Deletions)
	}
	dir := t.TempDir()
	kept := manyWrites(t, dir, writes, Options{BlockCacheMB: 16, manifestSlack: slack})
	rewrites := 0
	for i, m := range kept {
		// What one open and close adds comes on top of what the open
		// before it kept.
		if limit := slack + 4*len(m.Tables) + 8; m.Deletions > limit {
			t.Fatalf("after write %d the MANIFEST records %d deletions for %d tables", i, m.Deletions, len(m.Tables))
		}
		if i > 0 && m.Deletions < kept[i-1].Deletions {
			rewrites++
		}
	}
	if rewrites == 0 {
		t.Fatal("the MANIFEST was never rewritten")
	}
	s := openBadger(t, dir)
	defer s.Close()
	if n := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); n != writes {
		t.Fatalf("store holds %d tuples, want %d", n, writes)
	}
	t.Logf("%d rewrites in %d writes", rewrites, writes)
}

func TestRewriteManifestKeepsTheTables(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	manyWrites(t, dir, 12, Options{BlockCacheMB: 16, manifestSlack: 1 << 30})
	before, _, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "MANIFEST"))

	// While another holds the database, nothing is rewritten.
	s := openBadger(t, dir)
	if err := prepareWritable(dir, before, 1); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "MANIFEST")); !bytes.Equal(now, raw) {
		t.Fatal("the MANIFEST was rewritten while the database was open")
	}
	s.Close()
	before, _, _ = readManifest(dir)

	if err := prepareWritable(dir, before, 1); err != nil {
		t.Fatal(err)
	}
	after, _, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.Deletions != 0 || after.Creations != len(before.Tables) || !maps.Equal(after.Tables, before.Tables) || after.header != before.header {
		t.Fatalf("rewritten MANIFEST: %+v, want the tables of %+v", after, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST-REWRITE")); !os.IsNotExist(err) {
		t.Fatalf("MANIFEST-REWRITE left behind: %v", err)
	}
	s = openBadger(t, dir)
	defer s.Close()
	if n := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); n != 12 {
		t.Fatalf("store holds %d tuples after the rewrite, want 12", n)
	}
}
