package check

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// SubjectQuery asks who holds Relation on Object: subjects of Type ("" =
// any), or, with SubjectRelation, the subject sets Type:id#SubjectRelation.
type SubjectQuery struct {
	Object          tuples.Object
	Relation        string
	Type            string
	SubjectRelation string
	// Context holds contextual tuples, treated as stored for this lookup
	// only, as for Query.Context.
	Context []tuples.Tuple
	// RequestContext holds condition parameters, as for
	// Query.RequestContext.
	RequestContext condition.Context
}

// SubjectResult is one subject found. For a wildcard, Excluded lists the
// subjects of its type the relation still leaves out (an exclusion removed
// them from the wildcard's grant).
//
// Conditional marks a member that depends on condition parameters the
// request did not give, Missing naming them (LookupSubjectResults only).
// A certain wildcard's Excluded lists every subject of its type that is
// not a member for certain, conditional ones included (those are also
// listed as conditional results of their own); a conditional wildcard's
// lists the subjects that are denied, and a met subject conditional on
// other parameters than its type's conditional wildcard is listed on its
// own. The wildcard's Missing is a check of the wildcard's; a subject no
// tuple names is conditional as the wildcard is, though a check of it
// may list other parameters (the walks of a plain subject enter
// relations a wildcard's cannot, and missing lists name what they met).
type SubjectResult struct {
	Subject     tuples.Subject   `json:"subject"`
	Excluded    []tuples.Subject `json:"excluded,omitempty"`
	Conditional bool             `json:"conditional,omitempty"`
	Missing     []string         `json:"missing,omitempty"`
}

// String returns the subject, followed by " - " and the excluded ones.
func (r SubjectResult) String() string {
	if len(r.Excluded) == 0 {
		return r.Subject.String()
	}
	parts := make([]string, len(r.Excluded))
	for i, s := range r.Excluded {
		parts[i] = s.String()
	}
	return r.Subject.String() + " - {" + strings.Join(parts, ", ") + "}"
}

// LookupSubjectResults is LookupSubjects reporting conditional members
// too, each marked Conditional with the parameters a check of it misses;
// members for certain are reported as LookupSubjects does. Sorted by
// subject.
func (c *Checker) LookupSubjectResults(ctx context.Context, snap tuples.Snapshot, q SubjectQuery) ([]SubjectResult, error) {
	return c.lookupSubjects(ctx, snap, q, true)
}

// LookupSubjects returns the subjects holding q.Relation on q.Object,
// sorted. It walks forward from the object collecting every subject that
// appears on the way (groups expanded down to their members, both sides of
// exclusions included), then keeps the members: a subject the walk met
// along unions, arrows and subject sets alone is one; one met in the base
// of the target's top-level exclusions is one unless a subtracted side
// holds it (read off the walk where that side has no intersection or
// exclusion of its own, tested otherwise); any other is checked. Over a
// schema with `with NAME` forms every subject met is checked
// (lookup_conditions.go), and only those allowed for certain are
// returned. A granted wildcard stands for all subjects of its type; those
// it does not reach are listed as its exclusions instead.
func (c *Checker) LookupSubjects(ctx context.Context, snap tuples.Snapshot, q SubjectQuery) ([]SubjectResult, error) {
	return c.lookupSubjects(ctx, snap, q, false)
}

func (c *Checker) lookupSubjects(ctx context.Context, snap tuples.Snapshot, q SubjectQuery, withConditional bool) ([]SubjectResult, error) {
	fail := func(err error) ([]SubjectResult, error) {
		return nil, fmt.Errorf("lookup subjects %s#%s: %w", q.Object, q.Relation, err)
	}
	w, err := c.begin(ctx, snap, q.Context)
	if err != nil {
		return fail(err)
	}
	defer c.end(w)
	w.reqCtx = q.RequestContext
	conds := w.plan.condForms
	target, err := resolveRelation(w.sch, q.Object, q.Relation)
	if err != nil {
		return fail(err)
	}
	var filterType *schema.Type
	if q.Type != "" {
		if filterType = w.sch.Type(q.Type); filterType == nil {
			return fail(fmt.Errorf("unknown subject type %q", q.Type))
		}
	}
	if q.SubjectRelation != "" {
		if filterType == nil {
			return fail(fmt.Errorf("subject relation %q needs a subject type", q.SubjectRelation))
		}
		if filterType.Relation(q.SubjectRelation) == nil {
			return fail(fmt.Errorf("type %s has no relation %q", q.Type, q.SubjectRelation))
		}
	}
	sw := newSubjectWalk(w, q.Object, target)
	err = sw.run()
	if _, deep := errors.AsType[*DepthError](err); deep {
		// Walking an object's own relations first can reach a pair by a
		// longer chain before its shortest one; only the walk in plain
		// breadth-first order measures every chain by its shortest, so
		// it decides whether the limit is passed.
		sw = newSubjectWalk(w, q.Object, target)
		sw.breadthFirst = true
		err = sw.run()
	}
	if err != nil {
		return fail(err)
	}
	plain, sets := sw.sorted()
	// confirm decides one subject: those the walk proved need no check,
	// and those in the base of the target's top-level exclusions only a
	// test of the subtracted sides; over conditions each is checked.
	confirm := func(s tuples.Subject, m subjectState) (verdict, error) {
		if err = w.setSubject(s); err != nil {
			return verdict{}, err
		}
		if conds {
			return w.candidate(q.Object, target)
		}
		switch m.m {
		case reachProven:
			return verdict{in: true}, nil
		case reachGuarded:
			v, err := sw.subtracted(s, m)
			if err != nil {
				return verdict{}, err
			}
			switch v {
			case no:
				return verdict{in: true}, nil
			case yes:
				return verdict{}, nil
			}
		default:
			// Whatever the base says, a subject the walk found in a
			// subtracted side is refused.
			if sw.inExact(s, m) {
				return verdict{}, nil
			}
		}
		v, err := w.top(q.Object, target)
		return verdict{in: v == yes}, err
	}

	var out []SubjectResult
	if q.SubjectRelation != "" {
		for _, s := range sets {
			if s.Type != q.Type || s.Relation != q.SubjectRelation {
				continue
			}
			v, err := confirm(s, sw.setState(s))
			if err != nil {
				return fail(err)
			}
			switch {
			case v.in:
				out = append(out, SubjectResult{Subject: s})
			case v.conditional && withConditional:
				out = append(out, SubjectResult{Subject: s, Conditional: true, Missing: v.missing})
			}
		}
		return out, nil
	}
	// Wildcards first: a granted one replaces the subjects of its type.
	// They are always checked: the walk's bookkeeping is for the plain
	// subjects they may leave out. A conditional one (reported only when
	// asked) stands for the subjects of its type conditional on the same
	// parameters.
	granted, condWild := map[string]int{}, map[string]int{}
	for _, s := range plain {
		if s.ID != tuples.Wildcard || (filterType != nil && s.Type != q.Type) {
			continue
		}
		v, err := confirm(s, subjectState{m: reachCandidate})
		if err != nil {
			return fail(err)
		}
		switch {
		case v.in:
			granted[s.Type] = len(out)
			out = append(out, SubjectResult{Subject: s})
		case v.conditional && withConditional:
			condWild[s.Type] = len(out)
			out = append(out, SubjectResult{Subject: s, Conditional: true, Missing: v.missing})
		}
	}
	for _, s := range plain {
		if s.ID == tuples.Wildcard || (filterType != nil && s.Type != q.Type) {
			continue
		}
		v, err := confirm(s, sw.plain[s])
		if err != nil {
			return fail(err)
		}
		i, wild := granted[s.Type]
		switch {
		case wild && !v.in:
			out[i].Excluded = append(out[i].Excluded, s)
		case !wild && v.in:
			out = append(out, SubjectResult{Subject: s})
		}
		if !withConditional || v.in {
			continue
		}
		j, cw := condWild[s.Type]
		switch {
		case v.conditional && cw && sameMissing(v.missing, out[j].Missing):
			// The conditional wildcard stands for it.
		case v.conditional:
			out = append(out, SubjectResult{Subject: s, Conditional: true, Missing: v.missing})
		case cw:
			out[j].Excluded = append(out[j].Excluded, s)
		}
	}
	// out follows plain's order but for the wildcards put first.
	bySubject := func(a, b SubjectResult) int { return compareSubjects(a.Subject, b.Subject) }
	if !slices.IsSortedFunc(out, bySubject) {
		slices.SortFunc(out, bySubject)
	}
	return out, nil
}

func compareSubjects(a, b tuples.Subject) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return strings.Compare(a.Relation, b.Relation)
}

// subjectState is what a forward walk knows of a pair or a subject met:
// how certain its membership in the target is (m), and which subtracted
// sides of the target's guard it is certainly in (bit i for the i-th).
type subjectState struct {
	m    uint8
	bits uint64
}

// merge adds what o knows to s and reports whether s learnt anything.
func (s *subjectState) merge(o subjectState) bool {
	n := subjectState{m: max(s.m, o.m), bits: s.bits | o.bits}
	if n == *s {
		return false
	}
	*s = n
	return true
}

// conditioned is what passes below an intersection or an exclusion:
// nothing certain.
func conditioned(subjectState) subjectState { return subjectState{m: reachCandidate} }

// maxTracked is how many subtracted sides a walk can track as sets, one
// bit each; further ones are tested subject by subject.
const maxTracked = 64

// subjectWalk walks down from obj#r collecting every plain subject (objects
// and wildcards) and every subject set met, both sides of exclusions
// included, with what the walk proves about each.
type subjectWalk struct {
	w      *walker
	root   pairKey
	target *schema.Relation
	g      guard
	// exact[i]: the i-th subtracted side is settled by stored tuples alone
	// (see unconditionalClosure), so a subject the walk did not find in it
	// is not in it.
	exact []bool

	state map[pairKey]subjectState
	done  map[pairKey]subjectState
	queue []pairKey
	// near holds the pairs entered from a pair on the same object, walked
	// before the queue (unless breadthFirst): what they lead to then joins
	// the queue's level, so the groups found through an object's own
	// relations (an access list) and those found through its arrows (an
	// assignee's team) are read in one statement, not a level apart.
	near         []pairKey
	breadthFirst bool
	// pre holds the subjects read ahead (prefetch).
	pre    map[pairKey][]tuples.Subject
	chains chains
	// sets lists the pairs entered, as subject sets, in the order met.
	sets  []tuples.Subject
	plain map[tuples.Subject]subjectState
	// wildBits[type]: the subtracted sides holding type's wildcard, and so
	// every plain subject of the type.
	wildBits map[string]uint64
}

func newSubjectWalk(w *walker, obj tuples.Object, target *schema.Relation) *subjectWalk {
	sw := &subjectWalk{
		w:        w,
		root:     pairKey{obj: obj, rel: target.ID},
		target:   target,
		state:    map[pairKey]subjectState{},
		done:     map[pairKey]subjectState{},
		chains:   newChains(w),
		plain:    map[tuples.Subject]subjectState{},
		wildBits: map[string]uint64{},
	}
	if g := guardOf(w.plan, target); g.usable() {
		sw.g = g
		sw.exact = make([]bool, len(g.subtracts))
		for i, o := range g.subtracts {
			sw.exact[i] = i < maxTracked && unconditionalClosure(o.src)
		}
	}
	return sw
}

// enter records the pair o#rel, reached from the pair from (nil for the
// root), with the state st.
func (sw *subjectWalk) enter(o tuples.Object, rel *schema.Relation, st subjectState, from *pairKey) error {
	k := pairKey{obj: o, rel: rel.ID}
	if err := sw.chains.reach(k, from); err != nil {
		return err
	}
	cur, seen := sw.state[k]
	if !seen {
		sw.sets = append(sw.sets, tuples.Subject{Type: o.Type, ID: o.ID, Relation: rel.Name})
	}
	if cur.merge(st) || !seen {
		sw.state[k] = cur
		if from != nil && from.obj == o && !sw.breadthFirst {
			sw.near = append(sw.near, k)
		} else {
			sw.queue = append(sw.queue, k)
		}
	}
	return nil
}

// expr enters what n reads on o, each with the state st passes to it;
// from is the pair whose expression n is part of.
func (sw *subjectWalk) expr(o tuples.Object, n schema.Node, st subjectState, from *pairKey) error {
	w := sw.w
	switch n := n.(type) {
	case *schema.Ref:
		return sw.enter(o, n.Relation, st, from)
	case *schema.Arrow:
		for x, err := range tuples.Hop(w.ctx, w.snap, o, n.Tupleset) {
			if err != nil {
				return fmt.Errorf("read %s#%s: %w", o, n.Tupleset.Name, err)
			}
			t := w.sch.Type(x.Type)
			if t == nil || x.ID == tuples.Wildcard || n.Then[t.ID] == nil {
				continue
			}
			if err := sw.expr(tuples.Object{Type: x.Type, ID: x.ID}, n.Then[t.ID], st, from); err != nil {
				return err
			}
		}
	case *schema.Union:
		for _, ch := range n.Children {
			if err := sw.expr(o, ch, st, from); err != nil {
				return err
			}
		}
	case *schema.Intersect:
		for _, ch := range n.Children {
			if err := sw.expr(o, ch, conditioned(st), from); err != nil {
				return err
			}
		}
	case *schema.Exclude:
		if err := sw.expr(o, n.Base, conditioned(st), from); err != nil {
			return err
		}
		return sw.expr(o, n.Subtract, conditioned(st), from)
	}
	return nil
}

func (sw *subjectWalk) run() error {
	if err := sw.enter(sw.root.obj, sw.target, subjectState{m: reachProven}, nil); err != nil {
		return err
	}
	// The queue is walked level by level, in the order it was filled, a
	// level's pairs on the objects it walked (near) first, as a level of
	// their own; each level's reads of stored relations are made first,
	// those of one relation together (prefetch). The walk is a fixpoint:
	// the order decides the statements made, not what is found.
	for len(sw.queue) > 0 || len(sw.near) > 0 {
		var level []pairKey
		if len(sw.near) > 0 {
			level, sw.near = sw.near, nil
		} else {
			level, sw.queue = sw.queue, nil
		}
		if err := sw.prefetch(level); err != nil {
			return err
		}
		if err := sw.walkLevel(level); err != nil {
			return err
		}
	}
	sw.pre = nil
	return nil
}

// walkLevel enters what each pair of a level leads to.
func (sw *subjectWalk) walkLevel(level []pairKey) error {
	w := sw.w
	for _, k := range level {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		st := sw.state[k]
		if d := sw.done[k]; d.merge(st) {
			sw.done[k] = d
		} else {
			continue
		}
		rel := w.sch.Relations[k.rel]
		if k == sw.root && sw.g.base != nil {
			// The target's own exclusions: its base holds for certain
			// what the walk proves below it, and the i-th subtracted side
			// what it finds below that side.
			if err := sw.expr(k.obj, sw.g.base, subjectState{m: reachGuarded}, &k); err != nil {
				return err
			}
			for i, o := range sw.g.subtracts {
				sub := subjectState{m: reachCandidate}
				if sw.exact[i] {
					sub.bits = 1 << i
				}
				if err := sw.expr(k.obj, o.src, sub, &k); err != nil {
					return err
				}
			}
			continue
		}
		if !rel.Stored {
			if err := sw.expr(k.obj, rel.Rewrite, st, &k); err != nil {
				return err
			}
			continue
		}
		for s, err := range sw.subjects(k, rel) {
			if err != nil {
				return fmt.Errorf("read %s#%s: %w", k.obj, rel.Name, err)
			}
			if s.Relation == "" {
				p := sw.plain[s]
				p.merge(st)
				sw.plain[s] = p
				if s.ID == tuples.Wildcard {
					sw.wildBits[s.Type] |= st.bits
				}
				continue
			}
			sr := w.sch.Relation(s.Type, s.Relation)
			if sr == nil {
				return fmt.Errorf("stored subject %s names a relation the schema does not have", s)
			}
			if err := sw.enter(tuples.Object{Type: s.Type, ID: s.ID}, sr, st, &k); err != nil {
				return err
			}
		}
	}
	return nil
}

// prefetch reads the subjects of the stored relations of a level's pairs
// that share a relation with another pair of the level, in one SubjectsOf
// per relation (one statement on a networked database, where one read
// per team is a round trip each), and keeps them in sw.pre for subjects
// to answer from. A nesting relation's groups are read with every group
// the membership index lists below them where the snapshot reads its
// index downwards (tuples.GroupsBelowReader): the levels of nested groups
// below then find their subjects read, in one statement instead of one a
// level. What sw.pre holds stays for the rest of the walk (a snapshot's
// tuples never change); the walk itself, its order and its depth limit,
// are the same whatever was read ahead.
func (sw *subjectWalk) prefetch(level []pairKey) error {
	w := sw.w
	var rels []*schema.Relation
	objs := map[int][]tuples.Object{}
	queued := map[pairKey]bool{}
	for _, k := range level {
		if d := sw.done[k]; queued[k] || !d.merge(sw.state[k]) {
			continue
		}
		rel := w.sch.Relations[k.rel]
		if !rel.Stored || (k == sw.root && sw.g.base != nil) {
			continue
		}
		if _, read := sw.pre[k]; read {
			continue
		}
		if _, ok := objs[rel.ID]; !ok {
			rels = append(rels, rel)
		}
		queued[k] = true
		objs[rel.ID] = append(objs[rel.ID], k.obj)
	}
	below, _ := w.snap.(tuples.GroupsBelowReader)
	for _, rel := range rels {
		os := objs[rel.ID]
		if below != nil && rel.GroupIndexed() {
			got, ok, err := below.SubjectsWithBelow(w.ctx, os, rel.Name)
			if err != nil {
				return fmt.Errorf("read %s#%s and the groups below: %w", os[0], rel.Name, err)
			}
			if ok {
				if sw.pre == nil {
					sw.pre = map[pairKey][]tuples.Subject{}
				}
				n := 0
				for g, subjs := range got {
					sw.pre[pairKey{obj: g, rel: rel.ID}] = subjs
					n += len(subjs)
				}
				if n > 2*len(sw.plain)+8 {
					// Most of what was read will be met: room for it
					// now rather than growing the map step by step.
					grown := make(map[tuples.Subject]subjectState, len(sw.plain)+n)
					for s, st := range sw.plain {
						grown[s] = st
					}
					sw.plain = grown
				}
				continue
			}
		}
		if len(os) < 2 {
			// One object is read as it would be, when it is walked.
			continue
		}
		if sw.pre == nil {
			sw.pre = map[pairKey][]tuples.Subject{}
		}
		for _, o := range os {
			sw.pre[pairKey{obj: o, rel: rel.ID}] = nil
		}
		// SubjectsOf yields object by object, each object's subjects in
		// the order Subjects yields them.
		for t, err := range w.snap.SubjectsOf(w.ctx, os, rel.Name, tuples.SubjectFilter{}) {
			if err != nil {
				return fmt.Errorf("read %s#%s and %d more: %w", os[0], rel.Name, len(os)-1, err)
			}
			k := pairKey{obj: t.Object(), rel: rel.ID}
			sw.pre[k] = append(sw.pre[k], t.Subject())
		}
	}
	return nil
}

// subjects iterates the subjects stored in k's relation on its object:
// from what prefetch read, or read now.
func (sw *subjectWalk) subjects(k pairKey, rel *schema.Relation) iter.Seq2[tuples.Subject, error] {
	if subjs, ok := sw.pre[k]; ok {
		return func(yield func(tuples.Subject, error) bool) {
			for _, s := range subjs {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
	return sw.w.snap.Subjects(sw.w.ctx, k.obj, rel.Name, tuples.SubjectFilter{})
}

// sorted returns the plain subjects and the subject sets met, sorted.
func (sw *subjectWalk) sorted() (plain, sets []tuples.Subject) {
	plain = make([]tuples.Subject, 0, len(sw.plain))
	for s := range sw.plain {
		plain = append(plain, s)
	}
	sortSubjects(plain)
	sets = slices.Clone(sw.sets)
	sortSubjects(sets)
	return plain, sets
}

// sortSubjects sorts ss by compareSubjects. The subjects of a lookup are
// nearly always of one type and relation (users), and then their ids
// alone decide: sorted as plain strings, which compares several times
// faster than three fields through a function.
func sortSubjects(ss []tuples.Subject) {
	if len(ss) < 2 {
		return
	}
	for _, s := range ss[1:] {
		if s.Type != ss[0].Type || s.Relation != ss[0].Relation {
			slices.SortFunc(ss, compareSubjects)
			return
		}
	}
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	slices.Sort(ids)
	for i := range ss {
		ss[i].ID = ids[i]
	}
}

// setState is what the walk knows of subject set s as a member.
func (sw *subjectWalk) setState(s tuples.Subject) subjectState {
	r := sw.w.sch.Relation(s.Type, s.Relation)
	if r == nil {
		return subjectState{m: reachCandidate}
	}
	return sw.state[pairKey{obj: tuples.Object{Type: s.Type, ID: s.ID}, rel: r.ID}]
}

// subtracted answers whether any subtracted side of the target's guard
// holds s, the walker's current subject, known to the walk as st: from
// the walk where the side is exact, by a test otherwise. yes as soon as
// one holds, no when none does, unknown otherwise.
func (sw *subjectWalk) subtracted(s tuples.Subject, st subjectState) (tri, error) {
	if sw.inExact(s, st) {
		return yes, nil
	}
	var acc anyOf
	for i, o := range sw.g.subtracts {
		if sw.exact[i] {
			continue
		}
		sv, err := sw.w.decide(sw.root.obj, o)
		if err != nil {
			return no, err
		}
		if acc.add(sv) {
			break
		}
	}
	return acc.value(), nil
}

// inExact reports whether the walk found s, known to it as st, in a
// subtracted side it tracks exactly: then s is in that side for certain.
func (sw *subjectWalk) inExact(s tuples.Subject, st subjectState) bool {
	bits := st.bits
	if s.Relation == "" && s.ID != tuples.Wildcard {
		bits |= sw.wildBits[s.Type]
	}
	for i := range sw.g.subtracts {
		if sw.exact[i] && bits&(1<<i) != 0 {
			return true
		}
	}
	return false
}
