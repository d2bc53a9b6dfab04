package groupindex

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// naive holds the stored tuples of team#member and answers membership by
// a breadth-first walk over them, from scratch, every time.
type naive struct {
	tuples map[tuples.Tuple]bool
	// children is the edge list, rebuilt after every batch.
	children map[string][]string
}

func (n *naive) apply(cs []tuples.Change) {
	for _, c := range cs {
		n.tuples[c.Tuple] = c.Kind == tuples.ChangeWrite
	}
	n.children = map[string][]string{}
	for t, ok := range n.tuples {
		if ok && t.SubjectRelation == "member" {
			n.children[t.ObjectID] = append(n.children[t.ObjectID], t.SubjectID)
		}
	}
}

// member: the shortest chain from g to a group storing s, or, for a
// subject set, to a group storing it; -1 when there is none. size is the
// number of groups reachable from g by one edge or more.
func (n *naive) member(g string, s tuples.Subject, wildcard bool) (chain, size int) {
	stores := func(h string, s tuples.Subject) bool {
		return n.tuples[tuples.Tuple{ObjectType: "team", ObjectID: h, Relation: "member",
			SubjectType: s.Type, SubjectID: s.ID, SubjectRelation: s.Relation}]
	}
	holds := func(h string) bool {
		return stores(h, s) || wildcard && s.Relation == "" && s.ID != tuples.Wildcard && stores(h, tuples.Subject{Type: s.Type, ID: tuples.Wildcard})
	}
	children := n.children
	chain = -1
	dist := map[string]int{g: 0}
	frontier := []string{g}
	reached := map[string]bool{}
	for d := 0; len(frontier) > 0; d++ {
		var next []string
		for _, h := range frontier {
			if chain < 0 && holds(h) {
				chain = d
			}
			for _, c := range children[h] {
				reached[c] = true
				if _, seen := dist[c]; !seen {
					dist[c] = d + 1
					next = append(next, c)
				}
			}
		}
		frontier = next
	}
	return chain, len(reached)
}

func edge(p, c string) tuples.Tuple {
	return tuples.Tuple{ObjectType: "team", ObjectID: p, Relation: "member", SubjectType: "team", SubjectID: c, SubjectRelation: "member"}
}

func member(g, u string) tuples.Tuple {
	return tuples.Tuple{ObjectType: "team", ObjectID: g, Relation: "member", SubjectType: "user", SubjectID: u}
}

// TestAgainstNaive applies random batches (nesting with cycles, self
// loops and long chains, members, wildcards, deletes, moves) and compares
// every (group, subject) with the naive walk after each batch.
func TestAgainstNaive(t *testing.T) {
	compared := 0
	for seed := range seeds(100) {
		rng := rand.New(rand.NewPCG(15, uint64(seed)))
		ng := 2 + rng.IntN(14)
		bound := []int{3, 8, 1000}[seed%3]
		x := New("team", "member", Options{Bound: bound})
		ref := &naive{tuples: map[tuples.Tuple]bool{}}
		groups := make([]string, ng)
		for i := range groups {
			groups[i] = fmt.Sprintf("g%d", i)
		}
		users := []string{"u0", "u1", "u2", "*"}
		g := func() string { return groups[rng.IntN(ng)] }
		for batch := range 12 {
			var cs []tuples.Change
			for range 1 + rng.IntN(8) {
				kind := tuples.ChangeWrite
				if rng.IntN(3) == 0 {
					kind = tuples.ChangeDelete
				}
				var tp tuples.Tuple
				switch r := rng.IntN(10); {
				case r < 5:
					tp = edge(g(), g())
				case r == 5 && batch%4 == 0:
					// A chain through every group.
					for i := 1; i < ng; i++ {
						cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: edge(groups[i-1], groups[i])})
					}
					continue
				default:
					tp = member(g(), users[rng.IntN(len(users))])
				}
				cs = append(cs, tuples.Change{Kind: kind, Tuple: tp})
			}
			// Changes of other relations are ignored.
			cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: tuples.Tuple{ObjectType: "team", ObjectID: "g0", Relation: "lead", SubjectType: "user", SubjectID: "u0"}})
			x.Apply(cs)
			ref.apply(cs)
			for _, grp := range groups {
				var subjects []tuples.Subject
				for _, u := range users {
					subjects = append(subjects, tuples.Subject{Type: "user", ID: u})
				}
				for _, h := range groups {
					subjects = append(subjects, tuples.Subject{Type: "team", ID: h, Relation: "member"})
				}
				for _, s := range subjects {
					for _, wild := range []bool{false, true} {
						want, size := ref.member(grp, s, wild)
						chain, found, indexed := x.Member(grp, s, wild)
						compared++
						if size > bound {
							if indexed {
								t.Fatalf("seed %d batch %d: %s reaches %d groups, above the bound %d, but is indexed", seed, batch, grp, size, bound)
							}
							continue
						}
						if !indexed {
							t.Fatalf("seed %d batch %d: %s (%d groups, bound %d) not indexed", seed, batch, grp, size, bound)
						}
						if found != (want >= 0) || found && chain != want {
							t.Fatalf("seed %d batch %d: member(%s, %s, wildcard %v) = %d %v, naive %d", seed, batch, grp, s, wild, chain, found, want)
						}
						if found {
							p := x.Path(grp, s, wild)
							if len(p) != want+1 || p[0] != grp {
								t.Fatalf("seed %d batch %d: path(%s, %s) = %v, want %d groups", seed, batch, grp, s, p, want+1)
							}
							for i := 1; i < len(p); i++ {
								if !ref.tuples[edge(p[i-1], p[i])] {
									t.Fatalf("seed %d batch %d: path %v uses %s, which is not stored", seed, batch, p, edge(p[i-1], p[i]))
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d (group, subject) answers compared with a naive walk after every batch", compared)
}

// TestCyclesAddNoMember: a loop of groups holds only what its groups
// store.
func TestCyclesAddNoMember(t *testing.T) {
	x := New("team", "member", Options{})
	x.Apply([]tuples.Change{
		{Kind: tuples.ChangeWrite, Tuple: edge("a", "b")},
		{Kind: tuples.ChangeWrite, Tuple: edge("b", "c")},
		{Kind: tuples.ChangeWrite, Tuple: edge("c", "a")},
		{Kind: tuples.ChangeWrite, Tuple: member("b", "bob")},
	})
	for _, g := range []string{"a", "b", "c"} {
		if _, found, _ := x.Member(g, tuples.Subject{Type: "user", ID: "bob"}, false); !found {
			t.Errorf("bob not in %s", g)
		}
		if _, found, _ := x.Member(g, tuples.Subject{Type: "user", ID: "eve"}, false); found {
			t.Errorf("eve in %s through the loop", g)
		}
	}
	if l, _, _ := x.Member("c", tuples.Subject{Type: "user", ID: "bob"}, false); l != 2 {
		t.Errorf("bob in c at chain %d, want 2 (c, a, b)", l)
	}
}

// TestWriteAmplification measures the rows recomputed by the changes the
// design names: a member added to the root of a 300-team tree, a subtree
// moved, a team with members deleted, a team inside 10,000 teams, and a
// 40-deep chain.
func TestWriteAmplification(t *testing.T) {
	x := New("team", "member", Options{})
	var cs []tuples.Change
	// A tree of 300 teams, fan-out 7, with a member in each.
	for i := 1; i < 300; i++ {
		cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: edge(fmt.Sprint("t", (i-1)/7), fmt.Sprint("t", i))})
	}
	for i := range 300 {
		cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: member(fmt.Sprint("t", i), fmt.Sprint("u", i))})
	}
	x.Apply(cs)
	if n := x.Apply([]tuples.Change{{Kind: tuples.ChangeWrite, Tuple: member("t0", "boss")}}); n != 0 {
		t.Errorf("a member added to the root recomputed %d rows, want 0", n)
	}
	// Move the subtree of t1 from t0 to t2: t2's ancestors and t0.
	n := x.Apply([]tuples.Change{
		{Kind: tuples.ChangeDelete, Tuple: edge("t0", "t1")},
		{Kind: tuples.ChangeWrite, Tuple: edge("t2", "t1")},
	})
	if n != 2 {
		t.Errorf("moving a subtree recomputed %d rows, want 2 (t0, t2)", n)
	}
	if l, found, _ := x.Member("t0", tuples.Subject{Type: "user", ID: "u8"}, false); !found || l != 3 {
		t.Errorf("u8 (in t8 under t1) in t0 at %d %v after the move, want chain 3 (t0, t2, t1, t8)", l, found)
	}
	// Delete team t8 and its member.
	n = x.Apply([]tuples.Change{
		{Kind: tuples.ChangeDelete, Tuple: edge("t1", "t8")},
		{Kind: tuples.ChangeDelete, Tuple: member("t8", "u8")},
	})
	if n != 3 {
		t.Errorf("deleting a team recomputed %d rows, want 3 (t1, and t2 and t0 above it)", n)
	}
	if _, found, _ := x.Member("t0", tuples.Subject{Type: "user", ID: "u8"}, false); found {
		t.Error("u8 still in t0 after its team was deleted")
	}

	// A team inside 10,000 teams: 10,000 small rows, each indexed.
	y := New("team", "member", Options{Bound: 1000})
	cs = cs[:0]
	for i := range 10_000 {
		cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: edge(fmt.Sprint("p", i), "inner")})
	}
	cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: member("inner", "ann")})
	if n := y.Apply(cs); n != 10_000 {
		t.Errorf("10,000 parents: %d rows computed", n)
	}
	if n := y.Apply([]tuples.Change{{Kind: tuples.ChangeWrite, Tuple: member("inner", "bob")}}); n != 0 {
		t.Errorf("a member of the inner team recomputed %d rows", n)
	}
	if _, found, indexed := y.Member("p9999", tuples.Subject{Type: "user", ID: "bob"}, false); !found || !indexed {
		t.Error("bob not in p9999")
	}
	if s := y.Stats(); s.Entries != 10_000 || s.Overflowed != 0 {
		t.Errorf("stats %+v, want 10,000 entries", s)
	}

	// A 40-deep chain under a bound of 30: the top ten groups are left
	// to the walk, and say so.
	z := New("team", "member", Options{Bound: 30})
	cs = cs[:0]
	for i := range 40 {
		cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: edge(fmt.Sprint("c", i), fmt.Sprint("c", i+1))})
	}
	cs = append(cs, tuples.Change{Kind: tuples.ChangeWrite, Tuple: member("c40", "deep")})
	z.Apply(cs)
	if s := z.Stats(); s.Overflowed != 10 || s.Groups != 30 {
		t.Errorf("40-deep chain, bound 30: stats %+v, want 10 overflowed and 30 rows", s)
	}
	if _, _, indexed := z.Member("c0", tuples.Subject{Type: "user", ID: "deep"}, false); indexed {
		t.Error("c0, above the bound, answered from the index")
	}
	if l, found, indexed := z.Member("c10", tuples.Subject{Type: "user", ID: "deep"}, false); !found || !indexed || l != 30 {
		t.Errorf("c10: chain %d %v %v, want 30", l, found, indexed)
	}
}

// seeds is n, or a tenth of it under -short.
func seeds(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}
