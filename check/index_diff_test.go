package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// The membership index (tuples.GroupIndex, kept by the stores) against the
// reference evaluator and against the checker without it: random nested
// teams with cycles, self-loops and deep chains, exclusions and
// intersections over the nesting relation, wildcards and subject sets as
// subjects, written in several revisions (writes, deletes, imports), each
// revision checked through its own snapshot.

const nestedIndexSchema = `type user

type team {
  relation member: user | user:* | team#member
  relation banned: user | team#member
  relation ok = member - banned
  relation both = member & banned
}

type doc {
  relation owner: team
  relation viewer: user | team#member
  relation deny: user | team#member
  relation view = viewer - deny | owner#ok
  relation strict = viewer & owner#member
}
`

// nestedIndexTuple draws one tuple over teams t0..t{teams-1} and, for
// deep chains, c0..c{chain-1} (c{i} holds c{i+1}, the last holds a user).
func nestedIndexTuple(rng *rand.Rand, teams int) tuples.Tuple {
	team := func() string { return fmt.Sprintf("t%d", rng.IntN(teams)) }
	user := func() string { return fmt.Sprintf("u%d", rng.IntN(4)) }
	t := tuples.Tuple{ObjectType: "team", ObjectID: team(), Relation: "member", SubjectType: "team", SubjectID: team(), SubjectRelation: "member"}
	switch x := rng.IntN(20); {
	case x < 9:
	case x < 12:
		t.SubjectType, t.SubjectID, t.SubjectRelation = "user", user(), ""
	case x < 13:
		t.SubjectType, t.SubjectID, t.SubjectRelation = "user", tuples.Wildcard, ""
	case x < 15:
		t.Relation = "banned"
		if rng.IntN(2) == 0 {
			t.SubjectType, t.SubjectID, t.SubjectRelation = "user", user(), ""
		}
	case x < 16:
		t = tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprintf("d%d", rng.IntN(3)), Relation: "owner", SubjectType: "team", SubjectID: team()}
	default:
		rel := "viewer"
		if x == 19 {
			rel = "deny"
		}
		t = tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprintf("d%d", rng.IntN(3)), Relation: rel, SubjectType: "team", SubjectID: team(), SubjectRelation: "member"}
		if rng.IntN(3) == 0 {
			t.SubjectType, t.SubjectID, t.SubjectRelation = "user", user(), ""
		}
	}
	return t
}

// chainTuples is a chain of n teams under t0: t0 holds c0, c{i} holds
// c{i+1}, and the last holds user u9.
func chainTuples(n int) []tuples.Tuple {
	set := func(obj, sub string) tuples.Tuple {
		return tuples.Tuple{ObjectType: "team", ObjectID: obj, Relation: "member", SubjectType: "team", SubjectID: sub, SubjectRelation: "member"}
	}
	out := []tuples.Tuple{set("t0", "c0")}
	for i := 0; i+1 < n; i++ {
		out = append(out, set(fmt.Sprintf("c%d", i), fmt.Sprintf("c%d", i+1)))
	}
	return append(out, tuples.Tuple{ObjectType: "team", ObjectID: fmt.Sprintf("c%d", n-1), Relation: "member", SubjectType: "user", SubjectID: "u9"})
}

type indexHistory struct {
	st    store.Store
	sch   *schema.Schema
	revs  []tuples.Revision
	state [][]tuples.Tuple // the tuples at each revision of revs
	teams int
	chain int
}

// newIndexHistory writes a random history to a fresh in-memory store.
func newIndexHistory(t *testing.T, rng *rand.Rand) *indexHistory {
	ctx := context.Background()
	b, err := memory.NewBackend(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// One history in four on a store whose index keeps at most two
	// groups above a group: the rest is walked.
	var o store.Options
	if rng.IntN(4) == 0 {
		o.IndexBound = 2
	} else if rng.IntN(3) == 0 {
		// One in three of the others holds the index in memory too
		// (store/memindex.go), built and caught up inside the snapshots.
		o.MemIndex = store.MemIndexInline
	}
	st := store.New(b, o)
	t.Cleanup(func() { st.Close() })
	if _, err := st.WriteSchema(ctx, "nested.rebac", []byte(nestedIndexSchema)); err != nil {
		t.Fatal(err)
	}
	h := &indexHistory{st: st, teams: 4 + rng.IntN(6)}
	cur := map[tuples.Key]tuples.Tuple{}
	if rng.IntN(3) == 0 {
		h.chain = 3 + rng.IntN(20)
		var ops []tuples.Op
		for _, tp := range chainTuples(h.chain) {
			ops = append(ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
			cur[tp.Key()] = tp
		}
		if _, err := st.Write(ctx, tuples.Batch{Ops: ops}); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 4 {
		var b tuples.Batch
		n := 4 + rng.IntN(12)
		if step > 0 {
			n = 1 + rng.IntN(5)
		}
		for range n {
			tp := nestedIndexTuple(rng, h.teams)
			kind := tuples.OpTouch
			if step > 0 && step != 2 && rng.IntN(3) == 0 { // an import only writes
				kind = tuples.OpDelete
				delete(cur, tp.Key())
			} else {
				cur[tp.Key()] = tp
			}
			b.Ops = append(b.Ops, tuples.Op{Kind: kind, Tuple: tp})
		}
		if step == 2 {
			// The same kind of change as an import.
			var text string
			for _, op := range b.Ops {
				text += op.Tuple.String() + "\n"
			}
			if _, err := st.Import(ctx, strings.NewReader(text), store.ImportOptions{Name: "step.tuples"}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		snap, err := st.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.sch = snap.Schema()
		h.revs = append(h.revs, snap.Revision())
		snap.Close()
		var ts []tuples.Tuple
		for _, tp := range cur {
			ts = append(ts, tp)
		}
		h.state = append(h.state, ts)
	}
	if o.MemIndex == store.MemIndexInline {
		if s := st.(store.MemIndexer).MemIndexStatus(); !s.Ready || s.Builds == 0 || s.Applied != h.revs[len(h.revs)-1] || s.Err != "" {
			t.Fatalf("the index in memory is %+v after the history's last snapshot", s)
		}
	}
	return h
}

func (h *indexHistory) instance(i int) *instance {
	in := &instance{text: nestedIndexSchema, sch: h.sch, tuples: h.state[i], objects: map[string][]string{
		"user": {"u0", "u1", "u2", "u3", "u9"},
		"doc":  {"d0", "d1", "d2"},
	}}
	for k := range h.teams {
		in.objects["team"] = append(in.objects["team"], fmt.Sprintf("t%d", k))
	}
	for k := range h.chain {
		in.objects["team"] = append(in.objects["team"], fmt.Sprintf("c%d", k))
	}
	in.objects["team"] = append(in.objects["team"], "fresh")
	return in
}

func TestDifferentialIndex(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 24)
	ctx := context.Background()
	var checks, mismatches int
	var indexed, fallbacks uint64
	for i := 0; i < n && mismatches == 0; i++ {
		rng := rand.New(rand.NewPCG(20261201, uint64(i)))
		h := newIndexHistory(t, rng)
		on := New(Options{MaxDepth: 1000, CacheSize: -1})
		off := New(Options{MaxDepth: 1000, CacheSize: -1, IgnoreIndex: true})
		for k, rev := range h.revs {
			in := h.instance(k)
			ref := newReference(in)
			snap, err := h.st.Snapshot(ctx, rev)
			if err != nil {
				t.Fatal(err)
			}
			var qs []Query
			for _, r := range in.sch.Relations {
				for _, id := range in.objects[r.Type.Name] {
					for _, x := range ref.universe {
						qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
					}
				}
			}
			gotOn, err := on.CheckBatch(ctx, snap, qs)
			if err != nil {
				t.Fatalf("history %d revision %d: %v\n%s", i, rev, err, describe(in))
			}
			gotOff, err := off.CheckBatch(ctx, snap, qs)
			if err != nil {
				t.Fatalf("history %d revision %d: %v\n%s", i, rev, err, describe(in))
			}
			for j, q := range qs {
				checks++
				want := ref.member(q.Object, q.Relation, q.Subject)
				if gotOn[j].Allowed != want || gotOff[j].Allowed != want {
					mismatches++
					t.Errorf("history %d revision %d: check %s = %v with the index, %v without, reference %v\n%s",
						i, rev, q, gotOn[j].Allowed, gotOff[j].Allowed, want, describe(in))
					break
				}
			}
			snap.Close()
		}
		s := on.Stats()
		indexed += s.NestedIndexed
		fallbacks += s.NestedIndexFallbacks
		if s2 := off.Stats(); s2.NestedIndexed != 0 {
			t.Fatalf("IgnoreIndex read the index %d times", s2.NestedIndexed)
		}
	}
	if indexed == 0 || fallbacks == 0 {
		t.Fatalf("%d memberships read from the index, %d not: the test misses a path", indexed, fallbacks)
	}
	t.Logf("%d histories, %d checks compared with the reference with and without the index, %d mismatches; %d memberships read from the index, %d index fallbacks",
		n, checks, mismatches, indexed, fallbacks)
}

// TestIndexDepthLimit: with a depth limit below the chains, the checker
// with the index answers, or fails on the limit, exactly where it does
// without the index; single checks and one-memo batches alike.
func TestIndexDepthLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := diffCases(t, 30)
	compared, limited := 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(99, uint64(i)))
		h := newIndexHistory(t, rng)
		depth := 3 + rng.IntN(8)
		on := New(Options{MaxDepth: depth, CacheSize: -1})
		off := New(Options{MaxDepth: depth, CacheSize: -1, IgnoreIndex: true})
		k := len(h.revs) - 1
		in := h.instance(k)
		snap, err := h.st.Snapshot(ctx, h.revs[k])
		if err != nil {
			t.Fatal(err)
		}
		ref := newReference(in)
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					q := Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x}
					a, errA := on.Check(ctx, snap, q)
					b, errB := off.Check(ctx, snap, q)
					compared++
					if (errA != nil) != (errB != nil) || a.Allowed != b.Allowed {
						t.Fatalf("history %d, depth %d: %s = %v (%v) with the index, %v (%v) without\n%s", i, depth, q, a.Allowed, errA, b.Allowed, errB, describe(in))
					}
					if errA != nil {
						limited++
						if !errors.Is(errA, errkind.ErrDepth) {
							t.Fatalf("%s: %v", q, errA)
						}
					}
				}
			}
		}
		snap.Close()
	}
	if limited == 0 {
		t.Fatal("no check met the depth limit: the test compares nothing")
	}
	t.Logf("%d checks with and without the index agree under depth limits, %d of them failing on the limit", compared, limited)
}

// TestIndexAgreement: with the index in use, check agrees with expand,
// lookup subjects and lookup resources.
func TestIndexAgreement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := diffCases(t, 10)
	compared := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(5, uint64(i)))
		h := newIndexHistory(t, rng)
		k := len(h.revs) - 1
		in := h.instance(k)
		snap, err := h.st.Snapshot(ctx, h.revs[k])
		if err != nil {
			t.Fatal(err)
		}
		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		ref := newReference(in)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("history %d: "+format+"\n%s", append([]any{i}, append(args, describe(in))...)...)
		}
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				obj := tuples.Object{Type: r.Type.Name, ID: id}
				tree, err := expand.Expand(ctx, snap, obj, r.Name, expand.Options{Recursive: true, Depth: 1000})
				if errors.Is(err, expand.ErrTooLarge) {
					tree = nil
				} else if err != nil {
					fail("expand: %v", err)
				}
				all, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name})
				if err != nil {
					fail("lookup subjects: %v", err)
				}
				for _, x := range ref.universe {
					res, err := c.Check(ctx, snap, Query{Object: obj, Relation: r.Name, Subject: x})
					if err != nil {
						fail("check: %v", err)
					}
					compared++
					if x.Relation == "" {
						if tree != nil && treeHas(tree, x) != res.Allowed {
							fail("%s in expanded %s#%s = %v, check %v", x, obj, r.Name, !res.Allowed, res.Allowed)
						}
						if subjectsHave(all, x) != res.Allowed {
							fail("%s in lookup subjects %s#%s %v, check %v", x, obj, r.Name, all, res.Allowed)
						}
					}
				}
				compareSubjectSets(ctx, c, snap, ref, obj, r.Name, fail)
			}
		}
		for _, x := range ref.universe {
			for _, r := range in.sch.Relations {
				var got, want []string
				_, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name},
					func(o tuples.Object) bool { got = append(got, o.ID); return true })
				if err != nil {
					fail("lookup resources: %v", err)
				}
				for _, id := range in.objects[r.Type.Name] {
					res, err := c.Check(ctx, snap, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
					if err != nil {
						fail("check: %v", err)
					}
					if res.Allowed {
						want = append(want, id)
					}
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s = %v, check says %v", r.Type.Name, r.Name, x, got, want)
				}
			}
		}
		if c.Stats().NestedIndexed == 0 {
			fail("no membership read from the index")
		}
		snap.Close()
	}
	t.Logf("%d histories, %d triples agree across check (with the index), expand and lookups", n, compared)
}

// TestIndexPathologicalShapes: a team inside more teams than the index's
// bound is left to the walk, which answers, and says so in the stats; a
// 40-deep chain is answered from the index, and the depth limit still
// applies to it.
func TestIndexPathologicalShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var lines []string
	for i := range 1100 {
		lines = append(lines, fmt.Sprintf("team:w%d#member@team:z#member", i))
	}
	lines = append(lines, "team:z#member@user:ann")
	for i := 0; i+1 < 40; i++ {
		lines = append(lines, fmt.Sprintf("team:c%d#member@team:c%d#member", i, i+1))
	}
	lines = append(lines, "team:c39#member@user:bob")
	snap := newSnap(t, nestedIndexSchema, lines...)

	c := New(Options{CacheSize: -1})
	for _, q := range []struct {
		query string
		want  bool
	}{
		{"team:w1099#member@user:ann", true},
		{"team:w7#member@user:bob", false},
		{"team:c0#member@user:bob", true},
		{"team:c0#member@user:ann", false},
		{"team:c20#member@team:c39#member", true},
	} {
		o, rel, _ := strings.Cut(q.query, "#")
		rel, sub, _ := strings.Cut(rel, "@")
		r, err := c.Check(ctx, snap, Query{Object: mustObject(t, o), Relation: rel, Subject: mustSubject(t, sub)})
		if err != nil || r.Allowed != q.want {
			t.Fatalf("%s = %v (%v), want %v", q.query, r.Allowed, err, q.want)
		}
	}
	st := c.Stats()
	if st.NestedIndexFallbacks == 0 || st.NestedIndexed == 0 {
		t.Fatalf("stats %+v: want memberships both from the index and past its bound", st)
	}
	// The chain from c0 to bob is 40 relations deep.
	shallow := New(Options{CacheSize: -1, MaxDepth: 30})
	if _, err := shallow.Check(ctx, snap, Query{Object: mustObject(t, "team:c0"), Relation: "member", Subject: mustSubject(t, "user:bob")}); !errors.Is(err, errkind.ErrDepth) {
		t.Fatalf("a 40-deep chain under a depth limit of 30: %v, want the depth error", err)
	}
}
