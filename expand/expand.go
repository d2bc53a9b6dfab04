// Package expand builds the userset tree of Zanzibar's Expand: who holds a
// relation on an object, as union, intersection and exclusion nodes over
// leaves that are subjects or subject sets, each marked with where it came
// from.
package expand

import (
	"context"
	"errors"
	"fmt"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Kind is what a tree node is.
type Kind string

// Node kinds.
const (
	Union        Kind = "union"
	Intersection Kind = "intersection"
	Exclusion    Kind = "exclusion" // Children[0] minus Children[1]
	Leaf         Kind = "leaf"
	// Cycle is a subject set already being expanded on the way down to
	// this node: shown, not followed.
	Cycle Kind = "cycle"
)

// Node is one node of a userset tree.
type Node struct {
	Kind Kind `json:"kind"`
	// Label tells where the node came from: the relation (`case:1#viewer`,
	// `case:1#access_list`), the expression, or the path of an arrow
	// (`assignee.team#member`).
	Label string `json:"label,omitempty"`
	// Subject of a leaf or cycle node: an object, a wildcard or a subject set.
	Subject *tuples.Subject `json:"subject,omitempty"`
	// Children of an operator node; for a subject-set leaf expanded with
	// Options.Recursive, the one tree of that subject set.
	Children []*Node `json:"children,omitempty"`
	// Truncated marks a subject-set leaf left unexpanded because the depth
	// bound was reached: its members are not shown.
	Truncated bool `json:"truncated,omitempty"`
	// Condition, Context and Expires are what a leaf's tuple carries: the
	// condition its membership depends on, the stored part of the
	// condition's context (JSON), and when the tuple expires. Empty for a
	// plain tuple. A union node labelled with a tuple carries them too:
	// it is a hop of an arrow through that tuple, and what is below it
	// holds only while the tuple does. Expansion shows them; it does not
	// evaluate them.
	Condition string `json:"condition,omitempty"`
	Context   string `json:"context,omitempty"`
	Expires   string `json:"expires,omitempty"`
}

// Options tune Expand.
type Options struct {
	// Recursive expands subject-set leaves into their own trees, down to
	// Depth levels (0 = DefaultDepth). Without it subject sets are leaves.
	Recursive bool
	Depth     int
}

// DefaultDepth is the recursion bound when Options.Depth is 0.
const DefaultDepth = 50

// MaxNodes bounds the size of a tree; a larger one is refused rather than
// built, so that a recursive expansion of a wide graph cannot exhaust
// memory.
const MaxNodes = 200_000

// ErrTooLarge is returned when a tree would exceed MaxNodes.
var ErrTooLarge = errors.New("userset tree too large")

// Expand returns the userset tree of obj#relation at snap.
func Expand(ctx context.Context, snap tuples.Snapshot, obj tuples.Object, relation string, opts Options) (*Node, error) {
	fail := func(err error) (*Node, error) {
		return nil, fmt.Errorf("expand %s#%s: %w", obj, relation, err)
	}
	if snap == nil {
		return fail(errors.New("nil snapshot"))
	}
	sch := snap.Schema()
	if sch == nil {
		return fail(fmt.Errorf("at this revision: %w", errkind.ErrNoSchema))
	}
	t, err := sch.ResolveType(obj.Type)
	if err != nil {
		return fail(err)
	}
	if obj.ID == "" || obj.ID == tuples.Wildcard {
		return fail(errors.New("an object needs a concrete id"))
	}
	r, err := t.ResolveRelation(relation)
	if err != nil {
		return fail(err)
	}
	e := &expander{ctx: ctx, snap: snap, sch: sch, onPath: map[pair]bool{}}
	if opts.Recursive {
		e.depth = opts.Depth
		if e.depth <= 0 {
			e.depth = DefaultDepth
		}
	}
	n, err := e.relation(obj, r, 0)
	if err != nil {
		return fail(err)
	}
	return n, nil
}

type pair struct {
	obj tuples.Object
	rel int
}

type expander struct {
	ctx    context.Context
	snap   tuples.Snapshot
	sch    *schema.Schema
	depth  int
	nodes  int
	onPath map[pair]bool
}

func (e *expander) node(n *Node) (*Node, error) {
	e.nodes++
	if e.nodes > MaxNodes {
		return nil, fmt.Errorf("%w: more than %d nodes; expand with a smaller depth", ErrTooLarge, MaxNodes)
	}
	return n, nil
}

// relation expands obj#r; level counts the subject sets expanded above.
func (e *expander) relation(obj tuples.Object, r *schema.Relation, level int) (*Node, error) {
	label := obj.String() + "#" + r.Name
	k := pair{obj: obj, rel: r.ID}
	e.onPath[k] = true
	defer delete(e.onPath, k)
	if !r.Stored {
		return e.expr(obj, r.Rewrite, label, level)
	}
	if err := e.ctx.Err(); err != nil {
		return nil, err
	}
	n, err := e.node(&Node{Kind: Union, Label: label})
	if err != nil {
		return nil, err
	}
	if r.HasConditions() {
		// Read with the payloads, to show them on the leaves.
		for t, err := range e.snap.SubjectsOf(e.ctx, []tuples.Object{obj}, r.Name, tuples.SubjectFilter{}) {
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", label, err)
			}
			leaf, err := e.leaf(t.Subject(), label, level)
			if err != nil {
				return nil, err
			}
			leaf.Condition, leaf.Context = t.Payload.Condition, t.Payload.Context
			if !t.Payload.Expires.IsZero() {
				leaf.Expires = tuples.FormatExpiry(t.Payload.Expires)
			}
			n.Children = append(n.Children, leaf)
		}
		return n, nil
	}
	for s, err := range e.snap.Subjects(e.ctx, obj, r.Name, tuples.SubjectFilter{}) {
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", label, err)
		}
		leaf, err := e.leaf(s, label, level)
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, leaf)
	}
	return n, nil
}

// leaf makes the leaf for subject s, expanding it when it is a subject
// set and the options ask for it.
func (e *expander) leaf(s tuples.Subject, label string, level int) (*Node, error) {
	subj := s
	n, err := e.node(&Node{Kind: Leaf, Label: label, Subject: &subj})
	if err != nil || s.Relation == "" || e.depth == 0 {
		return n, err
	}
	sr := e.sch.Relation(s.Type, s.Relation)
	if sr == nil {
		return nil, fmt.Errorf("stored subject %s names a relation the schema does not have", s)
	}
	obj := tuples.Object{Type: s.Type, ID: s.ID}
	switch {
	case e.onPath[pair{obj: obj, rel: sr.ID}]:
		n.Kind = Cycle
	case level >= e.depth:
		n.Truncated = true
	default:
		sub, err := e.relation(obj, sr, level+1)
		if err != nil {
			return nil, err
		}
		n.Children = []*Node{sub}
	}
	return n, nil
}

func (e *expander) expr(obj tuples.Object, n schema.Node, label string, level int) (*Node, error) {
	if label == "" {
		label = schema.NodeString(n)
	}
	switch n := n.(type) {
	case *schema.Ref:
		return e.relation(obj, n.Relation, level)
	case *schema.Arrow:
		out, err := e.node(&Node{Kind: Union, Label: n.Text})
		if err != nil {
			return nil, err
		}
		err = e.arrow(obj, n, n.Text, level, func(c *Node) { out.Children = append(out.Children, c) })
		return out, err
	case *schema.Union:
		return e.operator(obj, Union, label, n.Children, level)
	case *schema.Intersect:
		return e.operator(obj, Intersection, label, n.Children, level)
	case *schema.Exclude:
		return e.operator(obj, Exclusion, label, []schema.Node{n.Base, n.Subtract}, level)
	}
	return nil, fmt.Errorf("unexpected expression node %T", n)
}

func (e *expander) operator(obj tuples.Object, kind Kind, label string, children []schema.Node, level int) (*Node, error) {
	out, err := e.node(&Node{Kind: kind, Label: label})
	if err != nil {
		return nil, err
	}
	for _, ch := range children {
		c, err := e.expr(obj, ch, "", level)
		if err != nil {
			return nil, err
		}
		out.Children = append(out.Children, c)
	}
	return out, nil
}

// arrow follows the hops of a path and adds one subject-set leaf per
// object reached at its end, labelled with the whole path.
func (e *expander) arrow(obj tuples.Object, a *schema.Arrow, label string, level int, add func(*Node)) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if a.Tupleset.HasConditions() {
		return e.arrowHolding(obj, a, label, level, add)
	}
	for x, err := range tuples.Hop(e.ctx, e.snap, obj, a.Tupleset) {
		if err != nil {
			return fmt.Errorf("read %s#%s: %w", obj, a.Tupleset.Name, err)
		}
		t := e.sch.Type(x.Type)
		if t == nil || x.ID == tuples.Wildcard || a.Then[t.ID] == nil {
			continue
		}
		if err := e.follow(tuples.Object{Type: x.Type, ID: x.ID}, a.Then[t.ID], label, level, add); err != nil {
			return err
		}
	}
	return nil
}

// arrowHolding is arrow for a tupleset whose tuples may carry a condition
// or an expiry. What a hop through such a tuple reaches holds only while
// the tuple does, so it is added under a union node labelled with the
// hop's tuple and carrying its payload, as a leaf carries its own; an
// object reached by a plain tuple is followed as arrow does, once.
func (e *expander) arrowHolding(obj tuples.Object, a *schema.Arrow, label string, level int, add func(*Node)) error {
	plain := map[tuples.Object]bool{}
	for t, err := range e.snap.SubjectsOf(e.ctx, []tuples.Object{obj}, a.Tupleset.Name, tuples.SubjectFilter{}) {
		if err != nil {
			return fmt.Errorf("read %s#%s: %w", obj, a.Tupleset.Name, err)
		}
		x := t.Subject()
		typ := e.sch.Type(x.Type)
		if typ == nil || x.ID == tuples.Wildcard || a.Then[typ.ID] == nil {
			continue
		}
		xo := tuples.Object{Type: x.Type, ID: x.ID}
		if t.Payload.IsZero() {
			if plain[xo] {
				continue
			}
			plain[xo] = true
			if err := e.follow(xo, a.Then[typ.ID], label, level, add); err != nil {
				return err
			}
			continue
		}
		hop, err := e.node(&Node{Kind: Union, Label: tuples.New(obj, a.Tupleset.Name, x).String(),
			Condition: t.Payload.Condition, Context: t.Payload.Context})
		if err != nil {
			return err
		}
		if !t.Payload.Expires.IsZero() {
			hop.Expires = tuples.FormatExpiry(t.Payload.Expires)
		}
		if err := e.follow(xo, a.Then[typ.ID], label, level, func(c *Node) { hop.Children = append(hop.Children, c) }); err != nil {
			return err
		}
		add(hop)
	}
	return nil
}

// follow adds what the rest of a path, th, reaches from xo.
func (e *expander) follow(xo tuples.Object, th schema.Node, label string, level int, add func(*Node)) error {
	switch th := th.(type) {
	case *schema.Arrow:
		return e.arrow(xo, th, label, level, add)
	case *schema.Ref:
		leaf, err := e.leaf(tuples.Subject{Type: xo.Type, ID: xo.ID, Relation: th.Relation.Name}, label, level)
		if err != nil {
			return err
		}
		add(leaf)
		return nil
	}
	return fmt.Errorf("unexpected path step %T in %s", th, label)
}
