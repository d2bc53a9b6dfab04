package badger

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
)

// Badger writes its tables and its write-ahead log through memory maps
// of files it sizes first. On a full disk such a write does not fail: the
// process dies of SIGBUS, in a goroutine of Badger's own, and a store left
// half-written that way crashed every later open. So each write first
// checks that the disk has room for it, with margin, and is refused with
// store.ErrNoSpace, nothing written, when it has not.

// spaceMargin is room kept free besides a write's own estimate: Badger's
// own files (a memtable's log grows in pages, the manifest, the
// discard file) and a table being built.
const spaceMargin = 4 << 20

// freeBytes is how much the disk holding the database can still take;
// -1 when unknown.
func (e *engine) freeBytes() int64 {
	if e.statfs != nil {
		return e.statfs()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.path, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// lowLevelsBytes is the size of the tables at levels 0 and 1, which
// merging level 0 on close may rewrite.
func (e *engine) lowLevelsBytes() int64 {
	var n int64
	for _, t := range e.db.Tables() {
		if t.Level <= 1 {
			n += int64(t.OnDiskSize)
		}
	}
	return n
}

// ensureSpace refuses a write that needs about need bytes of disk.
func (e *engine) ensureSpace(need int64) error {
	free := e.freeBytes()
	if free < 0 || free >= need+spaceMargin {
		return nil
	}
	return noSpace(e.path, free, need+spaceMargin)
}

func noSpace(path string, free, need int64) error {
	return because(store.ErrNoSpace, "no space left on device for the database at %s: %s free, about %s needed; free space and retry; nothing was written",
		path, mib(free), mib(need))
}

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// commitBytes estimates what c adds to the disk: both keys of each
// change and its change-log entry, once in the log and once in a table.
func commitBytes(c *kv.Commit) int64 {
	var n int64
	for i := range c.Changes {
		n += int64(3*kv.KeyLen(&c.Changes[i].Tuple) + 32)
	}
	return 2*n + int64(len(c.Schema))
}

// spaceError turns a write's ENOSPC into the store.ErrNoSpace message.
func spaceError(path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, store.ErrNoSpace) {
		return because(store.ErrNoSpace, "no space left on device for the database at %s (%v); free space and retry; nothing was written", path, innermost(err))
	}
	return err
}
