package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// shortestChain is the number of tuples on the shortest chain of tuples
// of the nesting relation rel of obj's type from obj down to one storing s
// (or, for a plain subject, its type's wildcard), by breadth first search
// over ts; 0 when none does.
func shortestChain(ts []tuples.Tuple, obj tuples.Object, rel string, s tuples.Subject) int {
	below := map[tuples.Object][]tuples.Subject{}
	for _, t := range ts {
		if t.ObjectType == obj.Type && t.Relation == rel {
			below[t.Object()] = append(below[t.Object()], t.Subject())
		}
	}
	holds := func(x tuples.Subject) bool {
		return x == s || s.Relation == "" && x.Type == s.Type && x.ID == tuples.Wildcard && s.ID != tuples.Wildcard
	}
	seen := map[tuples.Object]bool{obj: true}
	frontier := []tuples.Object{obj}
	for n := 1; len(frontier) > 0; n++ {
		var next []tuples.Object
		for _, g := range frontier {
			for _, x := range below[g] {
				if holds(x) {
					return n
				}
				if x.Type == obj.Type && x.Relation == rel {
					o := tuples.Object{Type: x.Type, ID: x.ID}
					if !seen[o] {
						seen[o] = true
						next = append(next, o)
					}
				}
			}
		}
		frontier = next
	}
	return 0
}

// chainOf checks that path, the explanation of obj#rel@s for a nesting
// relation rel, is a chain of stored tuples of rel from obj down to a
// tuple storing s or its wildcard, and returns its length.
func chainOf(path []Step, stored map[string]bool, obj tuples.Object, rel string, s tuples.Subject) (int, error) {
	if len(path) == 0 || path[0].Kind != StepRelation || path[0].Text != obj.String()+"#"+rel {
		return 0, fmt.Errorf("the path does not start at %s#%s", obj, rel)
	}
	cur := obj.String() + "#" + rel
	n := 0
	for i, st := range path[1:] {
		if st.Kind != StepTuple {
			return 0, fmt.Errorf("step %d is a %s, not a tuple", i+1, st.Kind)
		}
		if !stored[st.Text] {
			return 0, fmt.Errorf("step %d names %s, which is not stored", i+1, st.Text)
		}
		head, sub, _ := strings.Cut(st.Text, "@")
		if head != cur {
			return 0, fmt.Errorf("step %d, %s, does not continue from %s", i+1, st.Text, cur)
		}
		n++
		if i == len(path)-2 {
			x, err := tuples.ParseSubject(sub)
			if err != nil {
				return 0, err
			}
			if x != s && !(s.Relation == "" && x.Type == s.Type && x.ID == tuples.Wildcard) {
				return 0, fmt.Errorf("the last step, %s, does not store %s", st.Text, s)
			}
			break
		}
		cur = sub
	}
	return n, nil
}

func pathLen(path []Step) int {
	n := len(path)
	for _, s := range path {
		for _, b := range s.Branches {
			n += pathLen(b)
		}
	}
	return n
}

// TestExplainFromIndex: the explanation of a check answered from the
// membership index names a chain of stored tuples, of the length of the
// shortest chain the tuples make, and every other explanation as long as
// the one the downward search finds; on random nested histories with
// cycles, deep chains, wildcards, subject sets and bounds.
func TestExplainFromIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := diffCases(t, 12)
	chains, others := 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(777, uint64(i)))
		h := newIndexHistory(t, rng)
		on := New(Options{MaxDepth: 1000, CacheSize: -1})
		down := New(Options{MaxDepth: 1000, CacheSize: -1, DownwardOnly: true})
		for k, rev := range h.revs {
			in := h.instance(k)
			ref := newReference(in)
			stored := map[string]bool{}
			for _, tp := range in.tuples {
				stored[tp.String()] = true
			}
			snap, err := h.st.Snapshot(ctx, rev)
			if err != nil {
				t.Fatal(err)
			}
			fail := func(format string, args ...any) {
				t.Helper()
				snap.Close()
				t.Fatalf("history %d revision %d: "+format+"\n%s", append([]any{i, rev}, append(args, describe(in))...)...)
			}
			for _, r := range in.sch.Relations {
				for _, id := range in.objects[r.Type.Name] {
					obj := tuples.Object{Type: r.Type.Name, ID: id}
					for _, x := range ref.universe {
						q := Query{Object: obj, Relation: r.Name, Subject: x, Explain: true}
						if !ref.member(obj, r.Name, x) || x.Relation == "member" && x.ID == id && r.Name == "member" {
							continue
						}
						a, err := on.Check(ctx, snap, q)
						if err != nil || !a.Allowed {
							fail("%s = %v (%v), the reference allows it", q, a.Allowed, err)
						}
						b, err := down.Check(ctx, snap, q)
						if err != nil || !b.Allowed {
							fail("%s = %v (%v) walking down, the reference allows it", q, b.Allowed, err)
						}
						var named []string
						stepTuples(a.Explanation.Path, &named)
						for _, s := range named {
							if !stored[s] {
								fail("%s: the explanation names %s, which is not stored:\n%s", q, s, a.Explanation)
							}
						}
						if r.Type.Name == "team" && r.Name == "member" {
							got, err := chainOf(a.Explanation.Path, stored, obj, "member", x)
							if err != nil {
								fail("%s: %v:\n%s", q, err, a.Explanation)
							}
							if want := shortestChain(in.tuples, obj, "member", x); got != want {
								fail("%s: a chain of %d tuples, the shortest has %d:\n%s", q, got, want, a.Explanation)
							}
							chains++
							continue
						}
						if pa, pb := pathLen(a.Explanation.Path), pathLen(b.Explanation.Path); pa != pb {
							fail("%s: %d steps from the memberships, %d walking down:\n%s\n%s", q, pa, pb, a.Explanation, b.Explanation)
						}
						others++
					}
				}
			}
			snap.Close()
		}
		if on.Stats().NestedIndexed == 0 && i == 0 {
			t.Fatal("no membership read from the index: the test misses its path")
		}
	}
	if chains == 0 || others == 0 {
		t.Fatalf("%d chains and %d other paths explained: the test compares nothing", chains, others)
	}
	t.Logf("%d histories: %d team chains of shortest length, %d other paths as long as walking down", n, chains, others)
}

// indexCountingSnap counts reads and passes the membership index on.
type indexCountingSnap struct {
	*countingSnap
	gi tuples.GroupIndex
}

func (s *indexCountingSnap) GroupsAbove(ctx context.Context, g tuples.Object, rel string) ([]tuples.GroupAbove, bool, error) {
	s.note("index:" + rel)
	return s.gi.GroupsAbove(ctx, g, rel)
}

// TestExplainFromIndexReads: in a tree of 1,111 teams the explanation of a
// user in a leaf team, asked at the root, reads the user's groups, the
// index and one tuple per step, not the tree.
func TestExplainFromIndexReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var lines []string
	var add func(id string, depth int)
	add = func(id string, depth int) {
		if depth == 3 {
			return
		}
		for k := range 10 {
			child := fmt.Sprintf("%s.%d", id, k)
			lines = append(lines, fmt.Sprintf("team:%s#member@team:%s#member", id, child))
			add(child, depth+1)
		}
	}
	add("r", 0)
	lines = append(lines, "team:r.9.9.9#member@user:ann", "team:r.0#member@user:bob")
	base := newSnap(t, nestedIndexSchema, lines...)
	gi, ok := base.(tuples.GroupIndex)
	if !ok {
		t.Fatal("the store's snapshot keeps no membership index")
	}
	c := New(Options{CacheSize: -1})
	for _, tc := range []struct {
		q     string
		steps int
	}{
		{"team:r#member@user:ann", 4},
		{"team:r.9#member@user:ann", 3},
		{"team:r#member@user:bob", 2},
	} {
		snap := &indexCountingSnap{countingSnap: newCountingSnap(base), gi: gi}
		q := query(t, tc.q)
		q.Explain = true
		res, err := c.Check(ctx, snap, q)
		if err != nil || !res.Allowed {
			t.Fatalf("%s = %v (%v)", tc.q, res.Allowed, err)
		}
		var named []string
		stepTuples(res.Explanation.Path, &named)
		if len(named) != tc.steps {
			t.Fatalf("%s: %d tuples named, want %d: %s", tc.q, len(named), tc.steps, res.Explanation)
		}
		if snap.reads["index:member"] == 0 || snap.reads["subjects:member"] > 0 || snap.total() > 2*tc.steps+4 {
			t.Fatalf("%s: reads %v: want the index, a point read per step and no scan of the tree", tc.q, snap.reads)
		}
	}
}
