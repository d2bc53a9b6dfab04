package check

import (
	"fmt"
	"sync/atomic"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// A nesting relation is a stored relation whose only subject sets are of
// itself, like `team#member: user | team#member`: groups inside groups.
// Walking it down from the group asked about costs a read and a scan per
// group below it, however far the subject is from it; walking it up from
// the subject costs a scan per group the subject is in, directly or
// through nesting, which for people in teams is a handful whatever the
// size of the tree. The walker therefore answers a nesting relation from
// the subject's memberships: the groups that store the subject (or its
// type's wildcard), then the groups that store those as subject sets, and
// so on, breadth first, each with the length of the shortest chain that
// reaches it. Kept for the subject and relation through the walk, and read
// only as many levels up as the checks so far needed, the set answers a
// group already reached with a map lookup, so an access list of ten teams
// costs little more than one team.
//
// The answers are those of the downward walk. A nesting relation is a
// pure union of its tuples, so its least fixpoint is reachability: a loop
// of groups adds no member (a cycle never grants), and nothing below it
// can be on the walk's path, so the answer is always definite. The depth
// limit applies to the shortest chain that grants: when even that one is
// longer than the limit allows, the group is walked down, which reports
// the limit as it always did (or answers from a group already decided
// higher up on the walk). A subject that no chain reaches is answered
// without walking anything deep, so where the walk down would have failed
// on a deep tree that does not hold the subject, the walk up answers.
//
// A subject in more than nestedBound groups is walked down instead, and
// counted in Stats.NestedFallbacks.

// nestedBound is the most groups one subject's memberships may hold
// before the walk falls back to going down from the group.
const nestedBound = 1024

// nesting reports whether r is a nesting relation.
func nesting(r *schema.Relation) bool {
	return r.Stored && len(r.SubjectSets) == 1 && r.SubjectSets[0] == r
}

// membershipKey names the memberships of one subject in one relation.
type membershipKey struct {
	rel  int
	subj tuples.Subject
}

// memberships are the groups of one nesting relation that hold one
// subject, read breadth first, one level of nesting at a time and only as
// far as a check needs: a group already reached answers at once, and only
// a group not reached yet makes the walk read the next level.
type memberships struct {
	rel *schema.Relation
	// chain[g] is the length of the shortest chain of subject sets from
	// g down to a group storing the subject: 0 when g stores it itself.
	chain map[string]int32 // by group id: every group is of rel's type
	// frontier holds the groups reached at level, whose parents are not
	// read yet; done is set once a level adds no group.
	frontier []tuples.Object
	level    int32
	done     bool
	// overflow: more than nestedBound groups; walk down instead.
	overflow bool
	// counts are the store's counts of the relation's subject sets,
	// read (countsRead) the first time a search needs them; counted is
	// false when the store keeps none.
	counts              tuples.NestingCounts
	countsRead, counted bool
}

// scanCost is what one scan costs beyond the entries it yields, in
// entries: reading a group's subject sets, or the groups storing one,
// positions an iterator (or sends a statement) before it reads the
// first. Measured on Badger with the TeamTree benchmarks (bench/README,
// "Nested groups"), a seek costs about as much as reading a few entries.
const scanCost = 4

// goDown reports whether the next step of the search from a group
// should go down (n groups at the bottom of the side below the group)
// rather than up (m's frontier): the step expected to read less, by the
// store's counts of the relation where it keeps them, each group of a
// step costing a scan and its mean number of subject sets (going down)
// or groups storing it (going up); without counts, the side with fewer
// groups.
func (w *walker) goDown(m *memberships, n int) (bool, error) {
	if !m.countsRead {
		m.countsRead = true
		if nc, ok := w.snap.(tuples.NestingCounter); ok && !w.noCounts {
			c, kept, err := nc.NestingCounts(w.ctx, m.rel.Type.Name, m.rel.Name)
			if err != nil {
				return false, fmt.Errorf("read the counts of %s: %w", m.rel, err)
			}
			m.counts, m.counted = c, kept
		}
	}
	up := len(m.frontier)
	if !m.counted {
		return n <= up, nil
	}
	return float64(n)*(scanCost+m.counts.Down()) <= float64(up)*(scanCost+m.counts.Up()), nil
}

// nestedCounters count, across queries, how nesting relations were
// answered.
type nestedCounters struct {
	upward    atomic.Uint64
	fallbacks atomic.Uint64
	// indexed counts memberships read from the store's index;
	// indexFallbacks those the index could not answer (a group over its
	// bound, or the relation's index not built), read level by level.
	indexed        atomic.Uint64
	indexFallbacks atomic.Uint64
}

// nested decides nesting relation r on obj from the subject's
// memberships; me is obj's depth on the walk. handled is false when the
// subject is in too many groups, or the only chain found is too deep, and
// the caller walks down.
//
// When obj is not among the groups reached so far, the search goes on
// from both sides, each step on the side expected to read less (goDown:
// by the store's counts of the relation, else the smaller frontier): up,
// a level of the subject's memberships (kept for the rest of the walk),
// or down, a level of the groups inside obj. The two meet at a group inside
// obj that holds the subject; obj holds it through no chain once either
// side has nothing left to read (every group storing the subject is
// among the memberships from the start, so the side down needs only
// compare). The chain found is not always the shortest, which only
// matters near the depth limit: there the walk down decides.
func (w *walker) nested(obj tuples.Object, r *schema.Relation, me int) (v tri, handled bool, err error) {
	m, err := w.membershipsOf(r)
	if err != nil {
		return no, true, err
	}
	if m.overflow {
		return no, false, nil
	}
	if l, ok := m.chain[obj.ID]; ok {
		return w.decideChain(me, int(l))
	}
	if m.done {
		return no, true, nil
	}
	// The search below closes over its state; kept out of the common
	// case above, which then allocates nothing.
	return w.nestedSearch(obj, r, me, m)
}

// decideChain answers a group reached through a chain of chain subject
// sets from obj's depth me: yes within the depth limit, else not handled
// (the walk down reports the limit).
func (w *walker) decideChain(me, chain int) (tri, bool, error) {
	if me+chain >= w.maxDepth {
		return no, false, nil
	}
	return yes, true, nil
}

// nestedSearch is nested's search from both sides, for an obj that m's
// groups reached so far do not hold.
func (w *walker) nestedSearch(obj tuples.Object, r *schema.Relation, me int, m *memberships) (v tri, handled bool, err error) {
	decide := func(chain int) (tri, bool, error) { return w.decideChain(me, chain) }
	// below[g] is g's distance down from obj.
	below := map[tuples.Object]int32{obj: 0}
	down := []tuples.Object{obj}
	for {
		toward := false
		if len(down) > 0 && len(below) <= nestedBound {
			if toward, err = w.goDown(m, len(down)); err != nil {
				return no, true, err
			}
		}
		if toward {
			var next []tuples.Object
			for _, g := range down {
				if err := w.ctx.Err(); err != nil {
					return no, true, err
				}
				f := tuples.SubjectFilter{Sets: true, Type: r.Type.Name, Relation: r.Name}
				for x, err := range w.snap.Subjects(w.ctx, g, r.Name, f) {
					if err != nil {
						return no, true, fmt.Errorf("read %s#%s: %w", g, r.Name, err)
					}
					c := tuples.Object{Type: x.Type, ID: x.ID}
					if _, seen := below[c]; seen {
						continue
					}
					below[c] = below[g] + 1
					if l, ok := m.chain[c.ID]; ok {
						return decide(int(below[c] + l))
					}
					next = append(next, c)
				}
			}
			down = next
			if len(down) == 0 {
				return no, true, nil
			}
			continue
		}
		if err := w.grow(m); err != nil {
			return no, true, err
		}
		if m.overflow {
			return no, false, nil
		}
		// The groups grow added are the new frontier.
		for _, g := range m.frontier {
			if d, ok := below[g]; ok {
				return decide(int(d + m.level))
			}
		}
		if m.done {
			return no, true, nil
		}
	}
}

// membershipsOf returns the query subject's memberships in r, starting
// them, with the groups that store the subject, on first use in this walk.
func (w *walker) membershipsOf(r *schema.Relation) (*memberships, error) {
	key := membershipKey{rel: r.ID, subj: w.sub.Subject}
	if m := w.groups[key]; m != nil {
		return m, nil
	}
	if err := w.ctx.Err(); err != nil {
		return nil, err
	}
	m := &memberships{rel: r, chain: make(map[string]int32)}
	if w.wholeMemberships(m) {
		if w.groups == nil {
			w.groups = make(map[membershipKey]*memberships)
		}
		w.groups[key] = m
		return m, nil
	}
	var next []tuples.Object
	var err error
	if w.storable(r) {
		next, err = w.groupsOf(m, w.sub.Subject, next)
	}
	if err == nil && !m.overflow && w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		next, err = w.groupsOf(m, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard}, next)
	}
	if err != nil {
		return nil, err
	}
	m.frontier, m.done = next, len(next) == 0
	if w.nestedStats != nil {
		w.nestedStats.upward.Add(1)
		if m.overflow {
			w.nestedStats.fallbacks.Add(1)
		}
	}
	if !m.overflow && !m.done && !w.noIndex {
		if gi, ok := w.snap.(tuples.GroupIndex); ok {
			if err := w.fromIndex(gi, m); err != nil {
				return nil, err
			}
		}
	}
	if w.groups == nil {
		w.groups = make(map[membershipKey]*memberships)
	}
	w.groups[key] = m
	return m, nil
}

// wholeMemberships fills m in one call where the snapshot's index answers
// a subject's memberships whole (tuples.MembershipReader, an index held
// in memory): the same groups and shortest chains the level by level
// search finds, for the subject and, where the relation allows it, its
// type's wildcard. It reports false, m untouched, where the snapshot
// cannot.
func (w *walker) wholeMemberships(m *memberships) bool {
	mr, ok := w.snap.(tuples.MembershipReader)
	if !ok || w.noIndex {
		return false
	}
	r := m.rel
	subjects := make([]tuples.Subject, 0, 2)
	if w.storable(r) {
		subjects = append(subjects, w.sub.Subject)
	}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		subjects = append(subjects, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard})
	}
	groups, ok, err := mr.Memberships(w.ctx, subjects, r.Type.Name, r.Name, nestedBound)
	if err != nil || !ok {
		return false // the level by level search reads, and reports, again
	}
	m.chain = make(map[string]int32, len(groups))
	for _, g := range groups {
		m.chain[g.ID] = int32(g.Chain)
	}
	m.done = true
	if w.nestedStats != nil {
		w.nestedStats.upward.Add(1)
		w.nestedStats.indexed.Add(1)
	}
	return true
}

// grow reads the next level: the groups storing the frontier's groups as
// subject sets.
func (w *walker) grow(m *memberships) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	m.level++
	var next []tuples.Object
	for _, g := range m.frontier {
		var err error
		if next, err = w.groupsOf(m, tuples.Subject{Type: g.Type, ID: g.ID, Relation: m.rel.Name}, next); err != nil {
			return err
		}
		if m.overflow {
			if w.nestedStats != nil {
				w.nestedStats.fallbacks.Add(1)
			}
			return nil
		}
	}
	m.frontier, m.done = next, len(next) == 0
	return nil
}

// groupsOf records, at m's level, the groups storing s not reached yet,
// and appends them to next.
func (w *walker) groupsOf(m *memberships, s tuples.Subject, next []tuples.Object) ([]tuples.Object, error) {
	r := m.rel
	for g, err := range w.snap.Reverse(w.ctx, s, r.Type.Name, r.Name) {
		if err != nil {
			return next, fmt.Errorf("read the %s groups of %s: %w", r, s, err)
		}
		if _, seen := m.chain[g.ID]; seen {
			continue
		}
		m.chain[g.ID] = m.level
		next = append(next, g)
		if len(m.chain) > nestedBound {
			m.overflow = true
			return next, nil
		}
	}
	return next, nil
}

// fromIndex completes m, which holds the groups storing the subject, from
// the store's membership index (tuples.GroupIndex): every group above
// them, with the shortest chain, in one read (one per group where the
// snapshot cannot batch them: tuples.GroupIndexBatch). The index is kept
// in the same revision as the tuples, so the chains are those the level
// by level search would find. When a group is not indexed (over the
// index's bound, or the relation's index not built), m is left as it was
// and the search goes on level by level.
func (w *walker) fromIndex(gi tuples.GroupIndex, m *memberships) error {
	rows, err := w.indexRows(gi, m)
	if err != nil || rows == nil {
		return err
	}
	for _, row := range rows {
		for _, a := range row {
			if l, ok := m.chain[a.ID]; !ok || int32(a.Chain) < l {
				m.chain[a.ID] = int32(a.Chain)
			}
		}
		if len(m.chain) > nestedBound {
			m.overflow = true
			if w.nestedStats != nil {
				w.nestedStats.fallbacks.Add(1)
			}
			return nil
		}
	}
	m.frontier, m.done = nil, true
	if w.nestedStats != nil {
		w.nestedStats.indexed.Add(1)
	}
	return nil
}

// indexRows reads the index rows of m's frontier, in one read when the
// snapshot offers it (tuples.GroupIndexBatch); nil rows when a group is
// not indexed, counted as a fallback.
func (w *walker) indexRows(gi tuples.GroupIndex, m *memberships) ([][]tuples.GroupAbove, error) {
	rows, indexed, err := tuples.GroupsAboveEach(w.ctx, gi, m.frontier, m.rel.Name)
	if err != nil {
		return nil, fmt.Errorf("read the %s groups above %d groups: %w", m.rel, len(m.frontier), err)
	}
	if !indexed {
		if w.nestedStats != nil {
			w.nestedStats.indexFallbacks.Add(1)
		}
		return nil, nil
	}
	return rows, nil
}
