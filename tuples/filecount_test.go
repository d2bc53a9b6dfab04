package tuples

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Every process that wrote once left one more table: after a thousand
// single-tuple writes, a thousand files opened on every start. The count
// must follow the data, not the number of processes.
func TestBadgerTablesStayFewAfterManySmallWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBadger(t, dir)
	setup(t, ctx, s)
	s.Close()
	const writes = 40
	start := time.Now()
	for i := range writes {
		s := openBadger(t, dir)
		write(t, ctx, s, OpTouch, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) > 8 {
		t.Fatalf("after %d writes, each by a store opened for it, the directory holds %d tables", writes, len(ssts))
	}
	s = openBadger(t, dir)
	defer s.Close()
	if n := len(all(t, ctx, snap(t, ctx, s, 0), Filter{})); n != writes {
		t.Fatalf("store holds %d tuples, want %d", n, writes)
	}
	t.Logf("%d writes in %v, %d tables", writes, time.Since(start), len(ssts))
}
