package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Explanation says why a query was allowed or denied.
type Explanation struct {
	Query   string `json:"query"`
	Allowed bool   `json:"allowed"`
	// Conditional: not granted as things are, but granted once the
	// parameters in Missing are given; Denial then shows the walk that
	// counted the conditional tuples against the subject.
	Conditional bool     `json:"conditional,omitempty"`
	Missing     []string `json:"missing,omitempty"`
	// Path, when allowed: one shortest chain of relations, rules and
	// tuples from the queried relation down to the tuple that grants it.
	Path []Step `json:"path,omitempty"`
	// Denial, when denied: which branches failed, and for an exclusion
	// the tuples that put the subject on the subtracted side.
	Denial *Denial `json:"denial,omitempty"`
}

// Step kinds.
const (
	StepRelation  = "relation"  // a computed relation entered: case:1#viewer
	StepRule      = "rule"      // the branch of an expression taken: assignee.team#member
	StepTuple     = "tuple"     // a stored tuple followed
	StepSelf      = "self"      // the subject is this subject set itself
	StepAllOf     = "all_of"    // an intersection: every branch holds
	StepExclusion = "exclusion" // an exclusion whose subtracted side does not hold
)

// Step is one link of a granting path.
type Step struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
	// Branches holds, for an intersection, the path of each branch.
	Branches [][]Step `json:"branches,omitempty"`
}

// Denial explains one failed node or branch.
type Denial struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
	// Excluded is the path that puts the subject in the subtracted side
	// of an exclusion: the deny-list entry.
	Excluded []Step    `json:"excluded,omitempty"`
	Branches []*Denial `json:"branches,omitempty"`
}

// String renders the explanation as text: a path for an allowed query, an
// indented tree of failed branches for a denied one.
func (e *Explanation) String() string {
	if e == nil {
		return ""
	}
	if e.Allowed {
		return e.Query + " allowed: " + PathString(e.Path)
	}
	var b strings.Builder
	if e.Conditional {
		b.WriteString(e.Query + " conditional")
		if len(e.Missing) > 0 {
			b.WriteString(" (missing " + strings.Join(e.Missing, ", ") + ")")
		}
	} else {
		b.WriteString(e.Query + " denied")
	}
	if e.Denial != nil {
		b.WriteString(":\n")
		e.Denial.write(&b, 1)
	}
	return strings.TrimRight(b.String(), "\n")
}

// PathString renders a granting path: each link points back to the one
// that it grants, `case:7#viewer <- assignee.team#member <- ...`.
func PathString(path []Step) string {
	parts := make([]string, len(path))
	for i, s := range path {
		switch s.Kind {
		case StepAllOf:
			bs := make([]string, len(s.Branches))
			for j, br := range s.Branches {
				bs[j] = "[" + PathString(br) + "]"
			}
			parts[i] = "all of " + s.Text + ": " + strings.Join(bs, " and ")
		case StepExclusion:
			parts[i] = "unless " + s.Text
		case StepSelf:
			parts[i] = s.Text + " (the subject set itself)"
		default:
			parts[i] = s.Text
		}
	}
	return strings.Join(parts, " <- ")
}

func (d *Denial) write(b *strings.Builder, indent int) {
	pad := strings.Repeat("  ", indent)
	fmt.Fprintf(b, "%s%s: %s", pad, d.Node, d.Reason)
	if len(d.Excluded) > 0 {
		fmt.Fprintf(b, ": %s", PathString(d.Excluded))
	}
	b.WriteByte('\n')
	for _, c := range d.Branches {
		c.write(b, indent+1)
	}
}

// explain builds the explanation of an answer already computed by w.
func (w *walker) explain(q Query, r *schema.Relation, v tri) (*Explanation, error) {
	e := &Explanation{Query: q.String(), Allowed: v == yes}
	if v == yes {
		path, err := w.shortestNode(q.Object, r)
		if err != nil {
			return nil, err
		}
		if r.Stored && (len(path) == 0 || path[0].Kind != StepSelf) {
			path = append([]Step{{Kind: StepRelation, Text: nodeName(q.Object, r)}}, path...)
		}
		e.Path = path
		return e, nil
	}
	d, err := w.denyNode(q.Object, r, v, 0)
	if err != nil {
		return nil, err
	}
	e.Denial = d
	return e, nil
}

func nodeName(obj tuples.Object, r *schema.Relation) string {
	return obj.String() + "#" + r.Name
}

func tupleText(obj tuples.Object, rel string, s tuples.Subject) string {
	return obj.String() + "#" + rel + "@" + s.String()
}

// deriver searches for a shortest granting path by iterative deepening:
// the first budget (number of relation nodes entered) at which a path
// exists yields a path of least depth; among paths of that depth it keeps
// the one with fewest steps.
type deriver struct {
	w      *walker
	found  map[deriveKey][]Step
	failed map[deriveKey]bool
	onPath map[nodeKey]bool
	// dirty is set when a search was cut by the current path, so that its
	// failure is not remembered for other paths.
	dirty bool
}

type deriveKey struct {
	node   nodeKey
	budget int
}

func (w *walker) newDeriver() *deriver {
	return &deriver{w: w, found: map[deriveKey][]Step{}, failed: map[deriveKey]bool{}, onPath: map[nodeKey]bool{}}
}

func (w *walker) shortestNode(obj tuples.Object, r *schema.Relation) ([]Step, error) {
	d := w.newDeriver()
	for budget := 1; budget <= w.maxDepth; budget++ {
		p, ok, err := d.node(obj, r, budget)
		if err != nil || ok {
			return p, err
		}
	}
	return nil, fmt.Errorf("no granting path within depth %d for %s", w.maxDepth, nodeName(obj, r))
}

func (w *walker) shortestExpr(obj tuples.Object, n schema.Node) ([]Step, error) {
	d := w.newDeriver()
	for budget := 1; budget <= w.maxDepth; budget++ {
		p, ok, err := d.expr(obj, n, budget, false)
		if err != nil || ok {
			return p, err
		}
	}
	return nil, fmt.Errorf("no path within depth %d for %s on %s", w.maxDepth, schema.NodeString(n), obj)
}

func shorter(a, b []Step) bool { return a == nil || len(b) < len(a) }

func (d *deriver) node(obj tuples.Object, r *schema.Relation, budget int) ([]Step, bool, error) {
	w := d.w
	if w.sub.kind == subjectSet && w.sub.rel == r && w.sub.ID == obj.ID {
		return []Step{{Kind: StepSelf, Text: nodeName(obj, r)}}, true, nil
	}
	if !w.reaches(r) || budget <= 0 {
		return nil, false, nil
	}
	nk := nodeKey{obj: obj, rel: r.ID, subj: w.sub.Subject}
	if d.onPath[nk] {
		d.dirty = true
		return nil, false, nil
	}
	dk := deriveKey{node: nk, budget: budget}
	if p, ok := d.found[dk]; ok {
		return p, true, nil
	}
	if d.failed[dk] {
		return nil, false, nil
	}
	d.onPath[nk] = true
	wasDirty := d.dirty
	d.dirty = false
	var best []Step
	var err error
	if r.Stored {
		best, err = d.stored(obj, r, budget)
	} else {
		var p []Step
		var ok bool
		p, ok, err = d.expr(obj, r.Rewrite, budget-1, false)
		if ok {
			best = append([]Step{{Kind: StepRelation, Text: nodeName(obj, r)}}, p...)
		}
	}
	delete(d.onPath, nk)
	if err != nil {
		return nil, false, err
	}
	if best != nil {
		d.found[dk] = best
	} else if !d.dirty {
		d.failed[dk] = true
	}
	d.dirty = d.dirty || wasDirty
	return best, best != nil, nil
}

func (d *deriver) stored(obj tuples.Object, r *schema.Relation, budget int) ([]Step, error) {
	w := d.w
	if p, handled, err := d.nestedPath(obj, r, budget); err != nil || handled {
		return p, err
	}
	// A relation whose tuples may carry conditions counts only the
	// tuples that hold, and says which condition decided, with what.
	has := func(obj tuples.Object, rel string, s tuples.Subject) (bool, string, error) {
		ok, err := w.has(obj, rel, s)
		return ok, "", err
	}
	if r.HasConditions() {
		has = w.explainHolding
	}
	if w.storable(r) {
		if ok, note, err := has(obj, r.Name, w.sub.Subject); err != nil || ok {
			return []Step{{Kind: StepTuple, Text: tupleText(obj, r.Name, w.sub.Subject) + note}}, err
		}
	}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		wild := tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard}
		if ok, note, err := has(obj, r.Name, wild); err != nil || ok {
			return []Step{{Kind: StepTuple, Text: tupleText(obj, r.Name, wild) + note}}, err
		}
	}
	var best []Step
	for _, set := range r.SubjectSets {
		if !w.reaches(set) {
			continue
		}
		f := tuples.SubjectFilter{Sets: true, Type: set.Type.Name, Relation: set.Name}
		sets := w.snap.Subjects(w.ctx, obj, r.Name, f)
		if r.HasConditions() {
			held, err := w.subjectsHolding(obj, r.Name, f)
			if err != nil {
				return nil, err
			}
			sets = func(yield func(tuples.Subject, error) bool) {
				for _, x := range held {
					if !yield(x, nil) {
						return
					}
				}
			}
		}
		for x, err := range sets {
			if err != nil {
				return nil, fmt.Errorf("read %s#%s: %w", obj, r.Name, err)
			}
			p, ok, err := d.node(tuples.Object{Type: x.Type, ID: x.ID}, set, budget-1)
			if err != nil {
				return nil, err
			}
			if ok && shorter(best, p) {
				best = append([]Step{{Kind: StepTuple, Text: tupleText(obj, r.Name, x)}}, p...)
			}
		}
	}
	return best, nil
}

// expr finds a shortest path through expression n on obj. inner is set
// inside a multi-hop path, whose text was already given by its first hop.
func (d *deriver) expr(obj tuples.Object, n schema.Node, budget int, inner bool) ([]Step, bool, error) {
	w := d.w
	if err := w.ctx.Err(); err != nil {
		return nil, false, err
	}
	switch n := n.(type) {
	case *schema.Ref:
		return d.node(obj, n.Relation, budget)
	case *schema.Arrow:
		var best []Step
		hop := tuples.Hop(w.ctx, w.snap, obj, n.Tupleset)
		if n.Tupleset.HasConditions() {
			held, err := w.hopHolding(obj, n.Tupleset)
			if err != nil {
				return nil, false, err
			}
			hop = func(yield func(tuples.Subject, error) bool) {
				for _, x := range held {
					if !yield(x, nil) {
						return
					}
				}
			}
		}
		for x, err := range hop {
			if err != nil {
				return nil, false, fmt.Errorf("read %s#%s: %w", obj, n.Tupleset.Name, err)
			}
			t := w.sch.Type(x.Type)
			if t == nil || x.ID == tuples.Wildcard || n.Then[t.ID] == nil {
				continue
			}
			p, ok, err := d.expr(tuples.Object{Type: x.Type, ID: x.ID}, n.Then[t.ID], budget, true)
			if err != nil {
				return nil, false, err
			}
			if ok && shorter(best, p) {
				best = append([]Step{{Kind: StepTuple, Text: tupleText(obj, n.Tupleset.Name, x)}}, p...)
			}
		}
		if best != nil && !inner {
			best = append([]Step{{Kind: StepRule, Text: n.Text}}, best...)
		}
		return best, best != nil, nil
	case *schema.Union:
		var best []Step
		for _, ch := range n.Children {
			p, ok, err := d.expr(obj, ch, budget, false)
			if err != nil {
				return nil, false, err
			}
			if ok && shorter(best, p) {
				best = p
			}
		}
		return best, best != nil, nil
	case *schema.Intersect:
		step := Step{Kind: StepAllOf, Text: schema.NodeString(n)}
		for _, ch := range n.Children {
			p, ok, err := d.expr(obj, ch, budget, false)
			if err != nil || !ok {
				return nil, false, err
			}
			step.Branches = append(step.Branches, p)
		}
		return []Step{step}, true, nil
	case *schema.Exclude:
		p, ok, err := d.expr(obj, n.Base, budget, false)
		if err != nil || !ok {
			return nil, false, err
		}
		sub, err := w.eval(obj, w.plan.op(n.Subtract))
		if err != nil || sub != no {
			return nil, false, err
		}
		return append([]Step{{Kind: StepExclusion, Text: schema.NodeString(n.Subtract)}}, p...), true, nil
	}
	return nil, false, fmt.Errorf("unexpected expression node %T", n)
}

// undetermined is the reason given for a node the walk left unknown: a
// condition lacking parameters when the query met one (the answer is
// then conditional, or denied when no context could grant it), else a
// cycle.
func (w *walker) undetermined() string {
	if w.conds.seen && len(w.conds.missing) > 0 {
		return "undetermined: it rests on a condition that lacks " + strings.Join(slices.Compact(slices.Sorted(slices.Values(w.conds.missing))), ", ")
	}
	return "undetermined: it depends on itself through a cycle, so it is denied"
}

// maxDenialDepth bounds how many relations a denial explanation descends
// through: past it, a branch is reported as not holding, without detail.
const maxDenialDepth = 6

func (w *walker) denyNode(obj tuples.Object, r *schema.Relation, v tri, depth int) (*Denial, error) {
	d := &Denial{Node: nodeName(obj, r)}
	switch {
	case v == unknown:
		d.Reason = w.undetermined()
	case !w.reaches(r):
		d.Reason = fmt.Sprintf("no subject like %s can ever hold it under the schema", w.sub.Subject)
	case r.Stored:
		var notes []string
		if r.HasConditions() {
			var err error
			if notes, err = w.storedNotes(obj, r); err != nil {
				return nil, err
			}
		}
		if len(notes) > 0 {
			d.Reason = fmt.Sprintf("stored but not granting: %s; and no subject set stored in it holds the subject", strings.Join(notes, "; "))
		} else {
			d.Reason = fmt.Sprintf("no tuple %s, no wildcard tuple and no subject set stored in it holds the subject",
				tupleText(obj, r.Name, w.sub.Subject))
		}
	case depth >= maxDenialDepth:
		d.Reason = "does not hold"
	default:
		inner, err := w.denyExpr(obj, r.Rewrite, depth+1)
		if err != nil {
			return nil, err
		}
		d.Reason = "= " + schema.NodeString(r.Rewrite) + ": " + inner.Reason
		d.Excluded, d.Branches = inner.Excluded, inner.Branches
	}
	return d, nil
}

func (w *walker) denyExpr(obj tuples.Object, n schema.Node, depth int) (*Denial, error) {
	d := &Denial{Node: schema.NodeString(n)}
	switch n := n.(type) {
	case *schema.Ref:
		v, err := w.check(obj, n.Relation)
		if err != nil {
			return nil, err
		}
		return w.denyNode(obj, n.Relation, v, depth)
	case *schema.Arrow:
		d.Reason = fmt.Sprintf("no object stored in %s#%s holds the rest of the path", obj, n.Tupleset.Name)
	case *schema.Union:
		d.Reason = "no branch grants it"
		for _, ch := range n.Children {
			c, err := w.denyExpr(obj, ch, depth)
			if err != nil {
				return nil, err
			}
			d.Branches = append(d.Branches, c)
		}
	case *schema.Intersect:
		// Name the branch that decided, in the order the walk tried them:
		// the first false one, or failing that the first undetermined one.
		var failed *op
		for _, a := range w.plan.op(n).args {
			v, err := w.eval(obj, a)
			if err != nil {
				return nil, err
			}
			if v == no {
				failed = a
				break
			}
			if v == unknown && failed == nil {
				failed = a
			}
		}
		if failed == nil {
			d.Reason = w.undetermined()
			break
		}
		d.Reason = "branch " + schema.NodeString(failed.src) + " does not hold"
		c, err := w.denyExpr(obj, failed.src, depth)
		if err != nil {
			return nil, err
		}
		d.Branches = []*Denial{c}
	case *schema.Exclude:
		// Report the side that decided, in the order the walk tried them:
		// a deny-list entry found first wins over a base that also fails.
		p := w.plan.op(n)
		var base, sub tri
		var err error
		if p.subtractFirst {
			if sub, err = w.eval(obj, p.subtract); err != nil {
				return nil, err
			}
		}
		if sub != yes {
			if base, err = w.eval(obj, p.base); err != nil {
				return nil, err
			}
			if base == no {
				d.Reason = "the base " + schema.NodeString(n.Base) + " does not grant it"
				c, err := w.denyExpr(obj, n.Base, depth)
				if err != nil {
					return nil, err
				}
				d.Branches = []*Denial{c}
				break
			}
			if !p.subtractFirst {
				if sub, err = w.eval(obj, p.subtract); err != nil {
					return nil, err
				}
			}
		}
		if sub == yes {
			d.Reason = "excluded by " + schema.NodeString(n.Subtract)
			if d.Excluded, err = w.shortestExpr(obj, n.Subtract); err != nil {
				return nil, err
			}
			break
		}
		d.Reason = w.undetermined()
	}
	return d, nil
}

// nestedPath names a shortest granting path of nesting relation r on obj
// from the query subject's memberships, the ones the check answered from
// (nested.go): the membership index's rows, or the groups read level by
// level, completed here if the check stopped early. chain[g] is the
// length of the shortest chain from g down to a group storing the
// subject, so from obj, at chain c, some subject set stored in obj is a
// group at chain c-1, down to a group at chain 0 that stores the subject
// or its type's wildcard: c+1 stored tuples, each one read to name it,
// and no group outside the subject's memberships visited. Walking down
// over every group below obj, as the search by depth does, would read the
// whole subtree of a large tree for the same path.
//
// handled is false when the memberships do not apply (the relation's
// tuples may carry conditions, the walk is downward only, the subject is
// in more groups than the bound, or a tuple the chain promises is not
// found), and the caller searches as for any stored relation.
func (d *deriver) nestedPath(obj tuples.Object, r *schema.Relation, budget int) (path []Step, handled bool, err error) {
	w := d.w
	if w.downward || !nesting(r) || r.HasConditions() {
		return nil, false, nil
	}
	m, err := w.membershipsOf(r)
	if err != nil {
		return nil, false, err
	}
	for !m.done && !m.overflow {
		if err := w.grow(m); err != nil {
			return nil, false, err
		}
	}
	if m.overflow {
		return nil, false, nil
	}
	c, ok := m.chain[obj.ID]
	if !ok || int(c)+1 > budget {
		// No chain reaches the subject, or none within the budget:
		// every chain from obj stays inside r, so none is shorter.
		return nil, true, nil
	}
	levels := make(map[int32][]tuples.Object)
	for id, l := range m.chain {
		if l < c {
			levels[l] = append(levels[l], tuples.Object{Type: m.rel.Type.Name, ID: id})
		}
	}
	for _, gs := range levels {
		slices.SortFunc(gs, func(a, b tuples.Object) int { return cmp.Compare(a.ID, b.ID) })
	}
	cur := obj
	for l := c; l > 0; l-- {
		next, found, err := d.nextDown(cur, r, m, levels[l-1], l-1)
		if err != nil {
			return nil, false, err
		}
		if !found {
			return nil, false, nil
		}
		s := tuples.Subject{Type: next.Type, ID: next.ID, Relation: r.Name}
		path = append(path, Step{Kind: StepTuple, Text: tupleText(cur, r.Name, s)})
		cur = next
	}
	var last []tuples.Subject
	if w.storable(r) {
		last = append(last, w.sub.Subject)
	}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		last = append(last, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard})
	}
	for _, s := range last {
		ok, err := w.has(cur, r.Name, s)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return append(path, Step{Kind: StepTuple, Text: tupleText(cur, r.Name, s)}), true, nil
		}
	}
	return nil, false, nil
}

// pointReads is how many candidate groups nextDown tries one by one
// before it scans the subject sets stored in the group instead.
const pointReads = 8

// nextDown finds a group at chain l among candidates (sorted) whose
// subject set obj stores: a point read per candidate when they are few,
// otherwise one scan of obj's subject sets, checked against the chain.
func (d *deriver) nextDown(obj tuples.Object, r *schema.Relation, m *memberships, candidates []tuples.Object, l int32) (tuples.Object, bool, error) {
	w := d.w
	if len(candidates) <= pointReads {
		for _, g := range candidates {
			ok, err := w.has(obj, r.Name, tuples.Subject{Type: g.Type, ID: g.ID, Relation: r.Name})
			if err != nil || ok {
				return g, ok, err
			}
		}
		return tuples.Object{}, false, nil
	}
	f := tuples.SubjectFilter{Sets: true, Type: r.Type.Name, Relation: r.Name}
	for x, err := range w.snap.Subjects(w.ctx, obj, r.Name, f) {
		if err != nil {
			return tuples.Object{}, false, fmt.Errorf("read %s#%s: %w", obj, r.Name, err)
		}
		g := tuples.Object{Type: x.Type, ID: x.ID}
		if cl, ok := m.chain[g.ID]; ok && cl == l {
			return g, true, nil
		}
	}
	return tuples.Object{}, false, nil
}
