package badger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// A bulk load (an import) that outgrows loadHold tuples is sorted on disk
// before anything of it reaches Badger: each chunk's forward and reverse
// keys are sorted and written to run files of their own, and its
// change-log entries are appended to a log file in input order. Commit
// merges the runs into one StreamWriter load at the next revision and
// then publishes that revision. So memory stays bounded by a few chunks
// whatever the size of the input; a bad line found late costs only the
// files, which abort removes; and a crash during commit leaves entries
// above the latest revision, which rollback removes on open as for any
// unpublished bulk write, and files, which open removes.
//
// The alternative, writing each chunk through a WriteBatch at the next
// revision, lets Badger's compaction do the sorting: it measured two to
// three times slower than one sorted stream load.

const (
	// loadHold is how many tuples a bulk load keeps in memory; a smaller
	// load is written as one commit, as a Write is.
	loadHold = 1 << 19
	// spillFanIn is how many run files are merged at once; more runs are
	// first merged in groups, so that the open files and their buffers
	// stay bounded.
	spillFanIn = 64
	// spillDirName is the directory, inside the database directory, that
	// holds a bulk load's files: on the same disk as the tables built
	// from them, and never in a tmpfs that would hold them in memory.
	spillDirName = "import.spill"
	// maxKeyLen bounds a spilled item read back: longer means the file
	// is damaged. Keys hold at most two ids and four names; a value holds
	// a condition's name, a stored context and an expiry.
	maxKeyLen = 2*tuples.MaxIDLen + 4*tuples.MaxNameLen + 7 + 1 + condition.MaxStoredContextBytes + tuples.MaxNameLen + 32
)

// load is a bulk load; it holds the engine's writer lock from Load until
// Commit or Abort.
type load struct {
	e        *engine
	held     [][]tuples.Change
	index    []store.IndexChange
	counts   []store.CountChange
	n        int // changes held or spilled
	sp       *spill
	released bool
}

func (e *engine) Load(context.Context) (store.Loader, error) {
	if e.db.IsClosed() {
		return nil, store.ErrClosed
	}
	e.wmu.Lock()
	if err := e.writable(); err != nil {
		e.wmu.Unlock()
		return nil, err
	}
	return &load{e: e}, nil
}

// release lets other writers in, once.
func (l *load) release() {
	if !l.released {
		l.released = true
		l.e.wmu.Unlock()
	}
}

func (l *load) Schema(ctx context.Context) (store.SchemaText, error) {
	r := l.e.latestReader(time.Time{})
	defer r.Close()
	return r.Schema(ctx)
}

func (l *load) Add(ctx context.Context, changes []tuples.Change) error {
	l.n += len(changes)
	if l.sp == nil {
		l.held = append(l.held, changes)
		if l.n <= l.e.loadHold {
			return nil
		}
		sp, err := newSpill(filepath.Join(l.e.path, spillDirName), l.e.spillFanIn)
		if err != nil {
			return err
		}
		l.sp = sp
		held := l.held
		l.held = nil
		for _, c := range held {
			if err := l.sp.add(ctx, c); err != nil {
				return spaceError(l.e.path, err)
			}
		}
		return nil
	}
	return spaceError(l.e.path, l.sp.add(ctx, changes))
}

func (l *load) Commit(ctx context.Context, progress func(int)) (tuples.Revision, error) {
	defer l.Abort()
	if l.sp == nil {
		c := &kv.Commit{Changes: slices.Concat(l.held...), Progress: progress, Index: l.index, Counts: l.counts}
		l.held = nil
		return l.e.apply(ctx, c)
	}
	if err := l.e.ensureSpace(l.sp.bytes); err != nil {
		return 0, err
	}
	e := l.e
	if e.db.IsClosed() {
		return 0, store.ErrClosed
	}
	rev := e.latest + 1
	parts, err := l.sp.parts(ctx, rev)
	if err != nil {
		return 0, err
	}
	err = spaceError(e.path, e.streamLoad(ctx, rev, parts, progress))
	if err == nil {
		err = spaceError(e.path, e.putIndexAt(ctx, rev, l.index, l.counts))
	}
	if err == nil && e.beforePublish != nil {
		e.beforePublish()
	}
	if err == nil {
		txn := e.db.NewTransactionAt(uint64(e.latest), true)
		defer txn.Discard()
		err = e.publish(txn, rev)
	}
	if err != nil {
		// Part of the tables may be in; the next write would reuse
		// their revision number and publish them.
		if rerr := e.rollback(); rerr != nil {
			e.broken = rerr
			return 0, fmt.Errorf("%w; undoing it failed too (reopen the database to recover): %v", err, rerr)
		}
		return 0, err
	}
	if progress != nil {
		progress(l.n)
	}
	return rev, nil
}

func (l *load) Abort() {
	l.held, l.index, l.counts = nil, nil, nil
	if l.sp != nil {
		l.sp.remove()
		l.sp = nil
	}
	l.release()
}

// spill holds the files of a bulk load that did not fit in memory.
type spill struct {
	dir   string
	fanIn int
	log   *os.File
	logw  *bufio.Writer
	fams  [2]*spillFamily
	runs  int // run files created, to name the next
	// bytes estimates the tables the load becomes, for the space check.
	bytes int64
	open  []*runMerge
	// logBuf and keyBuf are scratch space for change-log values.
	logBuf []byte
	keyBuf [512]byte
}

// spillFamily is one key family's runs, each sorted and free of repeats.
type spillFamily struct {
	key  func([]byte, *tuples.Tuple) []byte
	runs []string
	// buf, keys and tmp hold the keys of the chunk being sorted, kept
	// from chunk to chunk.
	buf       []byte
	keys, tmp [][]byte
}

func newSpill(dir string, fanIn int) (*spill, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear bulk-load files: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bulk load: %w", err)
	}
	s := &spill{dir: dir, fanIn: max(fanIn, 2),
		fams: [2]*spillFamily{{key: forwardItem}, {key: reverseItem}}}
	f, err := os.Create(filepath.Join(dir, "changes"))
	if err != nil {
		s.remove()
		return nil, fmt.Errorf("bulk load: %w", err)
	}
	s.log, s.logw = f, bufio.NewWriterSize(f, 1<<20)
	return s, nil
}

// remove deletes the files; the load cannot go on.
func (s *spill) remove() {
	for _, m := range s.open {
		m.close()
	}
	s.open = nil
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
	// Best effort: what is left is removed by the next load or open.
	_ = os.RemoveAll(s.dir)
}

// add sorts a chunk's keys into a run per family, side by side, while it
// appends the chunk's change log.
func (s *spill) add(ctx context.Context, changes []tuples.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var errs [2]error
	for i, f := range s.fams {
		name := filepath.Join(s.dir, fmt.Sprintf("run%06d", s.runs+i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.writeRun(name, changes)
		}()
	}
	s.runs += len(s.fams)
	for i := range changes {
		s.bytes += int64(3*kv.ItemLen(&changes[i].Tuple) + 16)
	}
	err := s.appendLog(changes)
	wg.Wait()
	return errors.Join(err, errs[0], errs[1])
}

func (s *spill) appendLog(changes []tuples.Change) error {
	var lb [binary.MaxVarintLen64]byte
	for from := 0; from < len(changes); from += changesPerEntry {
		part := changes[from:min(len(changes), from+changesPerEntry)]
		s.logBuf = appendChanges(s.logBuf[:0], part, &s.keyBuf)
		s.logw.Write(lb[:binary.PutUvarint(lb[:], uint64(len(s.logBuf)))])
		if _, err := s.logw.Write(s.logBuf); err != nil {
			return fmt.Errorf("bulk load: write change log: %w", err)
		}
	}
	return nil
}

func (f *spillFamily) writeRun(name string, changes []tuples.Change) error {
	size := 0
	for i := range changes {
		size += kv.ItemLen(&changes[i].Tuple)
	}
	// Sized up front: the keys point into buf, which must not move.
	if cap(f.buf) < size {
		f.buf = make([]byte, 0, size)
	}
	buf, keys := f.buf[:0], f.keys[:0]
	for i := range changes {
		from := len(buf)
		buf = f.key(buf, &changes[i].Tuple)
		keys = append(keys, buf[from:len(buf):len(buf)])
	}
	if cap(f.tmp) < len(keys) {
		f.tmp = make([][]byte, len(keys))
	}
	kv.SortKeys(keys, f.tmp)
	keys = slices.CompactFunc(keys, bytes.Equal)
	f.keys = keys[:0]
	if err := writeKeys(name, keys); err != nil {
		return err
	}
	f.runs = append(f.runs, name)
	return nil
}

// writeKeys writes keys to a new file, each behind its length.
func writeKeys(name string, keys [][]byte) error {
	return writeFile(name, func(w *bufio.Writer) error {
		var lb [binary.MaxVarintLen64]byte
		for _, k := range keys {
			w.Write(lb[:binary.PutUvarint(lb[:], uint64(len(k)))])
			w.Write(k)
		}
		return nil
	})
}

func writeFile(name string, fill func(*bufio.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush() // a failed Write is remembered until here
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bulk load: write %s: %w", filepath.Base(name), err)
	}
	return nil
}

// parts finishes the files and opens the stream parts of a commit at
// rev: the change log, then each family's runs merged.
func (s *spill) parts(ctx context.Context, rev tuples.Revision) ([]streamPart, error) {
	if err := s.logw.Flush(); err != nil {
		return nil, fmt.Errorf("bulk load: write change log: %w", err)
	}
	if _, err := s.log.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("bulk load: read change log: %w", err)
	}
	parts := []streamPart{{src: &logFileSource{r: bufio.NewReaderSize(s.log, 1<<20), rev: rev}}}
	// Too many runs are merged in groups first, both families side by
	// side.
	var wg sync.WaitGroup
	var errs [2]error
	for i, f := range s.fams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(f.runs) > s.fanIn && errs[i] == nil {
				name := filepath.Join(s.dir, fmt.Sprintf("merge%d_%06d", i, len(f.runs)))
				errs[i] = mergeRuns(ctx, f.runs[:s.fanIn], name)
				f.runs = append(f.runs[s.fanIn:], name)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return nil, err
	}
	for _, f := range s.fams {
		m, err := openMerge(f.runs)
		if err != nil {
			return nil, err
		}
		s.open = append(s.open, m)
		parts = append(parts, streamPart{src: m, tuples: true})
	}
	return parts, nil
}

// mergeRuns merges runs into one new run without repeats and deletes
// them.
func mergeRuns(ctx context.Context, runs []string, name string) error {
	m, err := openMerge(runs)
	if err != nil {
		return err
	}
	defer m.close()
	err = writeFile(name, func(w *bufio.Writer) error {
		var lb [binary.MaxVarintLen64]byte
		var last []byte
		for n := 0; ; n++ {
			if n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			k, _, err := m.next()
			if err != nil || k == nil {
				return err
			}
			if last != nil && bytes.Equal(k, last) {
				continue
			}
			last = append(last[:0], k...)
			w.Write(lb[:binary.PutUvarint(lb[:], uint64(len(k)))])
			w.Write(k)
		}
	})
	if err != nil {
		return err
	}
	for _, r := range runs {
		os.Remove(r) // only disk space until the load ends, if it fails
	}
	return nil
}

// logFileSource reads the change log back as change-log entries at rev.
type logFileSource struct {
	r   *bufio.Reader
	rev tuples.Revision
	seq uint32
	val []byte
}

func (s *logFileSource) next() ([]byte, []byte, error) {
	n, err := binary.ReadUvarint(s.r)
	if err == io.EOF {
		return nil, nil, nil
	}
	if err == nil && n > badgerValueMax {
		err = errors.New("entry too long")
	}
	if err == nil {
		s.val = slices.Grow(s.val[:0], int(n))[:n]
		_, err = io.ReadFull(s.r, s.val)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bulk load: read change log (damaged file?): %w", err)
	}
	k := changeKey(s.rev, s.seq)
	s.seq++
	return k, s.val, nil
}

// badgerValueMax bounds a change-log value read back; a change-log entry
// of changesPerEntry changes is far below it.
const badgerValueMax = 1 << 24

// runReader reads one run file.
type runReader struct {
	name string
	f    *os.File
	r    *bufio.Reader
	key  []byte
}

// advance reads the next key into key; false at the end of the run.
func (rr *runReader) advance() (bool, error) {
	n, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err == nil && (n == 0 || n > maxKeyLen) {
		err = fmt.Errorf("key of %d bytes", n)
	}
	if err == nil {
		rr.key = slices.Grow(rr.key[:0], int(n))[:n]
		_, err = io.ReadFull(rr.r, rr.key)
	}
	if err != nil {
		return false, fmt.Errorf("bulk load: read %s (damaged file?): %w", filepath.Base(rr.name), err)
	}
	return true, nil
}

// runMerge yields the keys of several runs in order: a binary heap of
// the runs by their current key. Repeats across runs come out in a row.
type runMerge struct {
	heap []*runReader
	all  []*runReader
	// top is the run whose key was returned last, advanced on the next
	// call.
	top *runReader
}

func openMerge(runs []string) (*runMerge, error) {
	m := &runMerge{}
	for _, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("bulk load: %w", err)
		}
		rr := &runReader{name: name, f: f, r: bufio.NewReaderSize(f, 1<<17)}
		m.all = append(m.all, rr)
		ok, err := rr.advance()
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.heap = append(m.heap, rr)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

func (m *runMerge) next() ([]byte, []byte, error) {
	if m.top != nil {
		ok, err := m.top.advance()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		}
		if len(m.heap) > 0 {
			m.down(0)
		}
		m.top = nil
	}
	if len(m.heap) == 0 {
		m.close()
		return nil, nil, nil
	}
	m.top = m.heap[0]
	return m.top.key, nil, nil
}

func (m *runMerge) down(i int) {
	h := m.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && bytes.Compare(h[r].key, h[l].key) < 0 {
			c = r
		}
		if bytes.Compare(h[c].key, h[i].key) >= 0 {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// close closes the run files; the merge then yields nothing more.
func (m *runMerge) close() {
	for _, rr := range m.all {
		rr.f.Close()
	}
	m.all, m.heap, m.top = nil, nil, nil
}
