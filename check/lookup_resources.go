package check

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// ResourceQuery asks for every object of Type on which Subject holds
// Relation.
type ResourceQuery struct {
	Subject        tuples.Subject
	Type, Relation string
	// Limit caps the objects yielded by one call (0 = all); a capped call
	// returns a cursor to continue from.
	Limit  int
	Cursor string
	// Context holds contextual tuples, treated as stored for this lookup
	// only, as for Query.Context.
	Context []tuples.Tuple
	// RequestContext holds condition parameters, as for
	// Query.RequestContext.
	RequestContext condition.Context
}

// LookupResources yields, in order of object id, the objects of q.Type on
// which q.Subject holds q.Relation for certain; objects that are members
// only conditionally (see LookupResourceResults) are left out, as a
// conditional check is not allowed. It returns a non-empty cursor when it
// stopped early (limit reached with more to come, or yield returned
// false); passing it back as q.Cursor continues after the last object
// yielded.
//
// Candidates come from walking the schema's reverse edges backwards from
// the subject. One reached along unions, arrows and subject sets alone is
// yielded as it is; one reached through the base of the target's
// top-level exclusions is tested against the subtracted sides only; any
// other is confirmed with a check. Over a schema with `with NAME` forms
// every candidate is confirmed with a check (lookup_conditions.go).
func (c *Checker) LookupResources(ctx context.Context, snap tuples.Snapshot, q ResourceQuery, yield func(tuples.Object) bool) (string, error) {
	return c.lookupResources(ctx, snap, q, false, func(r ResourceResult) bool { return yield(r.Object) })
}

// LookupResourceResults is LookupResources reporting conditional members
// too: it yields, in order of object id, every object on which a check
// of q.Subject would answer allowed (Conditional false) or conditional
// (Conditional true, with the check's Missing parameters). Limit and
// the cursor count both kinds, so pages are stable whatever the mix.
func (c *Checker) LookupResourceResults(ctx context.Context, snap tuples.Snapshot, q ResourceQuery, yield func(ResourceResult) bool) (string, error) {
	return c.lookupResources(ctx, snap, q, true, yield)
}

func (c *Checker) lookupResources(ctx context.Context, snap tuples.Snapshot, q ResourceQuery, withConditional bool, yield func(ResourceResult) bool) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("lookup resources %s#%s for %s: %w", q.Type, q.Relation, q.Subject, err)
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return fail(err)
	}
	w, err := c.begin(ctx, snap, q.Context)
	if err != nil {
		return fail(err)
	}
	defer c.end(w)
	w.reqCtx = q.RequestContext
	target := w.sch.Relation(q.Type, q.Relation)
	if target == nil {
		return fail(fmt.Errorf("unknown relation %s#%s", q.Type, q.Relation))
	}
	if err = w.setSubject(q.Subject); err != nil {
		return fail(err)
	}
	if !w.reaches(target) {
		return "", nil
	}
	// A page stops once it is full: the walk's last reads are left to the
	// end and read as far as the page goes (lookup_stream.go).
	rw := newResourceWalk(w, target, 0)
	defer rw.release()
	if q.Limit > 0 {
		rw.streamTerminal()
	}
	if err := rw.run(); err != nil {
		return fail(err)
	}
	if rw.tooDeep() {
		// Near the depth limit the chains to each object decide the
		// error a lookup meets: walked whole, as a check would.
		rw = newResourceWalk(w, target, 0)
		defer rw.release()
		if err := rw.run(); err != nil {
			return fail(err)
		}
	}
	var page *pageScan
	if q.Limit > 0 {
		page = &pageScan{tuning: c.scan.orDefault(), want: q.Limit + 1}
	}
	next, stop := rw.candidates(after, q.Cursor != "", page)
	defer stop()
	conds := w.plan.condForms
	var conf *resourceConfirmer
	if !conds {
		conf = newResourceConfirmer(rw, after, q.Cursor != "")
		if rw.terminal != nil {
			// How many guarded objects the streams hold is not known
			// before they are read: the page's size stands for it.
			conf.pending = q.Limit
		}
	}
	last, emitted := "", 0
	for {
		cand, more, err := next()
		if err != nil {
			return fail(err)
		}
		if !more {
			break
		}
		id := cand.id
		res := ResourceResult{Object: tuples.Object{Type: target.Type.Name, ID: id}}
		if conds {
			v, err := w.candidate(res.Object, target)
			if err != nil {
				return fail(err)
			}
			if !v.in && !(withConditional && v.conditional) {
				continue
			}
			res.Conditional, res.Missing = !v.in, v.missing
		} else {
			ok, err := conf.member(res.Object, cand.m)
			if err != nil {
				return fail(err)
			}
			if !ok {
				continue
			}
		}
		if q.Limit > 0 && emitted == q.Limit {
			return encodeCursor(last), nil
		}
		if !yield(res) {
			return encodeCursor(id), nil
		}
		last = id
		emitted++
	}
	return "", nil
}

const cursorPrefix = "r1:"

// ResourceCursor returns the cursor that resumes a lookup of resources
// after the object with this id: what a server streaming the answer one
// object at a time hands out with each object.
func ResourceCursor(id string) string { return encodeCursor(id) }

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

func decodeCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return "", fmt.Errorf("invalid cursor %q: pass back exactly the cursor a previous lookup returned", s)
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

// pairKey is one (object, relation) reached by a walk.
type pairKey struct {
	obj tuples.Object
	rel int
}

// leadsTo marks the relations from which target can be reached along
// reverse edges: the only ones a reverse walk needs to enter.
func leadsTo(sch *schema.Schema, target *schema.Relation) []bool {
	lead := make([]bool, len(sch.Relations))
	lead[target.ID] = true
	for changed := true; changed; {
		changed = false
		for _, r := range sch.Relations {
			if lead[r.ID] {
				continue
			}
			for _, e := range r.Reverse {
				if lead[e.To.ID] {
					lead[r.ID], changed = true, true
					break
				}
			}
		}
	}
	return lead
}

// needsConfirm reports whether a relation that leads to the target holds
// an intersection or an exclusion: then reaching the target along reverse
// edges only makes an object a candidate.
func needsConfirm(sch *schema.Schema, lead []bool) bool {
	for _, r := range sch.Relations {
		if !lead[r.ID] || r.Stored {
			continue
		}
		if hasCondition(r.Rewrite) {
			return true
		}
		for _, e := range r.Reverse {
			if e.Conditional && lead[e.To.ID] {
				return true
			}
		}
	}
	return false
}

func hasCondition(n schema.Node) bool {
	switch n := n.(type) {
	case *schema.Intersect, *schema.Exclude:
		return true
	case *schema.Union:
		return slices.ContainsFunc(n.Children, hasCondition)
	case *schema.Arrow:
		return slices.ContainsFunc(n.Then, func(th schema.Node) bool { return th != nil && hasCondition(th) })
	}
	return false
}

// errWalkLimit stops a reverse walk that grew past its limit.
var errWalkLimit = errors.New("reverse walk limit reached")

// resourceWalk is one reverse walk from the walker's subject towards a
// target relation, recording how certain each object reached is.
type resourceWalk struct {
	w      *walker
	target *schema.Relation
	lead   []bool
	// guarded marks the edges into target that prove the base of its
	// top-level exclusions (see guard).
	guarded map[*schema.Edge]bool
	// pairs holds what the walk knows of each pair reached, index where
	// each is in pairs: one map probe per pair reached, where a map per
	// fact (membership, walked, depth, parent) cost one probe each and
	// grew, rehashing, one by one.
	pairs []pairInfo
	index map[pairKey]int32
	table *pairTable
	// entered counts the pairs entered with a membership (the limit's
	// measure); queue holds the positions in pairs of those to walk.
	entered int
	queue   []int32
	// targets holds the positions in pairs of the target's pairs, in the
	// order reached: the objects found (see found).
	targets []int32
	// limit is the most pairs the walk may enter; 0 means no limit.
	limit int

	// terminal, when set, marks the relations whose pairs the walk leaves
	// to the end (streamTerminal): their reverse reads are deferred, the
	// objects reached on them one at a time are singles, and atTarget,
	// longest and deepest serve reachTarget and tooDeep.
	terminal []bool
	deferred []stream
	streamAt map[streamKey]int
	// pre holds the reverse reads made ahead for the level being walked;
	// reads marks the relations whose pairs make reverse reads.
	pre      map[streamKey][]tuples.Object
	reads    []bool
	singles  map[string]uint8
	atTarget map[[2]int]uint8
	longest  []int
	deepest  int
}

// pairTable is the storage of a walk's pairs, kept on the walker from
// one lookup to the next: a lookup at scale reaches tens of thousands of
// pairs, and maps grown from empty each time spent much of its time
// rehashing.
type pairTable struct {
	index map[pairKey]int32
	pairs []pairInfo
}

// pooledPairs is the most pairs a table may hold and still be kept.
const pooledPairs = 1 << 16

func newResourceWalk(w *walker, target *schema.Relation, limit int) *resourceWalk {
	t := w.pairTable
	if t != nil {
		w.pairTable = nil
	} else {
		t = &pairTable{index: map[pairKey]int32{}}
	}
	rw := &resourceWalk{
		w:      w,
		target: target,
		lead:   leadsTo(w.sch, target),
		table:  t,
		pairs:  t.pairs[:0],
		index:  t.index,
		limit:  limit,
	}
	if g := guardOf(w.plan, target); g.usable() {
		shapes := map[edgeShape]bool{}
		unconditionalShapes(g.base, nil, shapes)
		for _, r := range w.sch.Relations {
			for i := range r.Reverse {
				e := &r.Reverse[i]
				if e.To == target && e.Conditional && shapes[shapeOf(e.From, e.Via)] {
					if rw.guarded == nil {
						rw.guarded = map[*schema.Edge]bool{}
					}
					rw.guarded[e] = true
				}
			}
		}
	}
	return rw
}

// release hands the walk's table back to the walker for the next
// lookup, emptied; the walk is not used after.
func (rw *resourceWalk) release() {
	t := rw.table
	if t == nil {
		return
	}
	pairs := rw.pairs
	rw.table, rw.pairs, rw.index, rw.targets = nil, nil, nil, nil
	// A lookup's walks of subtracted sides end before it: the larger
	// table, the lookup's own, is the one kept.
	if len(t.index) > pooledPairs || (rw.w.pairTable != nil && cap(rw.w.pairTable.pairs) >= cap(pairs)) {
		return
	}
	clear(t.index)
	// The pairs hold the store's strings: cleared, so that a kept table
	// does not keep them alive.
	clear(pairs)
	t.pairs = pairs[:0]
	rw.w.pairTable = t
}

// pairInfo is what a walk knows of one pair it reached.
type pairInfo struct {
	key pairKey
	// state is the best membership known (0: not entered yet); done the
	// one the pair was last walked with, so that a pair proven after it
	// was walked as a candidate is walked again, once.
	state, done uint8
	// best is, on a pair of the target, the best membership known of its
	// object, a guard included (0: not reached on the target).
	best uint8
	// depth is the length of the shortest chain of pairs to it, parent
	// the position of the pair before it on that chain (noPair: none), so
	// that a chain longer than the checker's depth limit is the error a
	// check along it would meet rather than an answer no check could give.
	depth  int32
	parent int32
}

// noPair stands for no pair: the start of a walk.
const noPair int32 = -1

// found yields each object of the target's type the walk reached, in
// the order reached, with the best membership known of it.
func (rw *resourceWalk) found() iter.Seq2[string, uint8] {
	return func(yield func(string, uint8) bool) {
		for _, at := range rw.targets {
			p := &rw.pairs[at]
			if !yield(p.key.obj.ID, p.best) {
				return
			}
		}
	}
}

// depthOf is the length of the chain to the pair at from, 0 at the start.
func (rw *resourceWalk) depthOf(from int32) int {
	if from == noPair {
		return 0
	}
	return int(rw.pairs[from].depth)
}

// reach records that k is entered from the pair at from (noPair: at the
// start of the walk) and returns its position in pairs; it fails with a
// DepthError when that makes the shortest chain to k longer than the
// limit.
func (rw *resourceWalk) reach(k pairKey, from int32) (int32, error) {
	d := rw.depthOf(from) + 1
	i, ok := rw.index[k]
	if ok && int(rw.pairs[i].depth) <= d {
		return i, nil
	}
	if d > rw.w.maxDepth {
		return 0, rw.depthError(k, from)
	}
	if !ok {
		i = int32(len(rw.pairs))
		rw.index[k] = i
		rw.pairs = append(rw.pairs, pairInfo{key: k, parent: noPair})
	}
	p := &rw.pairs[i]
	p.depth = int32(d)
	if from != noPair {
		p.parent = from
	}
	return i, nil
}

// depthError names the chain to k through the pair at from.
func (rw *resourceWalk) depthError(k pairKey, from int32) error {
	name := func(k pairKey) string { return k.obj.String() + "#" + rw.w.sch.Relations[k.rel].Name }
	path := []string{name(k)}
	for p := from; p != noPair; p = rw.pairs[p].parent {
		path = append(path, name(rw.pairs[p].key))
	}
	return &DepthError{Limit: rw.w.maxDepth, Path: path}
}

// visit records that the subject may hold r on obj, with membership m,
// reached from the pair at from (noPair for a tuple naming the subject).
func (rw *resourceWalk) visit(obj tuples.Object, r *schema.Relation, m uint8, from int32) error {
	if !rw.lead[r.ID] {
		return nil
	}
	if rw.streams(r) {
		rw.deferObject(obj, r, m, from)
		return nil
	}
	i, err := rw.reach(pairKey{obj: obj, rel: r.ID}, from)
	if err != nil {
		return err
	}
	p := &rw.pairs[i]
	if r == rw.target && m > p.best {
		if p.best == 0 {
			rw.targets = append(rw.targets, i)
		}
		p.best = m
	}
	// A guard is settled only when the lookup tests it: until then what
	// the pair leads to is not proven.
	if m == reachGuarded {
		m = reachCandidate
	}
	if p.state >= m {
		return nil
	}
	if p.state == 0 {
		if rw.limit > 0 && rw.entered >= rw.limit {
			return errWalkLimit
		}
		rw.entered++
	}
	p.state = m
	rw.queue = append(rw.queue, i)
	return nil
}

// along is the membership an edge passes on from a pair of membership m.
func (rw *resourceWalk) along(e *schema.Edge, m uint8) uint8 {
	switch {
	case m != reachProven:
		return reachCandidate
	case !e.Conditional:
		return reachProven
	case rw.guarded[e]:
		return reachGuarded
	}
	return reachCandidate
}

func (rw *resourceWalk) reverse(subj tuples.Subject, r *schema.Relation, each func(tuples.Object) error) error {
	w := rw.w
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if objs, ok := rw.pre[streamKey{subj, r.ID}]; ok {
		for _, o := range objs {
			if err := each(o); err != nil {
				return err
			}
		}
		return nil
	}
	for o, err := range w.snap.Reverse(w.ctx, subj, r.Type.Name, r.Name) {
		if err != nil {
			return fmt.Errorf("read reverse %s in %s: %w", subj, r, err)
		}
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}

// reverseVisit visits, with membership m from the pair at from, each
// object of r that stores subj: reverse without a callback, whose
// closure and the variables it holds were a heap allocation for each
// pair walked.
func (rw *resourceWalk) reverseVisit(subj tuples.Subject, r *schema.Relation, m uint8, from int32) error {
	w := rw.w
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if objs, ok := rw.pre[streamKey{subj, r.ID}]; ok {
		for _, o := range objs {
			if err := rw.visit(o, r, m, from); err != nil {
				return err
			}
		}
		return nil
	}
	for o, err := range w.snap.Reverse(w.ctx, subj, r.Type.Name, r.Name) {
		if err != nil {
			return fmt.Errorf("read reverse %s in %s: %w", subj, r, err)
		}
		if err := rw.visit(o, r, m, from); err != nil {
			return err
		}
	}
	return nil
}

// run walks from the tuples that name the subject. Those prove their
// relation; what follows is as certain as the edges it went along.
func (rw *resourceWalk) run() error {
	w, sch, lead := rw.w, rw.w.sch, rw.lead
	s := w.sub
	if s.kind == subjectSet {
		// A subject set is a member of itself.
		if err := rw.visit(tuples.Object{Type: s.Type, ID: s.ID}, s.rel, reachProven, noPair); err != nil {
			return err
		}
	}
	wild := tuples.Subject{Type: s.Type, ID: tuples.Wildcard}
	for _, r := range sch.Relations {
		if !r.Stored || !lead[r.ID] {
			continue
		}
		var entries []tuples.Subject
		switch s.kind {
		case subjectPlain:
			if r.DirectTypes.Has(s.typ.ID) {
				entries = append(entries, s.Subject)
			}
			if r.WildcardTypes.Has(s.typ.ID) {
				entries = append(entries, wild)
			}
		case subjectWildcard:
			if r.WildcardTypes.Has(s.typ.ID) {
				entries = append(entries, s.Subject)
			}
		case subjectSet:
			if r.Allows(s.typ, s.rel, false) {
				entries = append(entries, s.Subject)
			}
		}
		for _, e := range entries {
			if rw.streams(r) {
				rw.deferScan(e, r, r, reachProven, noPair)
				continue
			}
			if err := rw.reverseVisit(e, r, reachProven, noPair); err != nil {
				return err
			}
		}
	}

	// The queue is walked level by level, in the order it was filled, as
	// one queue would be; each level's reverse reads are made first, those
	// of one relation together (prefetch).
	for len(rw.queue) > 0 {
		level := rw.queue
		rw.queue = nil
		if err := rw.prefetch(level); err != nil {
			return err
		}
		if err := rw.walkLevel(level); err != nil {
			return err
		}
	}
	rw.pre = nil
	return nil
}

// walkLevel enters the edges out of each pair of a level.
func (rw *resourceWalk) walkLevel(level []int32) error {
	sch, lead := rw.w.sch, rw.lead
	for _, at := range level {
		p := &rw.pairs[at]
		m := p.state
		if p.done >= m {
			continue
		}
		p.done = m
		// pairs may grow below: k is a copy.
		k := p.key
		from := sch.Relations[k.rel]
		for i := range from.Reverse {
			e := &from.Reverse[i]
			if !lead[e.To.ID] {
				continue
			}
			next := rw.along(e, m)
			switch e.Kind {
			case schema.EdgeRewrite:
				if err := rw.visit(k.obj, e.To, next, at); err != nil {
					return err
				}
			case schema.EdgeSubjectSet:
				set := tuples.Subject{Type: k.obj.Type, ID: k.obj.ID, Relation: from.Name}
				if rw.streams(e.To) {
					rw.deferScan(set, e.To, e.To, next, at)
					continue
				}
				if err := rw.reverseVisit(set, e.To, next, at); err != nil {
					return err
				}
			case schema.EdgeArrow:
				cur := []tuples.Object{k.obj}
				for vi, via := range e.Via {
					if vi == len(e.Via)-1 && rw.streams(e.To) {
						// The last hop reaches the target's objects.
						for _, c := range cur {
							for _, src := range tuples.HopSources(c, via) {
								rw.deferScan(src, via, e.To, next, at)
							}
						}
						cur = nil
						break
					}
					// One read yields each object once: only the objects of
					// several reads are told apart, in the order first met.
					var seen map[tuples.Object]bool
					var hop []tuples.Object
					for _, c := range cur {
						// A hop reaches c from tuples naming c or a
						// subject set of c.
						srcs := tuples.HopSources(c, via)
						if seen == nil && (len(cur) > 1 || len(srcs) > 1) {
							seen = map[tuples.Object]bool{}
						}
						for _, src := range srcs {
							err := rw.reverse(src, via, func(o tuples.Object) error {
								if seen == nil {
									hop = append(hop, o)
								} else if !seen[o] {
									seen[o] = true
									hop = append(hop, o)
								}
								return nil
							})
							if err != nil {
								return err
							}
						}
					}
					cur = hop
				}
				for _, o := range cur {
					if err := rw.visit(o, e.To, next, at); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// prefetch makes the reverse reads the pairs of a level will ask for,
// hop after hop of their arrows, and keeps them in rw.pre for reverse to
// answer from: the subjects one relation is read for are read together,
// in one ObjectsOf (one statement on a networked database, where one
// read per team, per user of a team, is a round trip each). The reads
// left to the end (streams) are not made here.
func (rw *resourceWalk) prefetch(level []int32) error {
	if rw.reads == nil {
		// Which relations' pairs read on: those with a subject set or an
		// arrow out of them (most pairs, a case's, lead on by rewrites).
		rw.reads = make([]bool, len(rw.w.sch.Relations))
		for _, r := range rw.w.sch.Relations {
			for _, e := range r.Reverse {
				rw.reads[r.ID] = rw.reads[r.ID] || (rw.lead[e.To.ID] && e.Kind != schema.EdgeRewrite)
			}
		}
	}
	rw.pre = nil
	var wants fetchList
	type front struct {
		e   *schema.Edge
		cur []tuples.Object
	}
	var fronts []front
	for _, at := range level {
		p := &rw.pairs[at]
		k := p.key
		if !rw.reads[k.rel] || p.done >= p.state {
			continue
		}
		if rw.pre == nil {
			rw.pre = map[streamKey][]tuples.Object{}
		}
		from := rw.w.sch.Relations[k.rel]
		for i := range from.Reverse {
			e := &from.Reverse[i]
			if !rw.lead[e.To.ID] {
				continue
			}
			switch e.Kind {
			case schema.EdgeSubjectSet:
				if !rw.streams(e.To) {
					wants.add(rw, tuples.Subject{Type: k.obj.Type, ID: k.obj.ID, Relation: from.Name}, e.To, false)
				}
			case schema.EdgeArrow:
				fronts = append(fronts, front{e: e, cur: []tuples.Object{k.obj}})
			}
		}
	}
	for vi := 0; ; vi++ {
		live := fronts[:0]
		for _, f := range fronts {
			if vi == len(f.e.Via) || (vi == len(f.e.Via)-1 && rw.streams(f.e.To)) {
				continue
			}
			// A hop before the last is read here whatever its size:
			// the next hop starts from its objects.
			inner := vi < len(f.e.Via)-1
			for _, c := range f.cur {
				for _, src := range tuples.HopSources(c, f.e.Via[vi]) {
					wants.add(rw, src, f.e.Via[vi], inner)
				}
			}
			live = append(live, f)
		}
		fronts = live
		if err := wants.fetch(rw); err != nil {
			return err
		}
		if len(fronts) == 0 {
			return nil
		}
		for i, f := range fronts {
			if n := len(f.e.Via); vi+1 == n || (vi+2 == n && rw.streams(f.e.To)) {
				// No further hop is read ahead.
				continue
			}
			via := f.e.Via[vi]
			seen := map[tuples.Object]bool{}
			var hop []tuples.Object
			for _, c := range f.cur {
				for _, src := range tuples.HopSources(c, via) {
					for _, o := range rw.pre[streamKey{src, via.ID}] {
						if !seen[o] {
							seen[o] = true
							hop = append(hop, o)
						}
					}
				}
			}
			fronts[i].cur = hop
		}
	}
}

// fetchList gathers the reverse reads of one round of a prefetch, by
// relation, each once.
type fetchList []fetchGroup

// fetchGroup is the subjects one relation is read for; need says it is
// read even for one subject.
type fetchGroup struct {
	r     *schema.Relation
	subjs []tuples.Subject
	need  bool
}

// add asks for the objects of r that store subj; need says they are
// wanted even when no other subject is read in r.
func (l *fetchList) add(rw *resourceWalk, subj tuples.Subject, r *schema.Relation, need bool) {
	k := streamKey{subj, r.ID}
	if _, ok := rw.pre[k]; ok {
		return
	}
	rw.pre[k] = nil
	// A round reads few relations: a search beats a map.
	i := slices.IndexFunc(*l, func(g fetchGroup) bool { return g.r == r })
	if i < 0 {
		i = len(*l)
		*l = append(*l, fetchGroup{r: r})
	}
	g := &(*l)[i]
	g.subjs = append(g.subjs, subj)
	g.need = g.need || need
}

// fetch makes the reads gathered and empties the list: a relation read
// for one subject with one Reverse (which a snapshot may answer from
// what it holds of the subject), or left to the walk when not needed;
// for several with one ObjectsOf.
func (l *fetchList) fetch(rw *resourceWalk) error {
	w := rw.w
	for _, g := range *l {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		r, subjs := g.r, g.subjs
		if len(subjs) == 1 && !g.need {
			// Read as it would be, when the walk comes to it.
			delete(rw.pre, streamKey{subjs[0], r.ID})
			continue
		}
		if len(subjs) == 1 {
			var objs []tuples.Object
			for o, err := range w.snap.Reverse(w.ctx, subjs[0], r.Type.Name, r.Name) {
				if err != nil {
					return fmt.Errorf("read reverse %s in %s: %w", subjs[0], r, err)
				}
				objs = append(objs, o)
			}
			rw.pre[streamKey{subjs[0], r.ID}] = objs
			continue
		}
		for t, err := range w.snap.ObjectsOf(w.ctx, subjs, r.Type.Name, r.Name) {
			if err != nil {
				return fmt.Errorf("read reverse %s and %d more in %s: %w", subjs[0], len(subjs)-1, r, err)
			}
			k := streamKey{t.Subject(), r.ID}
			rw.pre[k] = append(rw.pre[k], t.Object())
		}
		// Reverse yields in order of object id, each once: so do the
		// lists it is answered from, whatever order ObjectsOf kept.
		for _, s := range subjs {
			k := streamKey{s, r.ID}
			objs := rw.pre[k]
			if !slices.IsSortedFunc(objs, func(a, b tuples.Object) int { return compareIDs(a.ID, b.ID) }) {
				slices.SortFunc(objs, func(a, b tuples.Object) int { return compareIDs(a.ID, b.ID) })
			}
			rw.pre[k] = slices.CompactFunc(objs, func(a, b tuples.Object) bool { return a.ID == b.ID })
		}
	}
	*l = (*l)[:0]
	return nil
}

// resourceConfirmer decides the objects a reverse walk found.
type resourceConfirmer struct {
	rw *resourceWalk
	g  guard
	// pending is how many guarded objects are left to decide; it bounds
	// the walks spent on computing subtracted sides as sets.
	pending int
	// sets[i] holds, once computed, the objects on which the subject
	// holds the i-th subtracted side; tried[i] says it was attempted (a
	// subtracted side that is not one plain relation, or whose walk grew
	// too large, is tested object by object instead).
	sets  []map[string]bool
	tried []bool
	// setMin is the fewest guarded objects left for which a subtracted
	// side is walked as a set.
	setMin int
}

// setThreshold is how many guarded objects make it worth walking a
// subtracted side backwards once instead of testing it on each.
const setThreshold = 16

// newResourceConfirmer decides the objects rw found with an id above
// after (all, when from is false).
func newResourceConfirmer(rw *resourceWalk, after string, from bool) *resourceConfirmer {
	c := &resourceConfirmer{rw: rw, setMin: setThreshold}
	if rw.guarded == nil {
		return c
	}
	c.g = guardOf(rw.w.plan, rw.target)
	c.sets = make([]map[string]bool, len(c.g.subtracts))
	c.tried = make([]bool, len(c.g.subtracts))
	for id, m := range rw.found() {
		if m == reachGuarded && (!from || id > after) {
			c.pending++
		}
	}
	return c
}

// member decides obj, found with membership m.
func (c *resourceConfirmer) member(obj tuples.Object, m uint8) (bool, error) {
	w := c.rw.w
	switch m {
	case reachProven:
		return true, nil
	case reachGuarded:
		c.pending--
		v, err := c.subtracted(obj)
		if err != nil {
			return false, err
		}
		switch v {
		case no:
			return true, nil
		case yes:
			return false, nil
		}
	}
	v, err := w.top(obj, c.rw.target)
	return v == yes, err
}

// subtracted answers whether any subtracted side holds the subject on
// obj: yes as soon as one does, no when none does, unknown otherwise.
func (c *resourceConfirmer) subtracted(obj tuples.Object) (tri, error) {
	var acc anyOf
	for i, o := range c.g.subtracts {
		set, err := c.set(i)
		if err != nil {
			return no, err
		}
		if set != nil {
			if set[obj.ID] {
				return yes, nil
			}
			continue
		}
		sv, err := c.rw.w.decide(obj, o)
		if err != nil {
			return no, err
		}
		if acc.add(sv) {
			break
		}
	}
	return acc.value(), nil
}

// set returns the objects holding the i-th subtracted side, walked
// backwards from the subject, or nil when it is to be tested object by
// object. A set is exact only for a relation whose way back holds no
// intersection or exclusion: then every object the walk reaches holds it
// and every object holding it is reached.
func (c *resourceConfirmer) set(i int) (map[string]bool, error) {
	if c.tried[i] {
		return c.sets[i], nil
	}
	o := c.g.subtracts[i]
	if o.kind != opRef || c.pending+1 < c.setMin {
		// Few objects left: testing each is cheaper than a walk.
		return nil, nil
	}
	c.tried[i] = true
	w := c.rw.w
	if needsConfirm(w.sch, leadsTo(w.sch, o.rel)) {
		return nil, nil
	}
	// The walk is allowed a few pairs per object it saves a test on.
	sub := newResourceWalk(w, o.rel, 4*(c.pending+1)+1024)
	defer sub.release()
	var deep *DepthError
	if err := sub.run(); errors.Is(err, errWalkLimit) || errors.As(err, &deep) {
		// Too large or too deep to walk as a set: each object is tested,
		// which meets the depth limit only where a check would.
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(sub.targets))
	for id, m := range sub.found() {
		if m != reachProven {
			return nil, nil
		}
		set[id] = true
	}
	c.sets[i] = set
	return set, nil
}

// chains keeps, for a walk that enters (object, relation) pairs one from
// another, the shortest chain of relations to each pair, so that a chain
// longer than the checker's depth limit is the error a check along it
// would meet rather than an answer no check could give.
type chains struct {
	w      *walker
	depth  map[pairKey]int
	parent map[pairKey]pairKey
}

func newChains(w *walker) chains {
	return chains{w: w, depth: map[pairKey]int{}, parent: map[pairKey]pairKey{}}
}

// reach records that k is entered from the pair from (nil: at the start
// of the walk), and fails with a DepthError when that makes the shortest
// chain to k longer than the limit.
func (c chains) reach(k pairKey, from *pairKey) error {
	d := 1
	if from != nil {
		d = c.depth[*from] + 1
	}
	if old, ok := c.depth[k]; ok && old <= d {
		return nil
	}
	if d > c.w.maxDepth {
		name := func(k pairKey) string { return k.obj.String() + "#" + c.w.sch.Relations[k.rel].Name }
		path := []string{name(k)}
		for p := from; p != nil; {
			path = append(path, name(*p))
			next, ok := c.parent[*p]
			if !ok {
				break
			}
			p = &next
		}
		return &DepthError{Limit: c.w.maxDepth, Path: path}
	}
	c.depth[k] = d
	if from != nil {
		c.parent[k] = *from
	}
	return nil
}
