// Package groupindex keeps a membership index of one nesting relation, a
// stored relation whose subject sets are of itself, such as
// `team#member: user | team#member`, after Zanzibar's Leopard: for each
// group, the groups transitively inside it with the length of the
// shortest chain of subject sets to each (GROUP2GROUP), and for each
// subject, the groups that store it directly (MEMBER2GROUP). "Is u in
// group T" is then a read of u's direct groups and one lookup per group
// in T's row, however deep and wide the groups nest.
//
// The index is maintained from batches of tuple changes: a change of
// membership touches one entry; a change of nesting recomputes the rows
// of the groups above it, and only those. A group whose row would hold
// more than Bound groups keeps no row and is reported by Member as not
// indexed (the caller walks the tuples instead) and counted in Stats.
//
// Membership is reachability, as for a walk over the tuples: a cycle of
// groups adds no member, since a subject is in a group only through a
// chain that ends at a group storing it.
package groupindex

import (
	"github.com/docketdb/docket/tuples"
)

// DefaultBound is the largest row a group keeps when Options.Bound is 0.
const DefaultBound = 10_000

// Options tune an Index.
type Options struct {
	// Bound is the most groups one group's row may hold; a group with
	// more is left to the walk. 0 means DefaultBound.
	Bound int
}

// Index is the membership index of relation Relation on type Type.
type Index struct {
	typ, rel string
	bound    int

	// children[p] and parents[c] are the stored edges: p#rel holds the
	// subject set c#rel.
	children map[string]map[string]struct{}
	parents  map[string]map[string]struct{}
	// rows[p] maps every group reachable from p by one edge or more to
	// the length of the shortest such chain (GROUP2GROUP). A group with
	// no row and no overflow has no group inside it.
	rows map[string]map[string]int32
	// overflow holds the groups whose row is above the bound.
	overflow map[string]struct{}
	// direct[s] is the set of groups storing subject s (MEMBER2GROUP).
	direct map[tuples.Subject]map[string]struct{}
}

// New returns an empty index of nesting relation typ#rel.
func New(typ, rel string, o Options) *Index {
	if o.Bound <= 0 {
		o.Bound = DefaultBound
	}
	return &Index{
		typ: typ, rel: rel, bound: o.Bound,
		children: make(map[string]map[string]struct{}),
		parents:  make(map[string]map[string]struct{}),
		rows:     make(map[string]map[string]int32),
		overflow: make(map[string]struct{}),
		direct:   make(map[tuples.Subject]map[string]struct{}),
	}
}

// Stats describe an index's size.
type Stats struct {
	// Groups counts the groups with a row; Entries the entries of all
	// rows; Members the direct (subject, group) pairs.
	Groups, Entries, Members int
	// Overflowed counts the groups above the bound, left to the walk.
	Overflowed int
}

// Stats reports the index's size.
func (x *Index) Stats() Stats {
	s := Stats{Groups: len(x.rows), Overflowed: len(x.overflow)}
	for _, r := range x.rows {
		s.Entries += len(r)
	}
	for _, gs := range x.direct {
		s.Members += len(gs)
	}
	return s
}

// Apply folds a batch of changes, in order, into the index; changes of
// other relations are ignored. It reports how many rows it recomputed:
// the write amplification of the batch.
func (x *Index) Apply(changes []tuples.Change) int {
	// The rows that can change are those of the groups above a changed
	// edge, before the batch and after it.
	var tops []string
	for _, c := range changes {
		t := c.Tuple
		if t.ObjectType != x.typ || t.Relation != x.rel {
			continue
		}
		if x.isEdge(t) {
			tops = append(tops, t.ObjectID)
		}
	}
	affected := x.above(tops)
	for _, c := range changes {
		t := c.Tuple
		if t.ObjectType != x.typ || t.Relation != x.rel {
			continue
		}
		write := c.Kind == tuples.ChangeWrite
		switch {
		case x.isEdge(t):
			link(x.children, t.ObjectID, t.SubjectID, write)
			link(x.parents, t.SubjectID, t.ObjectID, write)
		case t.SubjectRelation == "":
			link(x.direct, t.Subject(), t.ObjectID, write)
		}
	}
	for g := range x.above(tops) {
		affected[g] = struct{}{}
	}
	for g := range affected {
		x.recompute(g)
	}
	return len(affected)
}

func (x *Index) isEdge(t tuples.Tuple) bool {
	return t.SubjectType == x.typ && t.SubjectRelation == x.rel
}

// link adds (or removes) b in m[a], dropping empty sets.
func link[K comparable](m map[K]map[string]struct{}, a K, b string, add bool) {
	if add {
		s := m[a]
		if s == nil {
			s = make(map[string]struct{})
			m[a] = s
		}
		s[b] = struct{}{}
		return
	}
	if s := m[a]; s != nil {
		delete(s, b)
		if len(s) == 0 {
			delete(m, a)
		}
	}
}

// above returns the groups gs and every group above them.
func (x *Index) above(gs []string) map[string]struct{} {
	seen := make(map[string]struct{}, len(gs))
	queue := append([]string(nil), gs...)
	for _, g := range gs {
		seen[g] = struct{}{}
	}
	for len(queue) > 0 {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for p := range x.parents[g] {
			if _, ok := seen[p]; !ok {
				seen[p] = struct{}{}
				queue = append(queue, p)
			}
		}
	}
	return seen
}

// recompute rebuilds g's row breadth first, so each entry is the length
// of the shortest chain.
func (x *Index) recompute(g string) {
	delete(x.rows, g)
	delete(x.overflow, g)
	if len(x.children[g]) == 0 {
		return
	}
	row := make(map[string]int32)
	frontier := []string{g}
	for depth := int32(1); len(frontier) > 0; depth++ {
		var next []string
		for _, p := range frontier {
			for c := range x.children[p] {
				if _, ok := row[c]; ok {
					continue
				}
				row[c] = depth
				if len(row) > x.bound {
					x.overflow[g] = struct{}{}
					return
				}
				next = append(next, c)
			}
		}
		frontier = next
	}
	x.rows[g] = row
}

// Member reports whether subject s is in group g: chain is the length of
// the shortest chain of subject sets from g to a group storing s (0 when
// g stores it). A plain subject is also in the groups storing its type's
// wildcard when wildcard is set (the relation allows it). A subject set
// g2#rel is in g when g reaches g2 through one edge or more (chain 0 for
// an edge of g itself); a subject set is always in itself, which is the
// caller's rule, not the index's. indexed is false when g is above the
// bound: the answer is then the walk's to give.
func (x *Index) Member(g string, s tuples.Subject, wildcard bool) (chain int, found, indexed bool) {
	if _, over := x.overflow[g]; over {
		return 0, false, false
	}
	row := x.rows[g]
	if s.Relation != "" {
		if s.Type != x.typ || s.Relation != x.rel {
			return 0, false, true
		}
		if l, ok := row[s.ID]; ok {
			return int(l) - 1, true, true
		}
		return 0, false, true
	}
	best := -1
	consider := func(s tuples.Subject) {
		for h := range x.direct[s] {
			l := -1
			if h == g {
				l = 0
			} else if d, ok := row[h]; ok {
				l = int(d)
			}
			if l >= 0 && (best < 0 || l < best) {
				best = l
			}
		}
	}
	consider(s)
	if wildcard && s.ID != tuples.Wildcard {
		consider(tuples.Subject{Type: s.Type, ID: tuples.Wildcard})
	}
	if best < 0 {
		return 0, false, true
	}
	return best, true, true
}

// Path returns a shortest chain of groups from g to a group storing s,
// g first, read from the stored edges; nil when s is not in g or g is not
// indexed. It is what an explanation names.
func (x *Index) Path(g string, s tuples.Subject, wildcard bool) []string {
	chain, found, indexed := x.Member(g, s, wildcard)
	if !found || !indexed {
		return nil
	}
	// Walk down the edges, always to a child one step closer.
	target := func(h string) bool {
		if s.Relation != "" {
			_, ok := x.children[h][s.ID]
			return ok
		}
		if _, ok := x.direct[s][h]; ok {
			return true
		}
		if wildcard {
			_, ok := x.direct[tuples.Subject{Type: s.Type, ID: tuples.Wildcard}][h]
			return ok
		}
		return false
	}
	path := []string{g}
	for cur := g; chain > 0; chain-- {
		next := ""
		for c := range x.children[cur] {
			if l, ok, _ := x.Member(c, s, wildcard); ok && l == chain-1 {
				next = c
				break
			}
		}
		if next == "" {
			return nil
		}
		path = append(path, next)
		cur = next
	}
	if !target(path[len(path)-1]) {
		return nil
	}
	return path
}
