package schema

import "fmt"

// reach is what can be a member of a relation or expression.
type reach struct {
	types, wildcards, sets IDSet
}

// or adds in to r and reports whether anything was added.
func (r *reach) or(in reach) bool {
	var a, b, d bool
	r.types, a = union(r.types, in.types)
	r.wildcards, b = union(r.wildcards, in.wildcards)
	r.sets, d = union(r.sets, in.sets)
	return a || b || d
}

func reachOfRelation(r *Relation) reach {
	return reach{types: r.ReachTypes, wildcards: r.ReachWildcard, sets: r.ReachSets}
}

// computeReach fills ReachTypes, ReachWildcard and ReachSets by iterating
// to the least fixpoint: membership only grows along unions, subject sets
// and arrows, so the iteration terminates. Relations are visited one
// strongly connected group of the "reads" graph at a time, the groups a
// relation reads before it, so only mutually recursive relations iterate
// and a long chain of subject sets is settled in one pass. Sets are
// sorted id lists, shared rather than copied where a relation adds
// nothing to what it reads, so memory follows what relations can reach,
// not the number of types times the number of relations.
func (c *compiler) computeReach() {
	reads := make([][]*Relation, len(c.s.Relations))
	for _, r := range c.s.Relations {
		self := IDSet{ids: []int32{int32(r.ID)}}
		if r.Stored {
			r.ReachTypes, _ = union(r.DirectTypes, r.WildcardTypes)
			r.ReachWildcard = r.WildcardTypes
			r.ReachSets = self
			reads[r.ID] = r.SubjectSets
			continue
		}
		r.ReachSets = self
		walk(r.Rewrite, func(n Node) bool {
			if ref, ok := n.(*Ref); ok {
				reads[r.ID] = append(reads[r.ID], ref.Relation)
			}
			return true
		})
	}
	for _, group := range components(c.s.Relations, reads) {
		for changed := true; changed; {
			changed = false
			for _, r := range group {
				if c.updateReach(r) {
					changed = true
				}
			}
			if len(group) == 1 && !readsItself(group[0], reads) {
				break
			}
		}
	}
	c.shareReach()
}

// shareReach makes relations whose reach is equal share one copy: the
// members of a cycle of subject sets (a ring of teams) all reach every
// member, and would each hold a copy of the same long list.
func (c *compiler) shareReach() {
	seen := map[string]IDSet{}
	key := make([]byte, 0, 64)
	for _, r := range c.s.Relations {
		if r.ReachSets.Len() < 8 {
			continue
		}
		key = key[:0]
		for _, id := range r.ReachSets.ids {
			key = append(key, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
		}
		if s, ok := seen[string(key)]; ok {
			r.ReachSets = s
		} else {
			seen[string(key)] = r.ReachSets
		}
	}
}

func readsItself(r *Relation, reads [][]*Relation) bool {
	for _, q := range reads[r.ID] {
		if q == r {
			return true
		}
	}
	return false
}

// updateReach adds to r's reach what the relations it reads reach now,
// and reports whether anything was added.
func (c *compiler) updateReach(r *Relation) bool {
	var in reach
	if r.Stored {
		for _, s := range r.SubjectSets {
			in.or(reachOfRelation(s))
		}
	} else {
		in = c.reachOf(r.Rewrite)
	}
	cur := reachOfRelation(r)
	changed := cur.or(in)
	r.ReachTypes, r.ReachWildcard, r.ReachSets = cur.types, cur.wildcards, cur.sets
	return changed
}

// components returns the strongly connected components of the graph
// r -> reads[r], each after every component it reads (Tarjan's algorithm,
// which emits them in that order).
func components(rels []*Relation, reads [][]*Relation) [][]*Relation {
	index := make([]int, len(rels)) // 0 = not visited; else visit order + 1
	low := make([]int, len(rels))
	onStack := make([]bool, len(rels))
	var stack []*Relation
	var out [][]*Relation
	next := 1
	var visit func(r *Relation)
	visit = func(r *Relation) {
		index[r.ID], low[r.ID] = next, next
		next++
		stack = append(stack, r)
		onStack[r.ID] = true
		for _, q := range reads[r.ID] {
			switch {
			case index[q.ID] == 0:
				visit(q)
				low[r.ID] = min(low[r.ID], low[q.ID])
			case onStack[q.ID]:
				low[r.ID] = min(low[r.ID], index[q.ID])
			}
		}
		if low[r.ID] != index[r.ID] {
			return
		}
		var group []*Relation
		for {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[q.ID] = false
			group = append(group, q)
			if q == r {
				break
			}
		}
		out = append(out, group)
	}
	for _, r := range rels {
		if index[r.ID] == 0 {
			visit(r)
		}
	}
	return out
}

func (c *compiler) reachOf(n Node) reach {
	var out reach
	switch n := n.(type) {
	case *Ref:
		return reachOfRelation(n.Relation)
	case *Arrow:
		for _, th := range n.Then {
			if th != nil {
				out.or(c.reachOf(th))
			}
		}
	case *Union:
		for _, ch := range n.Children {
			out.or(c.reachOf(ch))
		}
	case *Intersect:
		for i, ch := range n.Children {
			in := c.reachOf(ch)
			if i == 0 {
				out = in
				continue
			}
			out.types = intersect(out.types, in.types)
			out.wildcards = intersect(out.wildcards, in.wildcards)
			out.sets = intersect(out.sets, in.sets)
		}
	case *Exclude:
		return c.reachOf(n.Base)
	}
	return out
}

// computeReverse records, on every relation, the edges along which holding
// it can make another relation hold.
func (c *compiler) computeReverse() {
	for _, r := range c.s.Relations {
		if r.Stored {
			for _, s := range r.SubjectSets {
				s.Reverse = append(s.Reverse, Edge{Kind: EdgeSubjectSet, From: s, To: r})
			}
			continue
		}
		c.reverseOf(r, r.Rewrite, nil, false)
	}
}

// reverseOf adds the edges into to from the relations read by n. via holds
// the arrows' tuplesets passed on the way down, outermost first.
func (c *compiler) reverseOf(to *Relation, n Node, via []*Relation, conditional bool) {
	switch n := n.(type) {
	case *Ref:
		e := Edge{Kind: EdgeRewrite, From: n.Relation, To: to, Conditional: conditional}
		if len(via) > 0 {
			e.Kind = EdgeArrow
			// Walked backwards: the innermost hop first.
			e.Via = make([]*Relation, len(via))
			for i, v := range via {
				e.Via[len(via)-1-i] = v
			}
		}
		n.Relation.Reverse = append(n.Relation.Reverse, e)
	case *Arrow:
		inner := append(append([]*Relation(nil), via...), n.Tupleset)
		for _, th := range n.Then {
			if th != nil {
				c.reverseOf(to, th, inner, conditional)
			}
		}
	case *Union:
		for _, ch := range n.Children {
			c.reverseOf(to, ch, via, conditional)
		}
	case *Intersect:
		for _, ch := range n.Children {
			c.reverseOf(to, ch, via, true)
		}
	case *Exclude:
		// Only the base grants; the subtracted side can only take away.
		c.reverseOf(to, n.Base, via, true)
	}
}

// warnUnreachable warns about computed relations that no tuple can make
// true. A relation is live when a subject of some type can reach it, or a
// subject set of a live relation other than itself can: that every subject
// set includes itself makes no relation live on its own.
func (c *compiler) warnUnreachable() {
	live := make([]bool, len(c.s.Relations))
	for _, r := range c.s.Relations {
		live[r.ID] = r.Stored || r.ReachTypes.Len() > 0
	}
	for changed := true; changed; {
		changed = false
		for _, r := range c.s.Relations {
			if live[r.ID] {
				continue
			}
			for id := range r.ReachSets.All() {
				if id != r.ID && live[id] {
					live[r.ID], changed = true, true
					break
				}
			}
		}
	}
	for _, r := range c.s.Relations {
		if live[r.ID] {
			continue
		}
		hint := "it reads only relations that can never be true"
		if hasIntersect(r.Rewrite) {
			hint = "the sides of its `&` share no subject type"
		}
		d := c.decls[r]
		c.s.Warnings = append(c.s.Warnings, Diagnostic{
			Pos: posOf(d.Name.Pos), Severity: Warning,
			Msg:  fmt.Sprintf("relation `%s` on type `%s` can never be true: no subject can reach it", r.Name, r.Type.Name) + c.inPartial(r),
			Hint: hint,
		})
	}
}

// hasIntersect reports whether n has an intersection outside any arrow,
// that is in the relation's own expression.
func hasIntersect(n Node) bool {
	found := false
	walk(n, func(n Node) bool {
		_, isAnd := n.(*Intersect)
		found = found || isAnd
		_, isArrow := n.(*Arrow)
		return !isArrow
	})
	return found
}
