package check

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/docketdb/docket/schema"
)

// A plan is a schema's expressions laid out for the walker: every
// operand list in the order that reaches an answer with the fewest reads,
// cheapest first. The order is read off the compiled schema once, not
// worked out again for every query.
//
// The order never changes an answer: union, intersection and exclusion
// are commutative in Kleene's three-valued logic, and the walker's loop
// accounting ignores operands whose answers turned out not to matter (see
// walker.eval), so a query gets the same three-valued answer in any
// order. What the order changes is which operands are skipped once the
// answer is known.
type plan struct {
	// sch is the schema planned, to tell plans apart.
	sch *schema.Schema
	// rels[r.ID] is the plan of computed relation r's rewrite; nil for a
	// stored relation.
	rels []*op
	// ops finds the plan of a compiled node, for explanations, which walk
	// the compiled expressions.
	ops map[schema.Node]*op
	// several[r.ID]: computed relation r's plan reads two stored
	// relations of the object or more (objects.go).
	several []bool
	// conds: some relation's tuples may carry conditions or expiries;
	// condForms: some carry conditions, so answers may depend on the
	// request's context.
	conds, condForms bool
}

type opKind uint8

const (
	opRef opKind = iota
	opArrow
	opUnion
	opIntersect
	opExclude
)

// op is one node of a plan.
type op struct {
	kind opKind
	// src is the compiled node planned, for explanations.
	src schema.Node
	// rel is the relation read (opRef) or the tupleset followed (opArrow).
	rel *schema.Relation
	// arrow is src of an opArrow, typed for the reachability precheck.
	arrow *schema.Arrow
	// then[t.ID] is evaluated on each object of type t an arrow reaches.
	then []*op
	// args are a union's or intersection's operands, cheapest first.
	args []*op
	// base and subtract are an exclusion's two sides; subtractFirst says
	// the subtracted side is the cheaper one and is evaluated first.
	base, subtract *op
	subtractFirst  bool
	// cost estimates the reads the node takes when every operand has to
	// be evaluated.
	cost float64
}

// Cost model. The unit is one store read. A stored set or an arrow is
// assumed to hold fanOut objects; a relation that can reach itself costs
// recursive at the point where it loops, since how deep it goes depends
// on the data, not the schema. The figures only need to order operands.
const (
	fanOut    = 4
	recursive = 1e6
	maxCost   = 1e18
)

// planOrder says how a plan orders operands. Checkers order them by
// cost; the other orders exist so that tests can run the same queries
// under each and show that the order never changes an answer.
type planOrder uint8

const (
	orderByCost   planOrder = iota
	orderWritten            // as written, every base before its subtracted side
	orderReversed           // reversed, every subtracted side before its base
)

// newPlan lays out sch's expressions. It runs once per schema.
func newPlan(sch *schema.Schema, order planOrder) *plan {
	b := planner{
		order:    order,
		p:        &plan{sch: sch, rels: make([]*op, len(sch.Relations)), ops: map[schema.Node]*op{}},
		relCost:  make([]float64, len(sch.Relations)),
		relState: make([]uint8, len(sch.Relations)),
	}
	for _, r := range sch.Relations {
		b.relation(r)
	}
	b.p.several = severalRelations(sch, b.p.rels)
	b.p.conds = hasConditions(sch)
	b.p.condForms = hasConditionForms(sch)
	return b.p
}

// planner holds the state of one newPlan.
type planner struct {
	order    planOrder
	p        *plan
	relCost  []float64
	relState []uint8 // stateNew, stateOpen or stateDone, by relation ID
}

const (
	stateNew uint8 = iota
	stateOpen
	stateDone
)

// relation returns the estimated cost of deciding r, planning its
// rewrite on the way.
func (b *planner) relation(r *schema.Relation) float64 {
	switch b.relState[r.ID] {
	case stateOpen:
		return recursive
	case stateDone:
		return b.relCost[r.ID]
	}
	b.relState[r.ID] = stateOpen
	var c float64
	if r.Stored {
		// The subject's own tuple where the relation can hold it, its
		// type's wildcard where it can hold that, then each subject set:
		// one scan and a walk of each set found.
		if r.DirectTypes.Len() > 0 || len(r.SubjectSets) > 0 {
			c++
		}
		if r.WildcardTypes.Len() > 0 {
			c++
		}
		for _, set := range r.SubjectSets {
			c += 1 + fanOut*b.relation(set)
		}
	} else {
		o := b.node(r.Rewrite)
		b.p.rels[r.ID] = o
		c = o.cost
	}
	c = min(c, maxCost)
	b.relCost[r.ID], b.relState[r.ID] = c, stateDone
	return c
}

func (b *planner) node(n schema.Node) *op {
	if o, ok := b.p.ops[n]; ok {
		return o
	}
	var o *op
	switch n := n.(type) {
	case *schema.Ref:
		o = &op{kind: opRef, rel: n.Relation, cost: b.relation(n.Relation)}
	case *schema.Arrow:
		o = &op{kind: opArrow, rel: n.Tupleset, arrow: n, then: make([]*op, len(n.Then))}
		var worst float64
		for i, th := range n.Then {
			if th != nil {
				o.then[i] = b.node(th)
				worst = max(worst, o.then[i].cost)
			}
		}
		o.cost = 1 + fanOut*worst
	case *schema.Union:
		o = b.junction(opUnion, n.Children)
	case *schema.Intersect:
		o = b.junction(opIntersect, n.Children)
	case *schema.Exclude:
		o = &op{kind: opExclude, base: b.node(n.Base), subtract: b.node(n.Subtract)}
		switch b.order {
		case orderByCost:
			o.subtractFirst = o.subtract.cost < o.base.cost
		case orderReversed:
			o.subtractFirst = true
		}
		o.cost = o.base.cost + o.subtract.cost
	default:
		// The compiler produces no other node; a plan that cannot
		// evaluate it fails the walk with a clear error instead.
		o = &op{kind: opKind(255)}
	}
	o.src = n
	o.cost = min(o.cost, maxCost)
	b.p.ops[n] = o
	return o
}

// junction plans a union or an intersection: either stops at the first
// operand that decides it, so the cheapest go first. The sort is stable,
// so operands of equal cost keep the order they were written in.
func (b *planner) junction(kind opKind, children []schema.Node) *op {
	o := &op{kind: kind, args: make([]*op, len(children))}
	for i, ch := range children {
		o.args[i] = b.node(ch)
		o.cost += o.args[i].cost
	}
	switch b.order {
	case orderByCost:
		slices.SortStableFunc(o.args, func(x, y *op) int { return cmp.Compare(x.cost, y.cost) })
	case orderReversed:
		slices.Reverse(o.args)
	}
	return o
}

// op returns the plan of a compiled node of p's schema.
func (p *plan) op(n schema.Node) *op { return p.ops[n] }

// maxPlans bounds how many schemas' plans a Checker keeps; a checker
// serving more stores than that recomputes them, which is cheap.
const maxPlans = 8

// plans keeps the plans of the schemas a Checker has seen. Nearly every
// query uses the same schema as the one before, so that one is found
// without a lock.
type plans struct {
	order planOrder
	last  atomic.Pointer[plan]
	mu    sync.Mutex
	m     map[*schema.Schema]*plan
}

func (ps *plans) get(sch *schema.Schema) *plan {
	if p := ps.last.Load(); p != nil && p.sch == sch {
		return p
	}
	ps.mu.Lock()
	p := ps.m[sch]
	if p == nil {
		if ps.m == nil || len(ps.m) >= maxPlans {
			ps.m = make(map[*schema.Schema]*plan)
		}
		p = newPlan(sch, ps.order)
		ps.m[sch] = p
	}
	ps.mu.Unlock()
	ps.last.Store(p)
	return p
}
