package badger

import (
	"context"
	"fmt"
	"github.com/docketdb/docket/tuples"
	"path/filepath"
	"syscall"
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
	const writes = 30
	start := time.Now()
	for i := range writes {
		s := openBadger(t, dir)
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) > 8 {
		t.Fatalf("after %d writes, each by a store opened for it, the directory holds %d tables", writes, len(ssts))
	}
	t.Logf("%d writes in %v, %d tables", writes, time.Since(start), len(ssts))

	// With as few open files allowed as there were writes, the store still
	// opens, reads and writes: it holds a file per table, not per write.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = writes
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower the open-file limit: %v", err)
	}
	s = openBadger(t, dir)
	n := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{}))
	write(t, ctx, s, tuples.OpTouch, "doc:last#viewer@user:ana")
	cerr := s.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if n != writes || cerr != nil {
		t.Fatalf("store holds %d tuples, want %d; close: %v", n, writes, cerr)
	}
}
