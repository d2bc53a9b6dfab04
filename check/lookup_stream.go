package check

import (
	"container/heap"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// A paged lookup of resources stops once its page is full. The walk from
// the subject reaches the target's objects last, and most of its reads
// are of them: the cases on each of the subject's teams' access lists,
// the documents in each folder. Those last reads are left to the end as
// streams, each a reverse read, which the snapshot yields in order of
// object id (tuples.Snapshot), merged by object id: the candidates come
// in the order the lookup yields them, and a page reads as far as its
// last object (and the next member, for the cursor) and no further.
//
// That holds for the relations of the target's type whose pairs the walk
// leaves only along rewrites to others of them (viewer: editor | ...),
// ending at the target: their objects lead nowhere else, so leaving them
// to the end changes nothing the walk reaches before them. A target
// whose objects lead further (a folder's viewer, which is its children's
// viewer too) is walked whole, as is one whose streams lie near the
// depth limit, where the chains to each object decide what error a
// lookup meets.
//
// Where the streams are many, a merge's first object costs the opening
// of every one of them; a small page then reads the target's tuples
// forward instead, while that costs less (lookup_scan.go).

// terminalRelations returns the relations of the target's type whose pairs
// a lookup may leave to the end, or nil when the target is not one of
// them or they loop.
func terminalRelations(sch *schema.Schema, target *schema.Relation, lead []bool) (terminal []bool, longest []int) {
	terminal = make([]bool, len(sch.Relations))
	for _, r := range sch.Relations {
		terminal[r.ID] = r.Type == target.Type && lead[r.ID]
	}
	for changed := true; changed; {
		changed = false
		for _, r := range sch.Relations {
			if !terminal[r.ID] {
				continue
			}
			for _, e := range r.Reverse {
				if lead[e.To.ID] && (e.Kind != schema.EdgeRewrite || !terminal[e.To.ID]) {
					terminal[r.ID], changed = false, true
					break
				}
			}
		}
	}
	if !terminal[target.ID] {
		return nil, nil
	}
	// The longest chain of rewrites from each, which the depth limit is
	// checked against; a loop of rewrites is walked whole.
	longest = make([]int, len(sch.Relations))
	const unseen, open = -1, -2
	for i := range longest {
		longest[i] = unseen
	}
	var depth func(r *schema.Relation) bool
	depth = func(r *schema.Relation) bool {
		switch longest[r.ID] {
		case open:
			return false
		case unseen:
		default:
			return true
		}
		longest[r.ID] = open
		d := 0
		for _, e := range r.Reverse {
			if !lead[e.To.ID] {
				continue
			}
			if !depth(e.To) {
				return false
			}
			d = max(d, longest[e.To.ID]+1)
		}
		longest[r.ID] = d
		return true
	}
	for _, r := range sch.Relations {
		if terminal[r.ID] && !depth(r) {
			return nil, nil
		}
	}
	return terminal, longest
}

// streamTerminal makes the walk leave the pairs of the terminal relations
// to the end, when the target allows it.
func (rw *resourceWalk) streamTerminal() {
	rw.terminal, rw.longest = terminalRelations(rw.w.sch, rw.target, rw.lead)
	if rw.terminal != nil {
		rw.singles = map[string]uint8{}
		rw.atTarget = map[[2]int]uint8{}
		rw.streamAt = map[streamKey]int{}
	}
}

// stream is one reverse read left to the end: the objects of
// scan that store subj, each reaching the target with membership m.
type stream struct {
	subj tuples.Subject
	scan *schema.Relation
	m    uint8
}

// streams says whether r's pairs are left to the end.
func (rw *resourceWalk) streams(r *schema.Relation) bool {
	return rw.terminal != nil && rw.terminal[r.ID]
}

// deferScan leaves to the end the reverse read of scan for subj, whose
// objects enter to with membership m from the pair from.
func (rw *resourceWalk) deferScan(subj tuples.Subject, scan, to *schema.Relation, m uint8, from int32) {
	rw.noteDepth(to, from)
	fm := rw.reachTarget(to, m)
	if fm == 0 {
		return
	}
	// One read of each: reached again, it keeps the best membership.
	k := streamKey{subj, scan.ID}
	if i, ok := rw.streamAt[k]; ok {
		rw.deferred[i].m = max(rw.deferred[i].m, fm)
		return
	}
	rw.streamAt[k] = len(rw.deferred)
	rw.deferred = append(rw.deferred, stream{subj: subj, scan: scan, m: fm})
}

type streamKey struct {
	subj tuples.Subject
	scan int
}

// deferObject records an object reached on a terminal relation r one at
// a time (along a rewrite, an arrow of several hops, or as the subject
// set itself).
func (rw *resourceWalk) deferObject(obj tuples.Object, r *schema.Relation, m uint8, from int32) {
	rw.noteDepth(r, from)
	if fm := rw.reachTarget(r, m); fm > rw.singles[obj.ID] {
		rw.singles[obj.ID] = fm
	}
}

// noteDepth keeps the deepest chain a deferred pair of r and the
// rewrites after it would reach.
func (rw *resourceWalk) noteDepth(r *schema.Relation, from int32) {
	d := rw.depthOf(from) + 1
	rw.deepest = max(rw.deepest, d+rw.longest[r.ID])
}

// tooDeep says whether a deferred pair lies so near the depth limit that
// the walk must be done whole to meet the limit where it would.
func (rw *resourceWalk) tooDeep() bool { return rw.deepest > rw.w.maxDepth }

// reachTarget is the membership with which an object entered on terminal
// relation r with membership m reaches the target, as the walk would
// pass it on along the rewrites (0: it does not).
func (rw *resourceWalk) reachTarget(r *schema.Relation, m uint8) uint8 {
	key := [2]int{r.ID, int(m)}
	if v, ok := rw.atTarget[key]; ok {
		return v
	}
	var best uint8
	if r == rw.target {
		best = m
	}
	pass := m
	if pass == reachGuarded { // as visit passes it on
		pass = reachCandidate
	}
	for i := range r.Reverse {
		e := &r.Reverse[i]
		if rw.lead[e.To.ID] {
			best = max(best, rw.reachTarget(e.To, rw.along(e, pass)))
		}
	}
	rw.atTarget[key] = best
	return best
}

// candidate is an object of the target's type the walk reached, with the
// best membership known of it.
type candidate struct {
	id string
	m  uint8
}

// candidates yields the objects the walk found with an id above after
// (all, when from is false), in order of id: sorted from what the walk
// found, merged with its deferred streams as they are read (or, for a
// page, with a forward scan standing for them: see pageScan). stop ends
// the streams' reads.
func (rw *resourceWalk) candidates(after string, from bool, page *pageScan) (next func() (candidate, bool, error), stop func()) {
	found := make([]candidate, 0, len(rw.targets)+len(rw.singles))
	add := func(id string, m uint8) {
		if !from || id > after {
			found = append(found, candidate{id, m})
		}
	}
	for id, m := range rw.found() {
		add(id, m)
	}
	for id, m := range rw.singles {
		add(id, m)
	}
	slices.SortFunc(found, func(a, b candidate) int { return compareIDs(a.id, b.id) })
	if len(rw.deferred) == 0 {
		i := 0
		return func() (candidate, bool, error) {
			if i == len(found) {
				return candidate{}, false, nil
			}
			i++
			return found[i-1], true, nil
		}, func() {}
	}
	m := &merge{rw: rw, after: after, from: from}
	m.heads = append(m.heads, &head{isList: true, list: found})
	if h := rw.scanHead(page, after, from); h != nil {
		m.heads = append(m.heads, h)
	} else {
		m.heads = append(m.heads, rw.streamHeads()...)
	}
	return m.next, m.stop
}

func (rw *resourceWalk) streamHeads() []*head {
	heads := make([]*head, len(rw.deferred))
	for i, s := range rw.deferred {
		heads[i] = &head{s: s}
	}
	return heads
}

// compareIDs orders object ids as the store does, byte by byte.
func compareIDs(a, b string) int { return strings.Compare(a, b) }

// merge merges the walk's sorted candidates and its deferred streams.
type merge struct {
	rw      *resourceWalk
	after   string
	from    bool
	heads   []*head
	h       headHeap
	spent   []*head
	started bool
	err     error
}

// head is one sorted source of candidates: a list, or a stream being read.
type head struct {
	isList bool
	list   []candidate // a list's candidates left
	s      stream
	cur    candidate
	// A stream's first ids are read ahead into buf by one plain read,
	// which most streams (a user's few assigned cases) never outgrow;
	// more says the stream holds more, then read through pull (a
	// coroutine, dearer to start), skipping what buf held.
	buf    []string
	opened bool
	more   bool
	pull   func() (tuples.Object, error, bool)
	stop   func()
	// last is the id the stream yielded last, read says there was one:
	// a stream out of order is an error, never a page missing members.
	last string
	read bool
	// fwd, when set, makes the head a forward scan standing for all the
	// walk's streams.
	fwd *forwardScan
}

// readAhead is how many ids of a stream its first read takes.
const readAhead = 8

// nextID reads the next id of h's stream.
func (h *head) nextID(mg *merge) (string, bool, error) {
	w := mg.rw.w
	sc := h.s.scan
	fail := func(err error) (string, bool, error) {
		return "", false, fmt.Errorf("read reverse %s in %s: %w", h.s.subj, sc, err)
	}
	if !h.opened {
		h.opened = true
		for o, err := range w.snap.Reverse(w.ctx, h.s.subj, sc.Type.Name, sc.Name) {
			if err != nil {
				return fail(err)
			}
			if len(h.buf) == readAhead {
				h.more = true
				break
			}
			h.buf = append(h.buf, o.ID)
		}
	}
	if len(h.buf) > 0 {
		id := h.buf[0]
		h.buf = h.buf[1:]
		return id, true, nil
	}
	if !h.more {
		return "", false, nil
	}
	if h.pull == nil {
		h.pull, h.stop = iter.Pull2(w.snap.Reverse(w.ctx, h.s.subj, sc.Type.Name, sc.Name))
		for range readAhead {
			if _, err, ok := h.pull(); !ok || err != nil {
				return fail(fmt.Errorf("the read changed under the lookup: %v", err))
			}
		}
	}
	o, err, ok := h.pull()
	if !ok {
		return "", false, nil
	}
	if err != nil {
		return fail(err)
	}
	return o.ID, true, nil
}

// advance reads the next candidate of h; false at its end.
func (h *head) advance(mg *merge) (bool, error) {
	if h.isList {
		if len(h.list) == 0 {
			return false, nil
		}
		h.cur, h.list = h.list[0], h.list[1:]
		return true, nil
	}
	if h.fwd != nil {
		return h.fwd.advance(mg, h)
	}
	for {
		id, ok, err := h.nextID(mg)
		if !ok || err != nil {
			return false, err
		}
		if h.read && id < h.last {
			return false, fmt.Errorf("read reverse %s in %s: objects out of order (%s after %s)", h.s.subj, h.s.scan, id, h.last)
		}
		h.last, h.read = id, true
		if mg.from && id <= mg.after {
			continue
		}
		h.cur = candidate{id: id, m: h.s.m}
		return true, nil
	}
}

func (mg *merge) next() (candidate, bool, error) {
	if mg.err != nil {
		return candidate{}, false, mg.err
	}
	fail := func(err error) (candidate, bool, error) {
		mg.err = err
		return candidate{}, false, err
	}
	if !mg.started {
		mg.started = true
		for _, h := range mg.heads {
			ok, err := h.advance(mg)
			if err != nil {
				return fail(err)
			}
			if ok {
				mg.h = append(mg.h, h)
			}
		}
		heap.Init(&mg.h)
	}
	// The heads whose candidate was taken last are read on only now that
	// the next is asked for: a page that is full reads no further.
	for _, h := range mg.spent {
		ok, err := h.advance(mg)
		if err != nil {
			return fail(err)
		}
		if ok {
			heap.Push(&mg.h, h)
		}
	}
	mg.spent = mg.spent[:0]
	if len(mg.h) == 0 {
		return candidate{}, false, nil
	}
	if err := mg.rw.w.ctx.Err(); err != nil {
		return candidate{}, false, err
	}
	best := mg.h[0].cur
	for len(mg.h) > 0 && mg.h[0].cur.id == best.id {
		h := heap.Pop(&mg.h).(*head)
		best.m = max(best.m, h.cur.m)
		mg.spent = append(mg.spent, h)
	}
	return best, true, nil
}

func (mg *merge) stop() {
	for _, h := range mg.heads {
		if h.stop != nil {
			h.stop()
		}
		if h.fwd != nil {
			h.fwd.close()
		}
	}
}

// headHeap orders heads by their current candidate's id.
type headHeap []*head

func (q headHeap) Len() int           { return len(q) }
func (q headHeap) Less(i, j int) bool { return q[i].cur.id < q[j].cur.id }
func (q headHeap) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *headHeap) Push(x any)        { *q = append(*q, x.(*head)) }
func (q *headHeap) Pop() any {
	old := *q
	h := old[len(old)-1]
	*q = old[:len(old)-1]
	return h
}
