package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// The membership index in memory, as Zanzibar's Leopard serves it: the
// stored tuples of every indexed nesting relation (schema.Relation.
// GroupIndexed), and of every relation a hop takes into one (see
// relationsOf) and, while they fit in the limit, of the deny lists an
// exclusion subtracts, held both ways: by subject, the groups storing it
// (MEMBER2GROUP and, for subject sets, GROUP2GROUP one step up), and by
// group, what it stores. A subject's groups, the groups above a group
// (searched once and kept until a group moves: memRel.rows) and a group's
// subjects are then map lookups instead of reads of the backend. It is
// built once from a reader at some revision and then kept in step by
// reading the backend's change log, the record of every committed tuple
// change, so a snapshot at revision R answers from it exactly what the
// backend's reads at R would: each list is kept as versions by revision,
// and a snapshot takes the newest version at or below its own. A snapshot
// it cannot answer exactly (a revision below the one it was built at, a
// key whose versions were pruned past the revision, a relation one of
// whose tuples carries a condition or an expiry) reads the backend, so
// the answer never depends on it.
//
// Building runs in the background (MemIndexBackground), so that no
// snapshot waits for it. Deny lists that do not fit in
// Options.MemIndexLimit are left out; when the rest does not fit, nothing
// is held.

// MemIndexMode says whether and how a store holds the membership index in
// memory.
type MemIndexMode int

const (
	// MemIndexOff: snapshots read the backend's index.
	MemIndexOff MemIndexMode = iota
	// MemIndexBackground builds the index in memory in the background
	// from the first snapshot on; snapshots read the backend until it is
	// ready.
	MemIndexBackground
	// MemIndexInline builds and catches up inside the snapshot that
	// needs it, so that every snapshot it can answer does (tests).
	MemIndexInline
)

// DefaultMemIndexLimit is Options.MemIndexLimit's default: the most
// tuples the index in memory holds (about 145 bytes
// each).
const DefaultMemIndexLimit = 4 << 20

const (
	// memVersions is the most versions kept per subject: older
	// revisions of a subject that changed more often read the backend.
	memVersions = 8
	// memCatchUpMost is the most changes one catch-up reads from the
	// change log; a longer stretch (a bulk import by another process)
	// is cheaper to rebuild from.
	memCatchUpMost = 1 << 16
	// memCatchUpChunk is how many changes a catch-up asks for at once.
	memCatchUpChunk = 4096
	// memRetryFirst and memRetryMost bound the wait before a build tries
	// again after the index went over its limit (markOver).
	memRetryFirst = time.Minute
	memRetryMost  = time.Hour
)

// MemIndexStatus describes a store's membership index in memory.
type MemIndexStatus struct {
	Mode MemIndexMode
	// Ready: snapshots at Built and after answer from it.
	Ready bool
	// Built is the revision it was built at, Applied the latest revision
	// whose changes it holds.
	Built, Applied tuples.Revision
	// Relations are the relations held; Tuples how many tuples.
	Relations []IndexedRelation
	Tuples    int64
	// Tainted lists the relations one of whose tuples carries a condition
	// or an expiry: they are read from the backend.
	Tainted []IndexedRelation
	// OverLimit: the relations it must hold had more tuples than the
	// limit at the last build or catch-up, so none are held; in the
	// background it tries again at NextTry (markOver).
	OverLimit bool
	NextTry   time.Time
	// Left lists the deny lists (relations an exclusion subtracts) left
	// out because they did not fit in the limit: they are read from the
	// backend.
	Left []IndexedRelation
	// Builds, CatchUps and Fallbacks count builds, catch-ups from the
	// change log and snapshots that could not use the index (it was not
	// ready, or a catch-up was running).
	Builds, CatchUps, Fallbacks uint64
	// Err is the last build or catch-up error, "" for none; Errors
	// counts them.
	Err    string
	Errors uint64
	// Limit is the most tuples it may hold (Options.MemIndexLimit).
	Limit int64
}

// MemIndexer is implemented by the Store of New: the state of its
// membership index in memory, and a wait for it to be ready.
type MemIndexer interface {
	MemIndexStatus() MemIndexStatus
	// WaitMemIndex starts building the index if it is not built yet and
	// waits until it is ready or its build ends without it (over the
	// limit, an error, the mode off); it returns the status then.
	WaitMemIndex(ctx context.Context) (MemIndexStatus, error)
}

// WaitMemIndex waits for st's membership index in memory where st keeps
// one (MemIndexer), and otherwise returns at once.
func WaitMemIndex(ctx context.Context, st Store) (MemIndexStatus, error) {
	if m, ok := st.(MemIndexer); ok {
		return m.WaitMemIndex(ctx)
	}
	return MemIndexStatus{}, nil
}

// memIndex is a store's membership index in memory.
type memIndex struct {
	mode  MemIndexMode
	limit int64
	b     Backend
	// schemaAt returns the compiled schema of a reader.
	schemaAt func(ctx context.Context, r Reader) (*schema.Schema, error)

	// mu serialises builds and catch-ups; cur is the state snapshots
	// read, nil until built (and after it is dropped).
	mu  sync.Mutex
	cur atomic.Pointer[memState]

	// The background build: ctx ends at Close; done is closed when the
	// running build ends (nil when none runs).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	bmu    sync.Mutex
	done   chan struct{}
	closed bool

	// rels keeps relationsOf by compiled schema (*schema.Schema).
	rels sync.Map

	// over: the relations it must hold passed the limit; until retryAt
	// (unix nanoseconds, by now) no build starts in the background, and
	// retryWait is the wait that led to it.
	over                                atomic.Bool
	now                                 func() time.Time
	retryAt, retryWait                  atomic.Int64
	builds, catchUps, fallbacks, errors atomic.Uint64
	lastErr                             atomic.Pointer[string]
}

func newMemIndex(b Backend, mode MemIndexMode, limit int, now func() time.Time, schemaAt func(context.Context, Reader) (*schema.Schema, error)) *memIndex {
	if limit <= 0 {
		limit = DefaultMemIndexLimit
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &memIndex{mode: mode, limit: int64(limit), b: b, now: now, schemaAt: schemaAt, ctx: ctx, cancel: cancel}
}

// markOver records that the relations the index must hold passed the
// limit, and when a build in the background may try again: after
// memRetryFirst, then after twice the last wait, up to memRetryMost. A
// store whose tuples were deleted below the limit gets its index back
// without a restart, and one that stays over costs one bounded read
// (at most limit+1 tuples) per wait.
func (m *memIndex) markOver() {
	w := time.Duration(m.retryWait.Load())
	if w == 0 {
		w = memRetryFirst
	} else {
		w = min(2*w, memRetryMost)
	}
	m.retryWait.Store(int64(w))
	m.retryAt.Store(m.now().Add(w).UnixNano())
	m.over.Store(true)
}

// memState is the index as built at base and kept up to applied.
type memState struct {
	base      tuples.Revision
	schemaRev tuples.Revision
	applied   atomic.Uint64
	rels      map[IndexedRelation]*memRel
	size      atomic.Int64
	// optional counts the deny lists held (relationsOf), which a catch-up
	// over the limit leaves out by rebuilding; left are those a build
	// left out because they did not fit.
	optional int
	left     []IndexedRelation
}

// memRel holds one relation's tuples both ways: up by subject
// (subjectKey) to the ids of the groups storing it, and down by group id
// to the subjectKeys of what it stores, each sorted in byte order, which
// is the order of the backends' keys.
type memRel struct {
	tainted  atomic.Bool
	mu       sync.RWMutex
	up, down map[string]*memEntry
	// edges is the latest revision that changed a subject set of the
	// relation itself (a group in a group); rows keeps, by group id, the
	// groups above it (*memRow) as searched while edges held a value:
	// unchanged as long as no group moves, so a search is made once.
	edges atomic.Uint64
	rows  sync.Map
}

// memRow is a group's groups above, searched while edges was epoch; ok
// is false when they number more than rowBound or chain deeper than
// MaxIndexChain.
type memRow struct {
	epoch uint64
	row   []tuples.GroupAbove
	ok    bool
}

// rowBound is the most groups above a group that a kept row holds.
const rowBound = 8192

// entry returns the entry of key in m, adding one when add is set; mr.mu
// guards the maps (entries change by atomic swaps of their histories).
// Only a build or a catch-up adds, under memIndex.mu, so no two adds of
// one key race.
func (mr *memRel) entry(m map[string]*memEntry, key []byte, add bool) *memEntry {
	mr.mu.RLock()
	e := m[string(key)]
	mr.mu.RUnlock()
	if e == nil && add {
		e = &memEntry{}
		mr.mu.Lock()
		m[string(key)] = e
		mr.mu.Unlock()
	}
	return e
}

// parseSubjectKey is subjectKey's inverse; the strings share k's memory.
func parseSubjectKey(k string) tuples.Subject {
	i := strings.IndexByte(k, 0)
	j := i + 1 + strings.IndexByte(k[i+1:], 0)
	return tuples.Subject{Type: k[:i], ID: k[i+1 : j], Relation: k[j+1:]}
}

// subjectKey appends the key of s in memRel.up to b: a lookup with
// string(subjectKey(buf[:0], s)) builds no string.
func subjectKey(b []byte, s tuples.Subject) []byte {
	b = append(b, s.Type...)
	b = append(b, 0)
	b = append(b, s.ID...)
	b = append(b, 0)
	return append(b, s.Relation...)
}

// memEntry is one subject's groups, by revision.
type memEntry struct{ v atomic.Pointer[memHistory] }

// memHistory is immutable: a change makes a new one. ids[i] (sorted, in
// byte order) holds from revision from[i] until from[i+1]. A read below
// exact falls back: the versions before it were pruned.
type memHistory struct {
	from  []tuples.Revision
	ids   [][]string
	exact tuples.Revision
}

// at returns the groups at rev; ok is false when rev is below what the
// history still knows.
func (h *memHistory) at(rev tuples.Revision) (ids []string, ok bool) {
	if h == nil {
		return nil, true
	}
	if rev < h.exact {
		return nil, false
	}
	i := sort.Search(len(h.from), func(i int) bool { return h.from[i] > rev })
	if i == 0 {
		return nil, true // not stored before its first version
	}
	return h.ids[i-1], true
}

// with returns the history with id added (or removed) at rev, and
// whether that changed anything.
func (h *memHistory) with(rev tuples.Revision, id string, add bool) (*memHistory, bool) {
	var last []string
	if h != nil && len(h.ids) > 0 {
		last = h.ids[len(h.ids)-1]
	}
	i, found := slices.BinarySearch(last, id)
	if found == add {
		return h, false
	}
	next := make([]string, 0, len(last)+1)
	next = append(next, last[:i]...)
	if add {
		next = append(next, id)
		next = append(next, last[i:]...)
	} else {
		next = append(next, last[i+1:]...)
	}
	n := &memHistory{}
	if h != nil {
		n.exact = h.exact
		n.from = append(n.from, h.from...)
		n.ids = append(n.ids, h.ids...)
	}
	if k := len(n.from); k > 0 && n.from[k-1] == rev {
		n.ids[k-1] = next // a second change in one revision
	} else {
		n.from = append(n.from, rev)
		n.ids = append(n.ids, next)
	}
	if k := len(n.from); k > memVersions {
		drop := k - memVersions
		n.from, n.ids = n.from[drop:], n.ids[drop:]
		n.exact = n.from[0]
	}
	return n, true
}

// heldRelations are the relations of a schema the index holds: the
// first core ones always, the rest (exclusions' deny lists) while the
// whole still fits the limit.
type heldRelations struct {
	all  []IndexedRelation
	core int
}

// relationsOf lists the relations of sch the index holds. Its core is
// every indexed nesting relation (schema.Relation.GroupIndexed), and
// every relation an arrow hops through into one, such as a user's `team`
// in `assignee.team#member`, where it stores plain objects only, without
// conditions or expiries: the groups a subject is filed under, which a
// check reads on its way to the memberships. After them come the stored
// relations an exclusion subtracts (`viewer - deny_list`) whose tuples
// carry no conditions or expiries: a check of the permission reads its
// deny list whenever the rest holds, and first when it is the cheaper
// side, so holding the list makes every denied check, and the deny half
// of every other, a lookup in memory instead of a read. Deny lists are short
// beside the access they take away; where they are not, they are the
// first thing left out when the limit is reached.
func relationsOf(sch *schema.Schema) heldRelations {
	if sch == nil {
		return heldRelations{}
	}
	var out heldRelations
	seen := map[*schema.Relation]bool{}
	add := func(r *schema.Relation) {
		if !seen[r] {
			seen[r] = true
			out.all = append(out.all, IndexedRelation{Type: r.Type.Name, Relation: r.Name})
		}
	}
	for _, r := range sch.Relations {
		if r.GroupIndexed() {
			add(r)
		}
	}
	var excluded []*schema.Relation
	var visit func(n schema.Node)
	visit = func(n schema.Node) {
		switch n := n.(type) {
		case *schema.Arrow:
			for _, then := range n.Then {
				if ref, ok := then.(*schema.Ref); ok && ref.Relation.GroupIndexed() && plainObjects(n.Tupleset) {
					add(n.Tupleset)
				}
				if then != nil {
					visit(then)
				}
			}
		case *schema.Union:
			for _, c := range n.Children {
				visit(c)
			}
		case *schema.Intersect:
			for _, c := range n.Children {
				visit(c)
			}
		case *schema.Exclude:
			excluded = denyLists(excluded, n.Subtract)
			visit(n.Base)
			visit(n.Subtract)
		}
	}
	for _, r := range sch.Relations {
		if r.Rewrite != nil {
			visit(r.Rewrite)
		}
	}
	out.core = len(out.all)
	for _, r := range excluded {
		add(r)
	}
	return out
}

// denyLists appends the stored relations without conditions or expiries
// that n, the subtracted side of an exclusion, reads on its own object:
// n itself, or the operands of its unions, intersections and exclusions
// (`viewer - (deny_list | blocked)`). What an arrow reads is another
// object's and not held.
func denyLists(out []*schema.Relation, n schema.Node) []*schema.Relation {
	switch n := n.(type) {
	case *schema.Ref:
		if n.Relation.Stored && !n.Relation.HasConditions() {
			out = append(out, n.Relation)
		}
	case *schema.Union:
		for _, c := range n.Children {
			out = denyLists(out, c)
		}
	case *schema.Intersect:
		for _, c := range n.Children {
			out = denyLists(out, c)
		}
	case *schema.Exclude:
		out = denyLists(out, n.Base)
		out = denyLists(out, n.Subtract)
	}
	return out
}

// plainObjects reports whether r is stored and holds only objects: no
// subject sets, no wildcards, no conditions, no expiries.
func plainObjects(r *schema.Relation) bool {
	if r == nil || !r.Stored {
		return false
	}
	for _, a := range r.Allowed {
		if a.Relation != nil || a.Wildcard || a.Condition != nil || a.Expiration {
			return false
		}
	}
	return true
}

// MemIndexRelations lists the relations of sch a store's index in memory
// holds, in the order it reads them: nesting relations, the relations
// hops take into them, then deny lists, which it holds while they fit in
// its limit.
func MemIndexRelations(sch *schema.Schema) []IndexedRelation {
	return slices.Clone(relationsOf(sch).all)
}

// relationsOf is the package's relationsOf, kept by schema: a snapshot
// asks it of the schema in force, which changes rarely.
func (m *memIndex) relationsOf(sch *schema.Schema) []IndexedRelation {
	if sch == nil {
		return nil
	}
	if rels, ok := m.rels.Load(sch); ok {
		return rels.([]IndexedRelation)
	}
	rels := relationsOf(sch).all
	m.rels.Store(sch, rels)
	return rels
}

// view returns what a snapshot of r reads from the index, nil when it
// cannot (not built yet, r below the base, a catch-up already running):
// the snapshot then reads the backend. It starts a build when none is
// there, and a rebuild when r's schema has nesting relations the index
// was built without.
func (m *memIndex) view(ctx context.Context, r Reader, sch *schema.Schema, schemaRev tuples.Revision) *memView {
	if m == nil || m.mode == MemIndexOff {
		return nil
	}
	rels := m.relationsOf(sch)
	if len(rels) == 0 {
		return nil
	}
	st := m.cur.Load()
	if st == nil && m.mode == MemIndexInline {
		if err := m.build(ctx); err != nil {
			m.fail(err)
		}
		st = m.cur.Load()
	}
	if st == nil {
		m.fallbacks.Add(1)
		if m.mode == MemIndexBackground {
			m.start()
		}
		return nil
	}
	rev := r.Revision()
	if rev < st.base {
		m.fallbacks.Add(1)
		return nil
	}
	if schemaRev > st.schemaRev {
		for _, ir := range rels {
			// A relation the index lacks, or holds with conditions or
			// expiries the new schema may no longer allow: read again. A
			// deny list it left out for the limit stays out: it did not
			// fit, and the schema did not change its tuples.
			mr := st.rels[ir]
			if mr == nil && slices.Contains(st.left, ir) {
				continue
			}
			if mr == nil || mr.tainted.Load() {
				m.drop(st)
				return m.view(ctx, r, sch, schemaRev)
			}
		}
	}
	if tuples.Revision(st.applied.Load()) < rev {
		if m.mode == MemIndexInline {
			m.mu.Lock()
		} else if !m.mu.TryLock() {
			m.fallbacks.Add(1)
			return nil
		}
		err := m.catchUp(ctx, st, rev)
		m.mu.Unlock()
		if errors.Is(err, errRebuild) && m.mode == MemIndexInline && !m.over.Load() {
			return m.view(ctx, r, sch, schemaRev) // built again
		}
		if err != nil {
			m.fallbacks.Add(1)
			return nil
		}
	}
	return &memView{st: st, rev: rev}
}

// errRebuild: the state was dropped; a build replaces it.
var errRebuild = errors.New("membership index in memory dropped for a rebuild")

// catchUp applies the change log up to at least rev to st; m.mu is held.
func (m *memIndex) catchUp(ctx context.Context, st *memState, rev tuples.Revision) error {
	if m.cur.Load() != st {
		return errRebuild
	}
	read := 0
	for tuples.Revision(st.applied.Load()) < rev {
		after := tuples.Revision(st.applied.Load())
		cs, err := m.b.Changes(ctx, after, memCatchUpChunk)
		if errors.Is(err, ErrChangesTrimmed) {
			m.drop(st)
			m.rebuild()
			return errRebuild
		}
		if err != nil {
			m.fail(fmt.Errorf("catch up from revision %d: %w", after, err))
			return err
		}
		read += len(cs)
		if read > memCatchUpMost {
			m.drop(st)
			m.rebuild()
			return errRebuild
		}
		for _, c := range cs {
			if err := m.apply(st, c); err != nil {
				return err
			}
		}
		next := rev
		if len(cs) >= memCatchUpChunk {
			// More may follow: what was read ends on a revision boundary.
			next = cs[len(cs)-1].Revision
		} else if len(cs) > 0 && cs[len(cs)-1].Revision > next {
			next = cs[len(cs)-1].Revision
		}
		if next <= after {
			return fmt.Errorf("catch up from revision %d: the change log did not advance", after)
		}
		st.applied.Store(uint64(next))
	}
	m.catchUps.Add(1)
	return nil
}

// apply adds one logged change to st.
func (m *memIndex) apply(st *memState, c tuples.Change) error {
	t := &c.Tuple
	mr := st.rels[IndexedRelation{Type: t.ObjectType, Relation: t.Relation}]
	if mr == nil {
		return nil
	}
	if !t.Payload.IsZero() {
		mr.tainted.Store(true)
		return nil
	}
	var buf [128]byte
	k := subjectKey(buf[:0], t.Subject())
	add := c.Kind == tuples.ChangeWrite
	e := mr.entry(mr.up, k, add)
	if e == nil {
		return nil
	}
	h, changed := e.v.Load().with(c.Revision, t.ObjectID, add)
	if !changed {
		return nil
	}
	e.v.Store(h)
	if t.SubjectType == t.ObjectType && t.SubjectRelation == t.Relation {
		mr.edges.Store(uint64(c.Revision))
	}
	d := mr.entry(mr.down, []byte(t.ObjectID), true)
	dh, _ := d.v.Load().with(c.Revision, string(k), add)
	d.v.Store(dh)
	if c.Kind == tuples.ChangeWrite {
		if st.size.Add(1) > m.limit {
			// With deny lists held, a rebuild leaves out those that no
			// longer fit; without, the core is over the limit.
			if st.optional == 0 {
				m.markOver()
			}
			m.drop(st)
			m.rebuild()
			return errRebuild
		}
	} else {
		st.size.Add(-1)
	}
	return nil
}

// drop retires st, when it is still the current state.
func (m *memIndex) drop(st *memState) { m.cur.CompareAndSwap(st, nil) }

func (m *memIndex) fail(err error) {
	s := err.Error()
	m.lastErr.Store(&s)
	m.errors.Add(1)
}

// bulk holds catch-ups off while a bulk write commits, and drops the
// state, so that the snapshots after it rebuild from the tuples instead
// of reading the write's whole change log; the returned func ends it.
func (m *memIndex) bulk() func() {
	if m == nil || m.mode == MemIndexOff {
		return func() {}
	}
	m.mu.Lock()
	if st := m.cur.Load(); st != nil {
		m.drop(st)
	}
	return m.mu.Unlock
}

// rebuild starts a build in the background mode; inline, the next
// snapshot builds.
func (m *memIndex) rebuild() {
	if m.mode == MemIndexBackground {
		m.start()
	}
}

// start begins a build in the background unless one runs, the index is
// over its limit and not due to try again (markOver), or the store is
// closed.
func (m *memIndex) start() <-chan struct{} {
	m.bmu.Lock()
	defer m.bmu.Unlock()
	if m.done != nil {
		return m.done
	}
	done := make(chan struct{})
	if m.closed || (m.over.Load() && m.now().UnixNano() < m.retryAt.Load()) {
		close(done)
		return done
	}
	m.done = done
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.build(m.ctx)
		if err != nil && m.ctx.Err() == nil {
			m.fail(err)
		}
		m.bmu.Lock()
		m.done = nil
		m.bmu.Unlock()
		close(done)
	}()
	return done
}

// build reads the nesting relations at the latest revision into a new
// state and makes it current.
func (m *memIndex) build(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur.Load() != nil {
		return nil
	}
	r, err := m.b.Reader(ctx, 0)
	if err != nil {
		return fmt.Errorf("build the membership index in memory: %w", err)
	}
	defer r.Close()
	sch, err := m.schemaAt(ctx, r)
	if err != nil {
		return fmt.Errorf("build the membership index in memory: %w", err)
	}
	st, err := m.read(ctx, r, sch)
	if err != nil || st == nil {
		return err
	}
	m.cur.Store(st)
	m.builds.Add(1)
	m.over.Store(false)
	m.retryWait.Store(0)
	return nil
}

// read builds a state from r; nil (and m.over set) when the core
// relations hold more than the limit. The deny lists after them are held
// each only if it fits in what the limit leaves.
func (m *memIndex) read(ctx context.Context, r Reader, sch *schema.Schema) (*memState, error) {
	st := &memState{base: r.Revision(), rels: map[IndexedRelation]*memRel{}}
	if text, err := r.Schema(ctx); err == nil {
		st.schemaRev = text.Revision
	} else {
		return nil, fmt.Errorf("build the membership index in memory: %w", err)
	}
	st.applied.Store(uint64(st.base))
	held := relationsOf(sch)
	var n int64
	for i, ir := range held.all {
		mr, count, fits, err := readRelation(ctx, r, ir, st.base, m.limit-n)
		if err != nil {
			return nil, err
		}
		if !fits {
			if i < held.core {
				m.markOver()
				return nil, nil
			}
			st.left = append(st.left, ir)
			continue
		}
		st.rels[ir] = mr
		if i >= held.core {
			st.optional++
		}
		n += count
	}
	st.size.Store(n)
	return st, nil
}

// readRelation reads ir's tuples at r, revision base, into a new memRel;
// fits is false when they number more than budget.
func readRelation(ctx context.Context, r Reader, ir IndexedRelation, base tuples.Revision, budget int64) (mr *memRel, n int64, fits bool, err error) {
	mr = &memRel{up: map[string]*memEntry{}, down: map[string]*memEntry{}}
	mr.edges.Store(uint64(base))
	groups := map[tuples.Subject][]string{}
	stored := map[string][]string{}
	cursor := ""
	for {
		ts, next, err := r.Read(ctx, tuples.Filter{ObjectType: ir.Type, Relation: ir.Relation}, cursor, 4096)
		if err != nil {
			return nil, 0, false, fmt.Errorf("build the membership index in memory: read %s#%s: %w", ir.Type, ir.Relation, err)
		}
		for _, t := range ts {
			if !t.Payload.IsZero() {
				mr.tainted.Store(true)
				continue
			}
			s := t.Subject()
			groups[s] = append(groups[s], t.ObjectID)
			stored[t.ObjectID] = append(stored[t.ObjectID], string(subjectKey(nil, s)))
			if n++; n > budget {
				return nil, 0, false, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for s, ids := range groups {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		e := &memEntry{}
		e.v.Store(&memHistory{from: []tuples.Revision{base}, ids: [][]string{ids}})
		mr.up[string(subjectKey(nil, s))] = e
	}
	for g, keys := range stored {
		slices.Sort(keys)
		keys = slices.Compact(keys)
		e := &memEntry{}
		e.v.Store(&memHistory{from: []tuples.Revision{base}, ids: [][]string{keys}})
		mr.down[g] = e
	}
	return mr, n, true, nil
}

// close ends a running build and waits for it.
func (m *memIndex) close() {
	if m == nil {
		return
	}
	m.bmu.Lock()
	m.closed = true
	m.bmu.Unlock()
	m.cancel()
	m.wg.Wait()
}

func (m *memIndex) status() MemIndexStatus {
	if m == nil {
		return MemIndexStatus{}
	}
	s := MemIndexStatus{Mode: m.mode, OverLimit: m.over.Load(), Builds: m.builds.Load(), CatchUps: m.catchUps.Load(),
		Fallbacks: m.fallbacks.Load(), Errors: m.errors.Load(), Limit: m.limit}
	if s.OverLimit && m.mode == MemIndexBackground {
		s.NextTry = time.Unix(0, m.retryAt.Load())
	}
	if e := m.lastErr.Load(); e != nil {
		s.Err = *e
	}
	st := m.cur.Load()
	if st == nil {
		return s
	}
	s.Ready, s.Built, s.Applied, s.Tuples = true, st.base, tuples.Revision(st.applied.Load()), st.size.Load()
	for ir, mr := range st.rels {
		s.Relations = append(s.Relations, ir)
		if mr.tainted.Load() {
			s.Tainted = append(s.Tainted, ir)
		}
	}
	byName := func(a, b IndexedRelation) int {
		if a.Type != b.Type {
			return strings.Compare(a.Type, b.Type)
		}
		return strings.Compare(a.Relation, b.Relation)
	}
	s.Left = slices.Clone(st.left)
	slices.SortFunc(s.Relations, byName)
	slices.SortFunc(s.Tainted, byName)
	slices.SortFunc(s.Left, byName)
	return s
}

func (s *store) MemIndexStatus() MemIndexStatus { return s.mem.status() }

func (s *store) WaitMemIndex(ctx context.Context) (MemIndexStatus, error) {
	if s.mem == nil || s.mem.mode == MemIndexOff {
		return s.mem.status(), nil
	}
	for {
		if s.mem.cur.Load() != nil {
			return s.mem.status(), nil
		}
		done := s.mem.start()
		select {
		case <-done:
		case <-ctx.Done():
			return s.mem.status(), ctx.Err()
		}
		if s.mem.cur.Load() == nil {
			// The build ended without a state: over the limit, closed,
			// an error, or no nesting relation to hold.
			return s.mem.status(), nil
		}
	}
}

// memView is what one snapshot reads from the index: st at rev.
type memView struct {
	st  *memState
	rev tuples.Revision
}

// groups returns the ids of the groups of rel that store s at the view's
// revision; ok is false when the view cannot say exactly.
func (v *memView) groups(ir IndexedRelation, s tuples.Subject) (ids []string, ok bool) {
	mr := v.st.rels[ir]
	if mr == nil || mr.tainted.Load() {
		return nil, false
	}
	return v.groupsIn(mr, s)
}

func (v *memView) groupsIn(mr *memRel, s tuples.Subject) (ids []string, ok bool) {
	var buf [128]byte
	e := mr.entry(mr.up, subjectKey(buf[:0], s), false)
	if e == nil {
		return nil, true
	}
	return e.v.Load().at(v.rev)
}

// stored returns the subjectKeys of what group stores in ir at the
// view's revision, in byte order; ok is false when the view cannot say
// exactly.
func (v *memView) stored(ir IndexedRelation, group string) (keys []string, ok bool) {
	mr := v.st.rels[ir]
	if mr == nil || mr.tainted.Load() {
		return nil, false
	}
	return v.storedIn(mr, group)
}

func (v *memView) storedIn(mr *memRel, group string) (keys []string, ok bool) {
	mr.mu.RLock()
	e := mr.down[group]
	mr.mu.RUnlock()
	if e == nil {
		return nil, true
	}
	return e.v.Load().at(v.rev)
}

// has reports whether group stores s in ir at the view's revision; ok is
// false when the view cannot say exactly.
func (v *memView) has(ir IndexedRelation, group string, s tuples.Subject) (found, ok bool) {
	keys, ok := v.stored(ir, group)
	if !ok || len(keys) == 0 {
		return false, ok
	}
	var buf [128]byte
	k := subjectKey(buf[:0], s)
	// sort.Search by hand: comparing with string(k) builds no string.
	lo, hi := 0, len(keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if keys[mid] < string(k) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(keys) && keys[lo] == string(k), true
}

// hasAny reports whether any of objs stores any of subjs in relation at
// the view's revision; ok is false when the view cannot say exactly.
func (v *memView) hasAny(objs []tuples.Object, relation string, subjs []tuples.Subject) (found, ok bool) {
	for _, o := range objs {
		for _, x := range subjs {
			if found, ok := v.has(IndexedRelation{Type: o.Type, Relation: relation}, o.ID, x); !ok || found {
				return found, ok
			}
		}
	}
	return false, true
}

// subjects iterates keys as subjects, narrowed by f.
func subjects(keys []string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		for _, k := range keys {
			if s := parseSubjectKey(k); f.Matches(s) && !yield(s, nil) {
				return
			}
		}
	}
}

// below returns what each of groups stores in ir and what every group
// below them does, down through the subject sets of ir, by group; ok is
// false when the view cannot say exactly. It is bounded by the groups
// of ir, all of which a caller walking down would read anyway.
func (v *memView) below(ir IndexedRelation, groups []tuples.Object) (map[tuples.Object][]tuples.Subject, bool) {
	mr := v.st.rels[ir]
	if mr == nil || mr.tainted.Load() {
		return nil, false
	}
	out := make(map[tuples.Object][]tuples.Subject, len(groups))
	frontier := make([]string, 0, len(groups))
	for _, g := range groups {
		if _, ok := out[g]; !ok {
			out[g] = nil
			frontier = append(frontier, g.ID)
		}
	}
	for len(frontier) > 0 {
		var next []string
		for _, g := range frontier {
			keys, ok := v.storedIn(mr, g)
			if !ok {
				return nil, false
			}
			subjs := make([]tuples.Subject, 0, len(keys))
			for _, k := range keys {
				s := parseSubjectKey(k)
				subjs = append(subjs, s)
				if s.Type != ir.Type || s.Relation != ir.Relation {
					continue
				}
				child := tuples.Object{Type: ir.Type, ID: s.ID}
				if _, seen := out[child]; seen {
					continue
				}
				out[child] = nil
				next = append(next, s.ID)
			}
			out[tuples.Object{Type: ir.Type, ID: g}] = subjs
		}
		frontier = next
	}
	return out, true
}

// above returns the groups above group in ir, breadth first, each with
// its shortest chain, as the backend's index rows record them: the group
// itself left out, and ok false (the caller walks) past bound groups or
// MaxIndexChain levels, or where the view cannot say exactly.
func (v *memView) above(ir IndexedRelation, group string, bound int) ([]tuples.GroupAbove, bool) {
	mr := v.st.rels[ir]
	if mr == nil || mr.tainted.Load() {
		return nil, false
	}
	row, ok := v.rowOf(mr, ir, group)
	if !ok || len(row) > bound {
		return nil, false
	}
	row = slices.Clone(row)
	slices.SortFunc(row, func(a, b tuples.GroupAbove) int { return strings.Compare(a.ID, b.ID) })
	return row, true
}

// rowOf returns the groups above group with their shortest chains, kept
// from an earlier search where no group has moved since (mr.rows), else
// searched now; the row is shared and must not be changed.
func (v *memView) rowOf(mr *memRel, ir IndexedRelation, group string) ([]tuples.GroupAbove, bool) {
	epoch := mr.edges.Load()
	// Only a view at or after the latest move sees the groups as they
	// are now: an older one searches at its own revision.
	current := uint64(v.rev) >= epoch
	if current {
		if x, ok := mr.rows.Load(group); ok {
			if r := x.(*memRow); r.epoch == epoch {
				return r.row, r.ok
			}
		}
	}
	var b groupSearch
	b.add(group)
	row, ok := b.up(v, mr, ir, []string{group}, 1, rowBound)
	if current {
		mr.rows.Store(group, &memRow{epoch: epoch, row: row, ok: ok})
	}
	return row, ok
}

// memberships returns the groups of ir storing any of subjects, directly
// (chain 0) or through subject sets, each with its shortest chain: the
// groups storing them, and the rows above those, each group at its
// shortest chain over all; ok is false past bound groups, or where the
// view cannot say exactly.
func (v *memView) memberships(ir IndexedRelation, subjects []tuples.Subject, bound int) ([]tuples.GroupAbove, bool) {
	mr := v.st.rels[ir]
	if mr == nil || mr.tainted.Load() {
		return nil, false
	}
	var out chainSet
	var level0 []string
	for _, s := range subjects {
		ids, ok := v.groupsIn(mr, s)
		if !ok {
			return nil, false
		}
		for _, g := range ids {
			if out.put(g, 0) {
				level0 = append(level0, g)
			}
		}
	}
	for _, g := range level0 {
		row, ok := v.rowOf(mr, ir, g)
		if !ok {
			return nil, false
		}
		for _, a := range row {
			out.put(a.ID, a.Chain)
		}
		if len(out.groups) > bound {
			return nil, false
		}
	}
	if len(out.groups) > bound {
		return nil, false
	}
	return out.groups, true
}

// chainSet gathers groups with their shortest chains: a slice searched
// in place while small, indexed by a map beyond.
type chainSet struct {
	groups []tuples.GroupAbove
	at     map[string]int
}

// put records g at chain c unless it is there at a chain as short; it
// reports whether g is new.
func (cs *chainSet) put(g string, c int) bool {
	i := -1
	if cs.at != nil {
		if j, ok := cs.at[g]; ok {
			i = j
		}
	} else {
		for j := range cs.groups {
			if cs.groups[j].ID == g {
				i = j
				break
			}
		}
	}
	if i >= 0 {
		if c < cs.groups[i].Chain {
			cs.groups[i].Chain = c
		}
		return false
	}
	cs.groups = append(cs.groups, tuples.GroupAbove{ID: g, Chain: c})
	switch {
	case cs.at != nil:
		cs.at[g] = len(cs.groups) - 1
	case len(cs.groups) > 32:
		cs.at = make(map[string]int, 2*len(cs.groups))
		for j, x := range cs.groups {
			cs.at[x.ID] = j
		}
	}
	return true
}

// groupSearch is the set of groups a breadth-first search has reached:
// a slice while it is small, as it is for people in a few teams, and a
// map beyond.
type groupSearch struct {
	few  []string
	many map[string]bool
}

func (b *groupSearch) seen(g string) bool {
	if b.many != nil {
		return b.many[g]
	}
	return slices.Contains(b.few, g)
}

func (b *groupSearch) add(g string) {
	if b.many != nil {
		b.many[g] = true
		return
	}
	b.few = append(b.few, g)
	if len(b.few) > 32 {
		b.many = make(map[string]bool, 2*len(b.few))
		for _, x := range b.few {
			b.many[x] = true
		}
	}
}

// up searches the groups above frontier, reached at level, and returns
// those not seen yet with their chains; ok is false past bound of them or
// MaxIndexChain levels, or where the view cannot say exactly.
func (b *groupSearch) up(v *memView, mr *memRel, ir IndexedRelation, frontier []string, level, bound int) (row []tuples.GroupAbove, ok bool) {
	for ; len(frontier) > 0; level++ {
		if level > MaxIndexChain {
			return nil, false
		}
		var next []string
		for _, g := range frontier {
			ids, ok := v.groupsIn(mr, tuples.Subject{Type: ir.Type, ID: g, Relation: ir.Relation})
			if !ok {
				return nil, false
			}
			for _, p := range ids {
				if b.seen(p) {
					continue
				}
				b.add(p)
				row = append(row, tuples.GroupAbove{ID: p, Chain: level})
				next = append(next, p)
			}
		}
		if len(row) > bound {
			return nil, false
		}
		frontier = next
	}
	return row, true
}

// reverse iterates ids as objects of typ.
func reverse(typ string, ids []string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		for _, id := range ids {
			if !yield(tuples.Object{Type: typ, ID: id}, nil) {
				return
			}
		}
	}
}
