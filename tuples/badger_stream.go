package tuples

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Bulk loading into a store that holds no tuples yet bypasses Badger's
// memtable: the keys are sorted here and handed to a StreamWriter, which
// builds the tables directly. This is what makes a first import of
// millions of tuples fast. The tables carry the new revision as version
// and the latest-revision marker is committed after them, so until then
// (and after a crash in between, see rollback) nothing of it is visible.

// flushPrefix is a key range used only to make Badger flush its
// memtables (DropPrefix flushes them when something matches).
var flushPrefix = []byte("x\x00flush")

// streamIntoFull is the default size from which a bulk write is
// stream-loaded even into a store that holds tuples: loading then first
// compacts the whole tree into its last level, which pays off only for
// large loads.
const streamIntoFull = 200000

// streamable reports whether c is stream-loaded: only writes, and either
// large or into a database without any tuple key, live or dead.
func (e *badgerEngine) streamable(c *commit) bool {
	if c.schema != "" {
		return false
	}
	for i := range c.changes {
		if c.changes[i].Kind != ChangeWrite {
			return false
		}
	}
	if len(c.changes) >= e.streamMin {
		return true
	}
	txn := e.db.NewTransactionAt(math.MaxUint64, false)
	for _, p := range [][]byte{{tagForward, sep}, {tagReverse, sep}} {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, Prefix: p})
		it.Rewind()
		found := it.Valid()
		it.Close()
		if found {
			return false
		}
	}
	return true
}

// stream writes c at rev through a StreamWriter; the caller publishes rev.
func (e *badgerEngine) stream(ctx context.Context, rev Revision, c *commit) error {
	// The two key families are built and sorted side by side.
	var fks, rks [][]byte
	var wg sync.WaitGroup
	for _, fam := range []struct {
		out *[][]byte
		key func([]byte, *Tuple) []byte
	}{{&fks, forwardKey}, {&rks, reverseKey}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a arena
			keys := make([][]byte, len(c.changes))
			for i := range c.changes {
				keys[i] = fam.key(a.alloc(0), &c.changes[i].Tuple)
				a.alloc(len(keys[i]))
			}
			slices.SortFunc(keys, bytes.Compare)
			*fam.out = slices.CompactFunc(keys, bytes.Equal)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	// The StreamWriter needs empty memtables.
	flush := e.db.NewTransactionAt(uint64(e.latest), true)
	if err := flush.Set(flushPrefix, nil); err != nil {
		return err
	}
	if err := flush.CommitAt(uint64(e.latest), nil); err != nil {
		return fmt.Errorf("flush memtable: %w", err)
	}
	if err := e.db.DropPrefix(flushPrefix); err != nil {
		return fmt.Errorf("flush memtable: %w", err)
	}
	sw := e.db.NewStreamWriter()
	if err := sw.PrepareIncremental(); err != nil {
		sw.Cancel()
		return fmt.Errorf("prepare bulk load: %w", err)
	}
	done := false
	defer func() {
		if !done {
			sw.Cancel()
		}
	}()
	buf := z.NewBuffer(64<<20, "docket.import")
	defer buf.Release()
	written, pending := 0, 0
	send := func() error {
		if pending == 0 {
			return nil
		}
		if err := sw.Write(buf); err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		buf.Reset()
		pending = 0
		if err := ctx.Err(); err != nil {
			return err
		}
		return nil
	}
	add := func(k, v []byte) error {
		encodeKV(buf, k, v, uint64(rev))
		if pending++; pending == 65536 {
			return send()
		}
		return nil
	}
	// Keys go in ascending order: c < f < r.
	for _, chunk := range changeChunks(c.changes, rev) {
		if err := add(chunk.key, chunk.value); err != nil {
			return err
		}
	}
	for _, keys := range [][][]byte{fks, rks} {
		for _, k := range keys {
			if err := add(k, nil); err != nil {
				return err
			}
			if written++; written%65536 == 0 && c.progress != nil {
				c.progress(written / 2)
			}
		}
	}
	if err := send(); err != nil {
		return err
	}
	done = true
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	return nil
}

// encodeKV appends a badger pb.KV {key, value, version} in protobuf wire
// form, as StreamWriter.Write reads it, without reflection.
func encodeKV(buf *z.Buffer, k, v []byte, version uint64) {
	n := 1 + uvarintLen(uint64(len(k))) + len(k) + 1 + uvarintLen(version)
	if len(v) > 0 {
		n += 1 + uvarintLen(uint64(len(v))) + len(v)
	}
	b := buf.SliceAllocate(n)[:0]
	b = append(b, 0x0a) // field 1, bytes: key
	b = binary.AppendUvarint(b, uint64(len(k)))
	b = append(b, k...)
	if len(v) > 0 {
		b = append(b, 0x12) // field 2, bytes: value
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	b = append(b, 0x20) // field 4, varint: version
	binary.AppendUvarint(b, version)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
