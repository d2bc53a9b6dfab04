package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
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
func (e *engine) streamable(c *kv.Commit) bool {
	if c.Schema != "" || c.TrimBefore > 0 {
		return false
	}
	for i := range c.Changes {
		if c.Changes[i].Kind != tuples.ChangeWrite {
			return false
		}
	}
	if len(c.Changes) >= e.streamMin {
		return true
	}
	txn := e.db.NewTransactionAt(math.MaxUint64, false)
	for _, p := range [][]byte{{kv.TagForward, kv.Sep}, {kv.TagReverse, kv.Sep}} {
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
func (e *engine) stream(ctx context.Context, rev tuples.Revision, c *kv.Commit) error {
	// The two key families are built and sorted side by side.
	var fks, rks [][]byte
	var wg sync.WaitGroup
	for _, fam := range []struct {
		out *[][]byte
		key func([]byte, *tuples.Tuple) []byte
	}{{&fks, forwardItem}, {&rks, reverseItem}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a arena
			keys := make([][]byte, len(c.Changes))
			for i := range c.Changes {
				t := &c.Changes[i].Tuple
				keys[i] = fam.key(a.alloc(kv.ItemLen(t)), t)
			}
			kv.SortKeys(keys, make([][]byte, len(keys)))
			*fam.out = slices.CompactFunc(keys, bytes.Equal)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.streamLoad(ctx, rev, []streamPart{
		{src: &changeLogSource{changes: c.Changes, rev: rev}},
		{src: &sliceSource{keys: fks}, tuples: true},
		{src: &sliceSource{keys: rks}, tuples: true},
	}, c.Progress)
}

// forwardItem and reverseItem append a tuple's item (its key and value,
// see kv.SplitItem) to b: bulk loads sort keys and values together.
func forwardItem(b []byte, t *tuples.Tuple) []byte { return kv.AppendValue(kv.ForwardKey(b, t), t) }
func reverseItem(b []byte, t *tuples.Tuple) []byte { return kv.AppendValue(kv.ReverseKey(b, t), t) }

// keySource yields keys in ascending order, each with its value, and a
// nil key at the end. Both are valid only until the next call.
type keySource interface {
	next() (k, v []byte, err error)
}

// streamPart is one stream of a bulk load; tuples says its keys are tuple
// items (key and value, see kv.SplitItem), counted for progress (two to a
// tuple).
type streamPart struct {
	src    keySource
	tuples bool
}

type sliceSource struct {
	keys [][]byte
	i    int
}

func (s *sliceSource) next() ([]byte, []byte, error) {
	if s.i == len(s.keys) {
		return nil, nil, nil
	}
	s.i++
	return s.keys[s.i-1], nil, nil
}

// changeLogSource yields the change-log entries of changes at rev.
type changeLogSource struct {
	changes []tuples.Change
	rev     tuples.Revision
	seq     int
	val     []byte
	buf     [512]byte
}

func (s *changeLogSource) next() ([]byte, []byte, error) {
	from := s.seq * changesPerEntry
	if from >= len(s.changes) {
		return nil, nil, nil
	}
	part := s.changes[from:min(len(s.changes), from+changesPerEntry)]
	s.val = appendChanges(s.val[:0], part, &s.buf)
	k := changeKey(s.rev, uint32(s.seq))
	s.seq++
	return k, s.val, nil
}

// streamLoad writes the parts at rev through a StreamWriter, each part
// as a stream of its own so that Badger builds their tables side by
// side; their key ranges must not overlap. Equal keys in a row are
// written once. The caller publishes rev, or rolls back on an error.
func (e *engine) streamLoad(ctx context.Context, rev tuples.Revision, parts []streamPart, progress func(int)) error {
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		keys     int
	)
	// Progress is told from whichever stream is writing, one call at a
	// time.
	count := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		keys += n
		if progress != nil {
			progress(keys / 2)
		}
	}
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cnt := func(int) {}
			if p.tuples {
				cnt = count
			}
			if err := streamOne(ctx, sw, uint32(i+1), rev, p.src, p.tuples, cnt, e.ensureSpace); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		sw.Cancel()
		return firstErr
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	return nil
}

// streamOne writes one source as stream id. A key below the one before
// it would make Badger panic in a goroutine of its own, so it is refused
// here.
func streamOne(ctx context.Context, sw *badger.StreamWriter, id uint32, rev tuples.Revision, src keySource, items bool, count func(int), room func(int64) error) error {
	buf := z.NewBuffer(5<<20, "docket.import")
	defer buf.Release()
	pending := 0
	send := func() error {
		if pending == 0 {
			return nil
		}
		// The tables this batch becomes are written through memory maps:
		// check the room first (see badger_space.go).
		if err := room(2 * int64(buf.LenNoPadding())); err != nil {
			return err
		}
		if err := sw.Write(buf); err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		buf.Reset()
		count(pending)
		pending = 0
		return ctx.Err()
	}
	var last, lastVal []byte
	for {
		k, v, err := src.next()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if items {
			k, v = kv.SplitItem(k)
		}
		if last != nil {
			switch c := bytes.Compare(k, last); {
			case c == 0:
				if !bytes.Equal(v, lastVal) {
					return conflict(k, lastVal, v)
				}
				continue
			case c < 0:
				return fmt.Errorf("bulk load: key %q after %q: keys out of order", k, last)
			}
		}
		last = append(last[:0], k...)
		lastVal = append(lastVal[:0], v...)
		encodeKV(buf, k, v, uint64(rev), id)
		// Bounded by bytes too: change-log values are tens of KB each,
		// and Badger decodes a whole buffer into memory at once.
		if pending++; pending == 65536 || buf.LenNoPadding() >= 4<<20 {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

// conflict reports a bulk load holding one tuple twice with different
// payloads, found where its items meet in key order.
func conflict(key, a, b []byte) error {
	t, err := kv.DecodeKey(key)
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	ta, tb := t, t
	var ea, eb error
	ta.Payload, ea = tuples.DecodePayload(a)
	tb.Payload, eb = tuples.DecodePayload(b)
	if err := errors.Join(ea, eb); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	return &kv.ConflictError{A: ta, B: tb}
}

// encodeKV appends a badger pb.KV {key, value, version, stream_id} in
// protobuf wire form, as StreamWriter.Write reads it, without reflection.
func encodeKV(buf *z.Buffer, k, v []byte, version uint64, stream uint32) {
	n := 1 + uvarintLen(uint64(len(k))) + len(k) + 1 + uvarintLen(version) + 1 + uvarintLen(uint64(stream))
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
	b = binary.AppendUvarint(b, version)
	b = append(b, 0x50) // field 10, varint: stream_id
	binary.AppendUvarint(b, uint64(stream))
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
