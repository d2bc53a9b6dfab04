package check

import (
	"strconv"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// A lookup learns more than a list of candidates: a member reached along
// unions, arrows and subject sets alone is a member for certain (a chain
// of stored tuples proves it, whatever the other operands say), and a
// member reached that way through the base of the target's top-level
// exclusions holds the target exactly when every subtracted side refuses
// it. Both lookups use this to skip the forward check of such members, or
// to replace it with a test of the subtracted sides only.

// Membership proven for a pair met by a lookup walk, weakest first.
const (
	// reachCandidate: reached through an intersection or an exclusion
	// somewhere; only a check can tell.
	reachCandidate uint8 = iota + 1
	// reachGuarded: in the base of the target's top-level exclusions for
	// certain; a member exactly when every subtracted side refuses it.
	reachGuarded
	// reachProven: a member for certain.
	reachProven
)

// guard is the top of a target relation seen as base - s1 - s2 ...: the
// exclusions that decide membership once the base is known to hold.
type guard struct {
	// base is what remains of the rewrite below the top-level exclusions;
	// nil when the target is stored or its rewrite has none at the top.
	base schema.Node
	// subtracts are the plans of the subtracted sides, outermost first.
	subtracts []*op
}

// guardOf peels the exclusions at the top of r's rewrite. A union or an
// intersection above an exclusion stops the peeling: there a subtracted
// side holding no longer decides the relation on its own.
func guardOf(p *plan, r *schema.Relation) guard {
	if r.Stored {
		return guard{}
	}
	var g guard
	n := r.Rewrite
	for {
		ex, ok := n.(*schema.Exclude)
		if !ok {
			break
		}
		g.subtracts = append(g.subtracts, p.op(ex.Subtract))
		n = ex.Base
	}
	if len(g.subtracts) > 0 {
		g.base = n
	}
	return g
}

// usable reports whether there is a guard and every subtracted side has
// a plan; a missing plan (never the case for a compiled schema) disables
// the shortcut rather than failing the lookup.
func (g guard) usable() bool {
	if g.base == nil {
		return false
	}
	for _, s := range g.subtracts {
		if s == nil {
			return false
		}
	}
	return true
}

// edgeShape names a reverse edge by what it reads and the path it
// follows, so that an occurrence found in an expression can be matched
// with the compiled schema's edges.
type edgeShape struct {
	from *schema.Relation
	via  string
}

func shapeOf(from *schema.Relation, via []*schema.Relation) edgeShape {
	var b strings.Builder
	for _, v := range via {
		b.WriteString(strconv.Itoa(v.ID))
		b.WriteByte('/')
	}
	return edgeShape{from: from, via: b.String()}
}

// unconditionalShapes lists the references in n that hold n whenever they
// hold: those under unions and arrows only. via is the arrows' tuplesets
// walked so far, outermost first; shapes record them innermost first, as
// schema.Edge.Via does.
func unconditionalShapes(n schema.Node, via []*schema.Relation, out map[edgeShape]bool) {
	switch n := n.(type) {
	case *schema.Ref:
		rev := make([]*schema.Relation, len(via))
		for i, v := range via {
			rev[len(via)-1-i] = v
		}
		out[shapeOf(n.Relation, rev)] = true
	case *schema.Arrow:
		inner := append(append([]*schema.Relation(nil), via...), n.Tupleset)
		for _, th := range n.Then {
			if th != nil {
				unconditionalShapes(th, inner, out)
			}
		}
	case *schema.Union:
		for _, ch := range n.Children {
			unconditionalShapes(ch, via, out)
		}
	}
}

// decide evaluates one planned expression on obj for the walker's
// subject, from outside any walk: a reference goes through top, and so
// through the cross-query cache when the walker has one; any other node
// is evaluated in place, with the loop accounting reset afterwards, as
// nothing is on the stack to carry it to.
func (w *walker) decide(obj tuples.Object, o *op) (tri, error) {
	if o.kind == opRef {
		return w.top(obj, o.rel)
	}
	w.low, w.paradox = noLow, false
	v, err := w.eval(obj, o)
	w.low, w.paradox = noLow, false
	return v, err
}

// unconditionalClosure reports whether membership in n is settled by
// stored tuples alone: no intersection or exclusion in n, nor in any
// relation n reads, directly or through subject sets and arrows. A walk
// over such an expression finds exactly its members.
func unconditionalClosure(n schema.Node) bool {
	seen := map[*schema.Relation]bool{}
	var node func(n schema.Node) bool
	var rel func(r *schema.Relation) bool
	rel = func(r *schema.Relation) bool {
		if seen[r] {
			return true
		}
		seen[r] = true
		if r.Stored {
			for _, s := range r.SubjectSets {
				if !rel(s) {
					return false
				}
			}
			return true
		}
		return node(r.Rewrite)
	}
	node = func(n schema.Node) bool {
		switch n := n.(type) {
		case *schema.Ref:
			return rel(n.Relation)
		case *schema.Arrow:
			for _, th := range n.Then {
				if th != nil && !node(th) {
					return false
				}
			}
			return true
		case *schema.Union:
			for _, ch := range n.Children {
				if !node(ch) {
					return false
				}
			}
			return true
		}
		return false
	}
	return node(n)
}
