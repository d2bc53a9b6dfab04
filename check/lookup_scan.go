package check

import (
	"fmt"
	"iter"

	"github.com/docketdb/docket/tuples"
)

// A page's merge needs the first object of every deferred stream before
// it can yield its first object, and a reverse read's first object is
// known only once it is opened: with many streams (the cases assigned to
// each user of each of the subject's teams, 60 to 90 reads on the
// Casebook benchmark) opening them costs more than the rest of a small
// page. Where the snapshot can scan (tuples.ObjectScanner), a page
// instead reads the tuples of the target's type forward from its cursor,
// in order of object id, and takes those whose relation and subject are
// one of the streams': the same objects, with the same memberships, in
// the same order, read only as far as the page goes. How far that is
// depends on how many of the type's tuples the subject reaches, which is
// not known before reading: the scan weighs, at the rate it has found
// members so far, what the rest of the page would cost read forward
// against what opening the streams costs, and hands over to the streams
// (from the last object it yielded on) once they are cheaper.

// scanTuning says when a page scans forward.
type scanTuning struct {
	// minSources is the fewest streams a scan may stand for: below it,
	// opening them is cheap.
	minSources int
	// keysPerSource is how many tuples read in order cost about as much
	// as opening one reverse read: the scan's budget is this times the
	// streams it stands for.
	keysPerSource int
	// minChunk is the fewest tuples one read of the scan asks for: the
	// scan reads in chunks, deciding after each whether to go on. A page
	// whose members would have to lie closer together than that to cost
	// less read forward (its size times minChunk above the budget) opens
	// the streams at once.
	minChunk int
}

// Defaults measured on the Casebook benchmark over Badger, where opening
// a reverse read costs about as much as reading 7 tuples in order (3.4
// and 0.45 µs), and about one case in 22 (220 tuples) is a member.
const (
	defaultScanMinSources    = 16
	defaultScanKeysPerSource = 8
	defaultScanMinChunk      = 96
)

func (t scanTuning) orDefault() scanTuning {
	if t.minSources <= 0 {
		t.minSources = defaultScanMinSources
	}
	if t.keysPerSource <= 0 {
		t.keysPerSource = defaultScanKeysPerSource
	}
	if t.minChunk <= 0 {
		t.minChunk = defaultScanMinChunk
	}
	return t
}

// pageScan is what a page's merge knows of the page: how many candidates
// it needs (its size, and one more member to tell whether a cursor is
// due).
type pageScan struct {
	tuning scanTuning
	want   int
}

// forwardScan is a head of the merge that reads the target's tuples
// forward in place of the walk's streams, a chunk at a time.
type forwardScan struct {
	rw     *resourceWalk
	page   *pageScan
	sc     tuples.ObjectScanner
	wants  []tuples.Want
	budget int
	pull   func() (tuples.ScanMatch, error, bool)
	stop   func()
	// Every object up to at (all of them from the first, when atFrom is
	// false) was read whole, and its members yielded.
	at     string
	atFrom bool
	// got is how many objects it yielded, the last of them last; read
	// how many tuples it has read, base of them by the chunks before
	// the current one.
	got        int
	last       string
	read, base int
	// streams, once the scan has handed over, merges the streams from
	// where it stopped.
	streams *merge
}

// scanHead returns a head scanning forward for the walk's streams, or nil
// where the streams are opened: the whole list, few streams, a snapshot
// that cannot scan (contextual tuples laid over a store's, a networked
// database, whose reverse reads are batched).
func (rw *resourceWalk) scanHead(page *pageScan, after string, from bool) *head {
	if page == nil || len(rw.deferred) < page.tuning.minSources {
		return nil
	}
	sc, ok := rw.w.snap.(tuples.ObjectScanner)
	if !ok {
		return nil
	}
	wants := make([]tuples.Want, len(rw.deferred))
	for i, s := range rw.deferred {
		if s.scan.Type != rw.target.Type {
			return nil
		}
		wants[i] = tuples.Want{Relation: s.scan.Name, Subject: s.subj}
	}
	budget := page.tuning.keysPerSource * len(rw.deferred)
	if page.want*page.tuning.minChunk > budget {
		// A page this large would need members closer together than
		// the least chunk a scan reads: the streams cost less.
		return nil
	}
	fs := &forwardScan{rw: rw, page: page, sc: sc, wants: wants, at: after, atFrom: from, budget: budget}
	if !fs.open() {
		return nil
	}
	return &head{fwd: fs}
}

// open starts the scan's next chunk after fs.at, as far as the scan may
// read before it must look at its rate again; false when the snapshot
// cannot scan.
func (fs *forwardScan) open() bool {
	chunk := max(fs.allowed()-fs.read, fs.page.tuning.minChunk)
	start := ""
	if fs.atFrom {
		start = fs.at
	}
	seq, ok := fs.sc.ScanObjects(fs.rw.w.ctx, fs.rw.target.Type.Name, start, fs.wants, chunk)
	if !ok {
		return false
	}
	fs.pull, fs.stop = iter.Pull2(seq)
	return true
}

// allowed is how many tuples the scan may have read, at the rate members
// came so far (none yet counting as one due now), before the members the
// page still needs would cost more to read forward than the streams do;
// never more than twice the streams' cost in all.
func (fs *forwardScan) allowed() int {
	got, left := max(fs.got, 1), max(fs.page.want-fs.got, 1)
	return min(fs.budget*got/left, 2*fs.budget)
}

// dear says the rest of the page would cost more read forward than
// through the streams. What was read is spent whichever way the page
// goes on, so only what is left is weighed.
func (fs *forwardScan) dear() bool { return fs.read > fs.allowed() }

// advance reads the next object of the scan into h.cur, with the best
// membership of its matches; false at its end.
func (fs *forwardScan) advance(mg *merge, h *head) (bool, error) {
	for fs.streams == nil {
		if fs.dear() {
			return fs.handOver(h)
		}
		if fs.pull == nil && !fs.open() {
			return false, fmt.Errorf("scan %s forward: the snapshot stopped scanning", fs.rw.target.Type.Name)
		}
		m, err, ok := fs.pull()
		if !ok {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("scan %s forward: %w", fs.rw.target.Type.Name, err)
		}
		fs.read = fs.base + m.Scanned
		if m.Stopped {
			// The chunk is read, up to m.ObjectID: the next starts
			// after it, if the rate so far makes it worth reading.
			fs.close()
			fs.base = fs.read
			fs.at, fs.atFrom = m.ObjectID, fs.atFrom || m.ObjectID != ""
			continue
		}
		id := m.ObjectID
		if (fs.got > 0 && id <= fs.last) || (fs.atFrom && id <= fs.at) || (mg.from && id <= mg.after) || len(m.Wants) == 0 {
			return false, fmt.Errorf("scan %s forward: objects out of order or without a match (%s after %s)", fs.rw.target.Type.Name, id, fs.last)
		}
		var best uint8
		for _, w := range m.Wants {
			if w < 0 || w >= len(fs.rw.deferred) {
				return false, fmt.Errorf("scan %s forward: match %d of %d wants", fs.rw.target.Type.Name, w, len(fs.rw.deferred))
			}
			best = max(best, fs.rw.deferred[w].m)
		}
		fs.got++
		fs.last = id
		fs.at, fs.atFrom = id, true
		h.cur = candidate{id: id, m: best}
		return true, nil
	}
	return fs.fromStreams(h)
}

// handOver ends the scan and merges the streams in its place, from
// where it stopped.
func (fs *forwardScan) handOver(h *head) (bool, error) {
	fs.close()
	fs.streams = &merge{rw: fs.rw, after: fs.at, from: fs.atFrom, heads: fs.rw.streamHeads()}
	return fs.fromStreams(h)
}

func (fs *forwardScan) fromStreams(h *head) (bool, error) {
	c, ok, err := fs.streams.next()
	if ok {
		h.cur = c
	}
	return ok, err
}

// close ends the scan's current read, and the streams' it handed over
// to.
func (fs *forwardScan) close() {
	if fs.stop != nil {
		fs.stop()
		fs.stop, fs.pull = nil, nil
	}
	if fs.streams != nil {
		fs.streams.stop()
	}
}
