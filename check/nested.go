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
// reaches it. Computed once per subject and relation in a walk, the set
// answers every further group of that relation with a map lookup, so an
// access list of ten teams costs no more than one team.
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
// subject.
type memberships struct {
	// chain[g] is the length of the shortest chain of subject sets from
	// g down to a group storing the subject: 0 when g stores it itself.
	chain map[tuples.Object]int32
	// overflow: more than nestedBound groups; walk down instead.
	overflow bool
}

// nestedCounters count, across queries, how nesting relations were
// answered.
type nestedCounters struct {
	upward    atomic.Uint64
	fallbacks atomic.Uint64
}

// nested decides nesting relation r on obj from the subject's
// memberships; me is obj's depth on the walk. handled is false when the
// subject is in too many groups, and the caller walks down.
func (w *walker) nested(obj tuples.Object, r *schema.Relation, me int) (v tri, handled bool, err error) {
	m, err := w.membershipsOf(r)
	if err != nil {
		return no, true, err
	}
	if m.overflow {
		return no, false, nil
	}
	l, ok := m.chain[obj]
	if !ok {
		return no, true, nil
	}
	if me+int(l) >= w.maxDepth {
		// Every chain that grants is longer than the limit allows from
		// here, unless part of it was already decided higher up on this
		// walk: the walk down knows which, and reports the limit if none.
		return no, false, nil
	}
	return yes, true, nil
}

// membershipsOf returns the query subject's memberships in r, reading
// them on first use in this walk.
func (w *walker) membershipsOf(r *schema.Relation) (*memberships, error) {
	key := membershipKey{rel: r.ID, subj: w.sub.Subject}
	if m := w.groups[key]; m != nil {
		return m, nil
	}
	m := &memberships{chain: make(map[tuples.Object]int32)}
	var frontier, next []tuples.Object
	reverse := func(s tuples.Subject, level int32) error {
		for g, err := range w.snap.Reverse(w.ctx, s, r.Type.Name, r.Name) {
			if err != nil {
				return fmt.Errorf("read the %s groups of %s: %w", r, s, err)
			}
			if _, seen := m.chain[g]; seen {
				continue
			}
			m.chain[g] = level
			next = append(next, g)
			if len(m.chain) > nestedBound {
				m.overflow = true
				return nil
			}
		}
		return nil
	}
	if err := w.ctx.Err(); err != nil {
		return nil, err
	}
	if w.storable(r) {
		if err := reverse(w.sub.Subject, 0); err != nil {
			return nil, err
		}
	}
	if !m.overflow && w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		if err := reverse(tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard}, 0); err != nil {
			return nil, err
		}
	}
	for level := int32(1); len(next) > 0 && !m.overflow; level++ {
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		frontier, next = next, frontier[:0]
		for _, g := range frontier {
			if err := reverse(tuples.Subject{Type: g.Type, ID: g.ID, Relation: r.Name}, level); err != nil {
				return nil, err
			}
			if m.overflow {
				break
			}
		}
	}
	if w.nestedStats != nil {
		if m.overflow {
			w.nestedStats.fallbacks.Add(1)
		} else {
			w.nestedStats.upward.Add(1)
		}
	}
	if w.groups == nil {
		w.groups = make(map[membershipKey]*memberships)
	}
	w.groups[key] = m
	return m, nil
}
