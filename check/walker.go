package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// tri is a three-valued answer: a node met again on its own path is
// unknown until the walk that entered it first decides.
type tri uint8

const (
	no tri = iota
	yes
	unknown
)

func (v tri) String() string {
	switch v {
	case yes:
		return "true"
	case no:
		return "false"
	}
	return "unknown"
}

// anyOf accumulates Kleene's disjunction of answers, the "any of" of a
// stored relation's subject sets, an arrow's objects, a lookup's
// subtracted sides: yes as soon as one answer is yes, else unknown if any
// was, else no. The zero value is no answers yet (no).
type anyOf struct{ v tri }

// add takes one answer and reports whether the disjunction is decided.
func (a *anyOf) add(v tri) bool {
	switch v {
	case yes:
		a.v = yes
		return true
	case unknown:
		a.v = unknown
	}
	return false
}

// value is the disjunction of the answers added.
func (a *anyOf) value() tri { return a.v }

type subjectKind uint8

const (
	subjectPlain subjectKind = iota
	subjectWildcard
	subjectSet
)

// subject is a query subject resolved against the schema once, so that
// the walk compares pointers and ids instead of looking names up.
type subject struct {
	tuples.Subject
	typ  *schema.Type
	rel  *schema.Relation
	kind subjectKind
}

// nodeKey names one node of a walk: does subj hold relation rel on obj.
type nodeKey struct {
	obj  tuples.Object
	rel  int
	subj tuples.Subject
	// cond is how conditional tuples count below the node (see
	// conditions.go); always false in a schema without conditions.
	cond bool
}

// level is the next level of a fan-out: the subject sets stored in
// several objects, read by one SubjectsOf.
type level struct {
	sets []tuples.Subject
	read bool // prefetched
}

// objRel names a stored relation on one object.
type objRel struct {
	obj tuples.Object
	rel int
}

// Memo values: memoTrue, memoFalse, or, for a node on the current path,
// its index on the stack plus one; meeting it again is a cycle and answers
// unknown.
const (
	memoTrue  int32 = -1
	memoFalse int32 = -2
)

// noLow means no node on the stack was met again.
const noLow = int(^uint(0) >> 1)

// walker holds the state of one query (or one batch). Only definite
// answers are memoized: by Kleene's monotonicity a definite answer reached
// while some node was unknown holds whatever that node turns out to be,
// while an unknown one may change once the node on the path is decided.
//
// Unknowns are resolved where the loop that caused them closes, as in
// Tarjan's algorithm: low is the lowest stack index met again below the
// current node, counting only the loops an unknown answer depends on (a
// definite answer depends on none; see eval). When a node's walk ends
// unknown, every such loop went back to the node itself or below it, and
// no unknown passed through the subtracted side of an exclusion
// (paradox), the loops are purely positive and nothing outside them
// grants the subject: the least fixpoint is false, which is final and
// memoized. Loops through an exclusion stay unknown up to the query,
// which denies.
type walker struct {
	ctx      context.Context
	snap     tuples.Snapshot
	sch      *schema.Schema
	plan     *plan
	maxDepth int
	cache    *cache
	rev      tuples.Revision

	sub   subject
	memo  map[nodeKey]int32
	stack []nodeKey
	// pairTable is the table a lookup of resources last walked with,
	// kept for the next one on this walker (nil while one walks with it).
	pairTable *pairTable
	// notDirect and setsOf hold what set-at-a-time reads learnt ahead of
	// the walk where it fans out (see prefetch), for the query subject
	// (setSubject forgets them when it changes): the stored relations
	// whose direct answer is known to be false, and the subject sets
	// stored in obj#rel, read for many objects at once. They only save
	// reads: the walk visits the same nodes in the same order as without
	// them.
	notDirect map[objRel]bool
	setsOf    map[objRel][]tuples.Subject
	// levelOf maps each object whose subject sets one SubjectsOf read to
	// that read's level: the subject sets of all those objects, read
	// ahead together when the walk first goes below any of them.
	levelOf map[objRel]*level
	// low and paradox describe the walk below the current node; see above.
	low     int
	paradox bool

	// groups holds the subjects' memberships in nesting relations, and
	// nestedStats counts how they were used (see nested.go); downward
	// turns the upward walk off.
	groups      map[membershipKey]*memberships
	nestedStats *nestedCounters
	downward    bool
	noIndex     bool
	noCounts    bool

	// objects holds the objects whose tuples the walk reads whole, and
	// objReader the snapshot's read of them, nil where it has none (see
	// objects.go).
	objects   map[tuples.Object]objectState
	objReader tuples.ObjectReader
	objTuning objectTuning

	// withConds: the schema has relations whose tuples may carry
	// conditions or expiries; condTrue, conds, reqCtx and now are the
	// state of their evaluation (see conditions.go).
	withConds bool
	condTrue  bool
	conds     conditionAccounts
	reqCtx    condition.Context
	now       time.Time
	// bound is the checker's; reqBound the request context bound per
	// condition, for this query.
	bound    *boundContexts
	reqBound map[*schema.Condition]condition.Values
}

// query answers one query, with its explanation when asked.
func (w *walker) query(q Query) (Result, error) {
	r, err := resolveRelation(w.sch, q.Object, q.Relation)
	if err != nil {
		return Result{}, fmt.Errorf("check %s: %w", q, err)
	}
	if err = w.setSubject(q.Subject); err != nil {
		return Result{}, fmt.Errorf("check %s: %w", q, err)
	}
	w.reqCtx = q.RequestContext
	clear(w.reqBound)
	res, v, err := w.answer(q.Object, r)
	if err != nil {
		return Result{}, fmt.Errorf("check %s: %w", q, err)
	}
	if q.Explain {
		if res.Explanation, err = w.explain(q, r, v); err != nil {
			return Result{}, fmt.Errorf("explain %s: %w", q, err)
		}
		if res.Conditional {
			res.Explanation.Conditional, res.Explanation.Missing = true, res.Missing
		}
	}
	return res, nil
}

// answer decides r on obj for the walker's subject, four-valued: the
// first walk counts conditional tuples against the subject; when it does
// not grant and met a conditional tuple, a second walk counts them for
// it (conditions.go). v is the first walk's answer, which explanations
// follow.
func (w *walker) answer(obj tuples.Object, r *schema.Relation) (res Result, v tri, err error) {
	w.conds.reset()
	w.condTrue = false
	if v, err = w.top(obj, r); err != nil {
		return Result{}, no, err
	}
	res.Allowed = v == yes
	if w.conds.seen && v != yes {
		w.condTrue = true
		v2, err := w.top(obj, r)
		w.condTrue = false
		if err != nil {
			return Result{}, no, err
		}
		if v2 == yes {
			res.Conditional = true
			res.Missing = slices.Sorted(slices.Values(w.conds.missing))
		}
	}
	res.ValidUntil = w.conds.until
	return res, v, nil
}

// setSubject resolves the query subject and, when it changes, forgets
// what was read ahead for the previous one.
func (w *walker) setSubject(s tuples.Subject) error {
	sub, err := resolveSubject(w.sch, s)
	if err != nil {
		return err
	}
	if sub.Subject != w.sub.Subject {
		w.notDirect, w.setsOf, w.levelOf = nil, nil, nil
	}
	w.sub = sub
	return nil
}

// top consults the cross-query cache around one walk.
func (w *walker) top(obj tuples.Object, r *schema.Relation) (tri, error) {
	var ck cacheKey
	if w.cache != nil {
		ck = cacheKey{sch: w.sch, rev: w.rev, node: nodeKey{obj: obj, rel: r.ID, subj: w.sub.Subject}}
		if allowed, until, ok := w.cache.get(&ck, w.now); ok {
			w.conds.bound(until)
			if allowed {
				return yes, nil
			}
			return no, nil
		}
	}
	v, err := w.check(obj, r)
	if err != nil {
		return no, err
	}
	if w.cache != nil && v != unknown {
		// The walk's earliest expiry bounds this answer: a query's walker
		// answers that query alone when the schema has expiries.
		w.cache.put(&ck, v == yes, w.now, w.conds.until)
	}
	return v, nil
}

// reaches is the precheck: can the query subject ever be in r at all.
func (w *walker) reaches(r *schema.Relation) bool {
	switch w.sub.kind {
	case subjectPlain:
		return r.ReachTypes.Has(w.sub.typ.ID)
	case subjectWildcard:
		return r.ReachWildcard.Has(w.sub.typ.ID)
	}
	return r.ReachSets.Has(w.sub.rel.ID)
}

// nodeReaches extends reaches to an expression, so that an arrow whose
// targets can never hold the subject is skipped without reading.
func (w *walker) nodeReaches(n schema.Node) bool {
	switch n := n.(type) {
	case *schema.Ref:
		return w.reaches(n.Relation)
	case *schema.Arrow:
		for _, th := range n.Then {
			if th != nil && w.nodeReaches(th) {
				return true
			}
		}
		return false
	case *schema.Union:
		for _, ch := range n.Children {
			if w.nodeReaches(ch) {
				return true
			}
		}
		return false
	case *schema.Intersect:
		for _, ch := range n.Children {
			if !w.nodeReaches(ch) {
				return false
			}
		}
		return true
	case *schema.Exclude:
		return w.nodeReaches(n.Base)
	}
	return false
}

// check decides whether the query subject holds r on obj.
func (w *walker) check(obj tuples.Object, r *schema.Relation) (tri, error) {
	// A subject set is always included in itself.
	if w.sub.kind == subjectSet && w.sub.rel == r && w.sub.ID == obj.ID {
		return yes, nil
	}
	if !w.reaches(r) {
		return no, nil
	}
	k := nodeKey{obj: obj, rel: r.ID, subj: w.sub.Subject, cond: w.condTrue}
	switch m := w.memo[k]; {
	case m == memoTrue:
		return yes, nil
	case m == memoFalse:
		return no, nil
	case m > 0:
		w.low = min(w.low, int(m-1))
		return unknown, nil
	}
	me := len(w.stack)
	if me >= w.maxDepth {
		return no, w.depthError(k)
	}
	if !w.downward && nesting(r) && !r.HasConditions() {
		v, handled, err := w.nested(obj, r, me)
		if err != nil {
			return no, err
		}
		if handled {
			if v == yes {
				w.memo[k] = memoTrue
			} else {
				w.memo[k] = memoFalse
			}
			return v, nil
		}
	}
	if r.Stored && !w.setsReachable(r) {
		// A leaf: nothing below it can loop back, so it needs no path
		// entry, only its answer remembered.
		ok, err := w.direct(obj, r)
		if err != nil {
			return no, err
		}
		if ok {
			w.memo[k] = memoTrue
			return yes, nil
		}
		w.memo[k] = memoFalse
		return no, nil
	}
	w.memo[k] = int32(me + 1)
	w.stack = append(w.stack, k)
	savedLow, savedParadox := w.low, w.paradox
	w.low, w.paradox = noLow, false
	var v tri
	var err error
	if r.Stored {
		v, err = w.stored(obj, r)
	} else {
		if w.objReader != nil && w.plan.several[r.ID] {
			w.severalReads(obj)
		}
		v, err = w.eval(obj, w.plan.rels[r.ID])
	}
	w.stack = w.stack[:me]
	nodeLow, nodeParadox := w.low, w.paradox
	closed := nodeLow >= me
	if v == unknown && closed && !nodeParadox {
		v = no
	}
	// Only an unknown answer carries its loops and paradoxes upwards.
	w.low, w.paradox = savedLow, savedParadox
	if v == unknown {
		if !closed {
			w.low = min(w.low, nodeLow)
		}
		w.paradox = w.paradox || nodeParadox
	}
	switch {
	case err != nil || v == unknown:
		delete(w.memo, k)
	case v == yes:
		w.memo[k] = memoTrue
	default:
		w.memo[k] = memoFalse
	}
	return v, err
}

// stored decides a stored relation: the exact tuple, the wildcard of the
// subject's type, or any subject set stored in it that holds the subject.
func (w *walker) stored(obj tuples.Object, r *schema.Relation) (tri, error) {
	if ok, err := w.direct(obj, r); err != nil {
		return no, err
	} else if ok {
		return yes, nil
	}
	var acc anyOf
	for _, set := range r.SubjectSets {
		if !w.reaches(set) {
			continue
		}
		sv, err := w.viaSet(obj, r, set)
		if err != nil {
			return no, err
		}
		if acc.add(sv) {
			break
		}
	}
	return acc.value(), nil
}

// direct reports whether obj#r stores the subject itself or, for a plain
// object, its type's wildcard.
func (w *walker) direct(obj tuples.Object, r *schema.Relation) (bool, error) {
	if len(w.notDirect) > 0 && w.notDirect[objRel{obj: obj, rel: r.ID}] {
		return false, nil
	}
	has := w.has
	if r.HasConditions() {
		has = w.hasHolding
	}
	if w.storable(r) {
		ok, err := has(obj, r.Name, w.sub.Subject)
		if err != nil || ok {
			return ok, err
		}
	}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		return has(obj, r.Name, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard})
	}
	return false, nil
}

// storable reports whether stored relation r accepts the subject itself,
// so that a relation like `public: user:*` costs a user one read, of the
// wildcard, not two. Stores refuse tuples, and schema changes, that the
// schema does not allow, so a form it rules out is never stored.
func (w *walker) storable(r *schema.Relation) bool {
	switch w.sub.kind {
	case subjectPlain:
		return r.DirectTypes.Has(w.sub.typ.ID)
	case subjectWildcard:
		return r.WildcardTypes.Has(w.sub.typ.ID)
	}
	return slices.Contains(r.SubjectSets, w.sub.rel)
}

// setsReachable reports whether any subject set r accepts can hold the
// subject, i.e. whether deciding r may walk further than its own tuples.
func (w *walker) setsReachable(r *schema.Relation) bool {
	for _, set := range r.SubjectSets {
		if w.reaches(set) {
			return true
		}
	}
	return false
}

// viaSet decides whether any subject set x#set stored in obj#r holds the
// subject. It is its own function so that the variables the loop body
// captures escape only when subject sets are walked, not on the direct
// path.
func (w *walker) viaSet(obj tuples.Object, r, set *schema.Relation) (tri, error) {
	if err := w.ctx.Err(); err != nil {
		return no, err
	}
	xs, err := w.setsIn(obj, r, set)
	if err != nil {
		return no, err
	}
	if lv := w.levelOf[objRel{obj: obj, rel: r.ID}]; lv != nil {
		// obj's subject sets were read with its siblings': read what
		// lies below all of them at once, the first time.
		if !lv.read {
			lv.read = true
			if err := w.prefetchLevel(lv.sets, r); err != nil {
				return no, err
			}
		}
	} else if err := w.prefetch(xs, set); err != nil {
		return no, err
	}
	var acc anyOf
	for _, x := range xs {
		xv, err := w.check(x, set)
		if err != nil {
			return no, err
		}
		if acc.add(xv) {
			break
		}
	}
	return acc.value(), nil
}

// setsIn returns the objects x of the subject sets x#set stored in obj#r,
// from what prefetch read when it has, else from one scan.
func (w *walker) setsIn(obj tuples.Object, r, set *schema.Relation) ([]tuples.Object, error) {
	var xs []tuples.Object
	if known, ok := w.setsOf[objRel{obj: obj, rel: r.ID}]; ok {
		for _, x := range known {
			if x.Type == set.Type.Name && x.Relation == set.Name {
				xs = append(xs, tuples.Object{Type: x.Type, ID: x.ID})
			}
		}
		return xs, nil
	}
	f := tuples.SubjectFilter{Sets: true, Type: set.Type.Name, Relation: set.Name}
	if r.HasConditions() {
		subs, err := w.subjectsHolding(obj, r.Name, f)
		if err != nil {
			return nil, err
		}
		for _, x := range subs {
			xs = append(xs, tuples.Object{Type: x.Type, ID: x.ID})
		}
		return xs, nil
	}
	ts, whole, err := w.objectTuples(obj)
	if err != nil || !whole {
		if err == nil {
			xs, err = w.scanSets(obj, r.Name, f)
		}
		return xs, err
	}
	for i := range ts {
		if x := ts[i].Subject; ts[i].Relation == r.Name && f.Matches(x) {
			xs = append(xs, tuples.Object{Type: x.Type, ID: x.ID})
		}
	}
	return xs, nil
}

// scanSets returns the objects of the subject sets stored in obj#rel that
// pass f, from one scan. It is setsIn's scan, in a function of its own so
// that the variables the loop body captures escape only when it scans.
func (w *walker) scanSets(obj tuples.Object, rel string, f tuples.SubjectFilter) ([]tuples.Object, error) {
	var xs []tuples.Object
	for x, err := range w.snap.Subjects(w.ctx, obj, rel, f) {
		if err != nil {
			return nil, fmt.Errorf("read %s#%s: %w", obj, rel, err)
		}
		xs = append(xs, tuples.Object{Type: x.Type, ID: x.ID})
	}
	return xs, nil
}

// prefetch reads ahead, in two set-at-a-time reads, what checking r on
// each of objs would read one object at a time: whether any of them
// stores the subject directly (when none does, each one's direct answer
// is known to be false) and, only then, the subject sets stored in each,
// which the walk below them needs. The walk that follows is unchanged, depth-first
// and in the same order, with its cycle handling and depth rule; it only
// finds its reads answered. A fan-out of one reads nothing ahead, and an
// object whose node is decided, on the path, or the query subject itself
// is left out.
func (w *walker) prefetch(objs []tuples.Object, r *schema.Relation) error {
	if len(objs) < 2 || !r.Stored || !w.reaches(r) || r.HasConditions() {
		// A relation whose tuples may carry conditions is read with its
		// payloads, one object at a time (conditions.go).
		return nil
	}
	if !w.downward && nesting(r) {
		// The subject's memberships answer r without reading below
		// the groups (nested.go), unless it is in too many groups.
		if m := w.groups[membershipKey{rel: r.ID, subj: w.sub.Subject}]; m == nil || !m.overflow {
			return nil
		}
	}
	var todo []tuples.Object
	for _, x := range objs {
		if w.sub.kind == subjectSet && w.sub.rel == r && w.sub.ID == x.ID {
			continue
		}
		if w.memo[nodeKey{obj: x, rel: r.ID, subj: w.sub.Subject, cond: w.condTrue}] != 0 || w.notDirect[objRel{obj: x, rel: r.ID}] {
			continue
		}
		todo = append(todo, x)
	}
	if len(todo) < 2 {
		return nil
	}
	var subjs []tuples.Subject
	if w.storable(r) {
		subjs = append(subjs, w.sub.Subject)
	}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		subjs = append(subjs, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard})
	}
	some := false
	if len(subjs) > 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		var err error
		if some, err = w.snap.HasAny(w.ctx, todo, r.Name, subjs); err != nil {
			return fmt.Errorf("read %s of %d objects: %w", r, len(todo), err)
		}
	}
	if some {
		// One of them holds the subject directly, so the walk stops at
		// it: reading what lies below all of them would read more than
		// the walk does.
		return nil
	}
	if w.notDirect == nil {
		w.notDirect = make(map[objRel]bool, len(todo))
	}
	for _, x := range todo {
		w.notDirect[objRel{obj: x, rel: r.ID}] = true
	}
	if !w.setsReachable(r) {
		return nil
	}
	if w.setsOf == nil {
		w.setsOf = make(map[objRel][]tuples.Subject)
	}
	var need []tuples.Object
	for _, x := range todo {
		k := objRel{obj: x, rel: r.ID}
		if _, ok := w.setsOf[k]; !ok {
			need = append(need, x)
			w.setsOf[k] = []tuples.Subject{}
		}
	}
	if len(need) == 0 {
		return nil
	}
	lv := &level{}
	// One read per subject-set form that can hold the subject, narrowed
	// to its type as the walk's own scans are.
	for _, set := range r.SubjectSets {
		if !w.reaches(set) {
			continue
		}
		f := tuples.SubjectFilter{Sets: true, Type: set.Type.Name, Relation: set.Name}
		for t, err := range w.snap.SubjectsOf(w.ctx, need, r.Name, f) {
			if err != nil {
				for _, x := range need {
					delete(w.setsOf, objRel{obj: x, rel: r.ID})
				}
				return fmt.Errorf("read %s of %d objects: %w", r, len(need), err)
			}
			k := objRel{obj: t.Object(), rel: r.ID}
			w.setsOf[k] = append(w.setsOf[k], t.Subject())
			lv.sets = append(lv.sets, t.Subject())
		}
	}
	if w.levelOf == nil {
		w.levelOf = make(map[objRel]*level)
	}
	for _, x := range need {
		w.levelOf[objRel{obj: x, rel: r.ID}] = lv
	}
	return nil
}

// prefetchLevel reads ahead below the subject sets of a level, stored in
// relation r of their objects: for each subject-set relation of r, the
// objects of the sets of that relation together.
func (w *walker) prefetchLevel(sets []tuples.Subject, r *schema.Relation) error {
	for _, set := range r.SubjectSets {
		if !w.reaches(set) {
			continue
		}
		var objs []tuples.Object
		seen := make(map[tuples.Object]bool)
		for _, x := range sets {
			o := tuples.Object{Type: x.Type, ID: x.ID}
			if x.Type == set.Type.Name && x.Relation == set.Name && !seen[o] {
				seen[o] = true
				objs = append(objs, o)
			}
		}
		if err := w.prefetch(objs, set); err != nil {
			return err
		}
	}
	return nil
}

// eval decides a planned expression on obj with three-valued logic,
// stopping as soon as the answer is known.
//
// A definite answer leaves low and paradox as it found them: by Kleene's
// monotonicity it holds whatever the nodes still open turn out to be, so
// the loops and paradoxes met on the way to it are no reason for an
// enclosing node to stay undecided. Only an unknown answer carries them.
// This also makes the answers independent of the order in which operands
// are tried: an operand skipped in one order and walked in another
// leaves no trace either way once the answer is definite.
func (w *walker) eval(obj tuples.Object, o *op) (tri, error) {
	if o.kind == opRef {
		// check keeps its own accounts.
		return w.check(obj, o.rel)
	}
	low, paradox := w.low, w.paradox
	var v tri
	var err error
	switch o.kind {
	case opArrow:
		v, err = w.arrow(obj, o)
	case opUnion:
		v, err = w.junction(obj, o.args, yes)
	case opIntersect:
		v, err = w.junction(obj, o.args, no)
	case opExclude:
		v, err = w.exclude(obj, o)
	default:
		return no, fmt.Errorf("unexpected expression node kind %d", o.kind)
	}
	if v != unknown {
		w.low, w.paradox = low, paradox
	}
	return v, err
}

// junction decides a union (decisive = yes) or an intersection
// (decisive = no): the first operand that answers decisive decides it;
// otherwise it is unknown if any operand was, and the other definite
// answer if none was. The plan puts the cheapest operands first.
func (w *walker) junction(obj tuples.Object, args []*op, decisive tri) (tri, error) {
	v := yes
	if decisive == yes {
		v = no
	}
	for _, a := range args {
		av, err := w.eval(obj, a)
		if err != nil {
			return no, err
		}
		if av == decisive {
			return decisive, nil
		}
		if av == unknown {
			v = unknown
		}
	}
	return v, nil
}

// exclude decides base - subtract: false when the base is false or the
// subtracted side true, true when the base is true and the subtracted
// side false, otherwise unknown. Either side alone can decide false, so
// the plan's cheaper side is evaluated first and the other only when it
// did not decide.
func (w *walker) exclude(obj tuples.Object, o *op) (tri, error) {
	var base, sub tri
	var err error
	subtract := func() (tri, error) {
		if !w.withConds {
			return w.eval(obj, o.subtract)
		}
		// The subtracted side takes away: conditional tuples count the
		// other way there (conditions.go).
		w.condTrue = !w.condTrue
		v, err := w.eval(obj, o.subtract)
		w.condTrue = !w.condTrue
		return v, err
	}
	if o.subtractFirst {
		if sub, err = subtract(); err != nil || sub == yes {
			return no, err
		}
		if base, err = w.eval(obj, o.base); err != nil || base == no {
			return no, err
		}
	} else {
		if base, err = w.eval(obj, o.base); err != nil || base == no {
			return no, err
		}
		if sub, err = subtract(); err != nil || sub == yes {
			return no, err
		}
	}
	if base == yes && sub == no {
		return yes, nil
	}
	if sub == unknown {
		w.paradox = true
	}
	return unknown, nil
}

// arrow follows a tupleset to the objects it holds and evaluates the rest
// of the path on each.
func (w *walker) arrow(obj tuples.Object, a *op) (tri, error) {
	if !w.nodeReaches(a.arrow) {
		return no, nil
	}
	if err := w.ctx.Err(); err != nil {
		return no, err
	}
	xs, err := w.hopTargets(obj, a)
	if err != nil {
		return no, err
	}
	if len(xs) > 1 {
		if err := w.prefetchArrow(xs, a); err != nil {
			return no, err
		}
	}
	var acc anyOf
	for _, x := range xs {
		xv, err := w.eval(x, a.then[w.sch.Type(x.Type).ID])
		if err != nil {
			return no, err
		}
		if acc.add(xv) {
			break
		}
	}
	return acc.value(), nil
}

// hopTargets returns the objects arrow a reaches from obj on which the
// rest of its path is evaluated. It is arrow's read, in a function of its
// own so that the variables the loop body captures escape only here.
func (w *walker) hopTargets(obj tuples.Object, a *op) ([]tuples.Object, error) {
	if a.rel.HasConditions() {
		subs, err := w.hopHolding(obj, a.rel)
		if err != nil {
			return nil, err
		}
		var xs []tuples.Object
		for _, x := range subs {
			xs = w.hopTarget(xs, x, a)
		}
		return xs, nil
	}
	var xs []tuples.Object
	var failed error
	for x, err := range tuples.Hop(w.ctx, (*objectReads)(w), obj, a.rel) {
		if err != nil {
			failed = err
			break
		}
		xs = w.hopTarget(xs, x, a)
	}
	if failed != nil {
		return nil, fmt.Errorf("read %s#%s: %w", obj, a.rel.Name, failed)
	}
	return xs, nil
}

// hopTarget appends x to xs where the rest of a's path goes on from it.
func (w *walker) hopTarget(xs []tuples.Object, x tuples.Subject, a *op) []tuples.Object {
	t := w.sch.Type(x.Type)
	if t == nil || x.ID == tuples.Wildcard || a.then[t.ID] == nil {
		return xs
	}
	return append(xs, tuples.Object{Type: x.Type, ID: x.ID})
}

// prefetchArrow reads ahead for the objects an arrow reaches whose rest
// of the path is one relation (parent->viewer), a type at a time.
func (w *walker) prefetchArrow(xs []tuples.Object, a *op) error {
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && xs[j].Type == xs[i].Type {
			j++
		}
		if then := a.then[w.sch.Type(xs[i].Type).ID]; then.kind == opRef {
			if err := w.prefetch(xs[i:j], then.rel); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

func (w *walker) has(obj tuples.Object, rel string, s tuples.Subject) (bool, error) {
	if err := w.ctx.Err(); err != nil {
		return false, err
	}
	if ts, whole, err := w.objectTuples(obj); err != nil || whole {
		return whole && hasIn(ts, rel, s), err
	}
	ok, err := w.snap.Has(w.ctx, obj, rel, s)
	if err != nil {
		return false, fmt.Errorf("read %s#%s@%s: %w", obj, rel, s, err)
	}
	return ok, nil
}

// DepthError reports a walk that went deeper than the depth limit. Path
// runs from the node that broke the limit back to the query's relation.
type DepthError struct {
	Limit int
	Path  []string
}

// Is makes a DepthError match errkind.ErrDepth.
func (e *DepthError) Is(target error) bool { return target == errkind.ErrDepth }

func (e *DepthError) Error() string {
	const shown = 8
	p := e.Path
	if len(p) > shown+1 {
		p = append(append(append([]string(nil), p[:shown]...), "..."), p[len(p)-1])
	}
	return fmt.Sprintf("depth limit %d exceeded at %s; raise the limit or look for an unintended chain of nested groups",
		e.Limit, strings.Join(p, " <- "))
}

func (w *walker) depthError(k nodeKey) error {
	name := func(k nodeKey) string { return k.obj.String() + "#" + w.sch.Relations[k.rel].Name }
	path := []string{name(k)}
	for i := len(w.stack) - 1; i >= 0; i-- {
		path = append(path, name(w.stack[i]))
	}
	return &DepthError{Limit: w.maxDepth, Path: path}
}
