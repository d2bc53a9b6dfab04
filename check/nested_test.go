package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// genNestedInstance draws groups nested in groups (cycles, self loops and
// long chains included), users and wildcards in them, and documents whose
// relations use the groups under union, intersection and exclusion, on
// both sides of `-`.
func genNestedInstance(rng *rand.Rand) *instance {
	wild := ""
	if rng.IntN(3) == 0 {
		wild = " | user:*"
	}
	text := `type user {
  relation team: group
}

type group {
  relation member: user | group#member` + wild + `
  relation banned: user | group#member
  relation lead: user
  relation staff = member - banned
}

type doc {
  relation owner: user
  relation readers: user | group#member
  relation blocked: user | group#member
  relation parent: group
  relation viewer = owner | readers - blocked
  relation editor = readers & parent#member
  relation insider = owner.team#member - parent#banned
  relation boss = parent#lead & parent#staff
}
`
	sch, err := schema.Load("nested.rebac", []byte(text))
	if err != nil {
		panic(err)
	}
	ng, nu, nd := 3+rng.IntN(10), 2+rng.IntN(4), 1+rng.IntN(3)
	id := func(p string, i int) string { return fmt.Sprintf("%s%d", p, i) }
	var ts []tuples.Tuple
	add := func(s string) {
		t, err := tuples.Parse(s)
		if err != nil {
			panic(err)
		}
		ts = append(ts, t)
	}
	group := func() string { return id("g", rng.IntN(ng)) }
	user := func() string { return id("u", rng.IntN(nu)) }
	// A chain through every group in a random order, sometimes.
	if rng.IntN(3) == 0 {
		order := rng.Perm(ng)
		for i := 1; i < len(order); i++ {
			add(fmt.Sprintf("group:g%d#member@group:g%d#member", order[i-1], order[i]))
		}
	}
	for range rng.IntN(2 * ng) {
		add("group:" + group() + "#member@group:" + group() + "#member")
	}
	for range 1 + rng.IntN(2*nu) {
		add("group:" + group() + "#member@user:" + user())
	}
	if wild != "" && rng.IntN(2) == 0 {
		add("group:" + group() + "#member@user:*")
	}
	for range rng.IntN(3) {
		if rng.IntN(2) == 0 {
			add("group:" + group() + "#banned@user:" + user())
		} else {
			add("group:" + group() + "#banned@group:" + group() + "#member")
		}
	}
	for range rng.IntN(3) {
		add("group:" + group() + "#lead@user:" + user())
	}
	for u := range nu {
		if rng.IntN(2) == 0 {
			add(fmt.Sprintf("user:u%d#team@group:%s", u, group()))
		}
	}
	for d := range nd {
		doc := id("d", d)
		if rng.IntN(2) == 0 {
			add("doc:" + doc + "#owner@user:" + user())
		}
		for range rng.IntN(3) {
			add("doc:" + doc + "#readers@group:" + group() + "#member")
		}
		if rng.IntN(3) == 0 {
			add("doc:" + doc + "#readers@user:" + user())
		}
		for range rng.IntN(2) {
			add("doc:" + doc + "#blocked@group:" + group() + "#member")
		}
		if rng.IntN(2) == 0 {
			add("doc:" + doc + "#parent@group:" + group())
		}
	}
	in := &instance{text: text, sch: sch, tuples: ts, objects: map[string][]string{}}
	for prefix, n := range map[string]int{"user": nu, "group": ng, "doc": nd} {
		p := prefix[:1]
		if prefix == "group" {
			p = "g"
		}
		for i := range n {
			in.objects[prefix] = append(in.objects[prefix], id(p, i))
		}
		in.objects[prefix] = append(in.objects[prefix], "fresh")
	}
	return in
}

// TestNestedDifferential compares checks over nesting relations, walked
// up from the subject and down from the group, in batches and one by
// one, in every operand order, with the reference evaluator.
func TestNestedDifferential(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 60)
	ctx := context.Background()
	checks, mismatches := 0, 0
	var stats Stats
	for i := 0; i < n && mismatches < 5; i++ {
		rng := rand.New(rand.NewPCG(20261201, uint64(i)))
		in := genNestedInstance(rng)
		ref := newReference(in)
		snap := snapshotFor(t, i, in)
		var qs []Query
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
		for _, down := range []bool{false, true} {
			c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2], DownwardOnly: down})
			c.plans.order = planOrder(i % 3)
			got, err := checkAll(ctx, c, snap, qs, i%4 < 2)
			if err != nil {
				t.Fatalf("instance %d, downward only %v: %v\n%s", i, down, err, describe(in))
			}
			for j, q := range qs {
				checks++
				if want := ref.member(q.Object, q.Relation, q.Subject); got[j].Allowed != want {
					mismatches++
					t.Errorf("instance %d, downward only %v: check %s = %v, reference %v\n%s", i, down, q, got[j].Allowed, want, describe(in))
					break
				}
			}
			if !down {
				s := c.Stats()
				stats.NestedUpward += s.NestedUpward
				stats.NestedFallbacks += s.NestedFallbacks
			}
		}
	}
	if stats.NestedUpward == 0 {
		t.Error("no check was answered from a subject's memberships")
	}
	t.Logf("%d random nested instances, %d checks compared with the reference (walked up and down), %d mismatches; %d membership sets read",
		n, checks, mismatches, stats.NestedUpward)
}

// TestNestedAgreement checks, on random nested instances walked up from
// the subject, that check, explanations, the expanded tree and both
// lookups agree with the reference.
func TestNestedAgreement(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 12)
	ctx := context.Background()
	compared := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		in := genNestedInstance(rng)
		snap := newMapSnap(in.sch, 1, in.tuples)
		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		ref := newReference(in)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d: "+format+"\n%s", append([]any{i}, append(args, describe(in))...)...)
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
					res, err := c.Check(ctx, snap, Query{Object: obj, Relation: r.Name, Subject: x, Explain: true})
					if err != nil {
						fail("check: %v", err)
					}
					want := ref.member(obj, r.Name, x)
					if res.Allowed != want {
						fail("check %s#%s@%s = %v, reference %v", obj, r.Name, x, res.Allowed, want)
					}
					if res.Explanation == nil {
						fail("check %s#%s@%s: no explanation", obj, r.Name, x)
					}
					if ex := res.Explanation.String(); want && !strings.Contains(ex, "#") {
						fail("check %s#%s@%s: the explanation names no path:\n%s", obj, r.Name, x, ex)
					}
					compared++
					if x.Relation == "" {
						if tree != nil && treeHas(tree, x) != want {
							fail("%s in expanded %s#%s = %v, check %v\n%s", x, obj, r.Name, !want, want, tree)
						}
						if subjectsHave(all, x) != want {
							fail("%s in lookup subjects %s#%s %v, check %v", x, obj, r.Name, all, want)
						}
					}
				}
				compareSubjectSets(ctx, c, snap, ref, obj, r.Name, fail)
			}
		}
		for _, x := range ref.universe {
			for _, r := range in.sch.Relations {
				var got []string
				next, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name},
					func(o tuples.Object) bool { got = append(got, o.ID); return true })
				if err != nil || next != "" {
					fail("lookup resources %s#%s for %s: next %q, %v", r.Type.Name, r.Name, x, next, err)
				}
				if want := ref.resources(r, x); !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, got, want)
				}
			}
		}
	}
	t.Logf("%d random nested instances, %d (object, relation, subject) triples agree across check, explanations, expand and both lookups", n, compared)
}

// TestNestedDepthAgreement runs the two walks under small depth limits.
// Whatever either answers is the reference's answer; only which checks
// report the limit differs, as both walks reuse what they decided earlier
// in the same walk and decide different nodes on the way: the walk up
// fails only where the shortest chain that grants is too deep from where
// the nesting relation was met, and answers a subject no chain reaches
// however deep the groups go.
func TestNestedDepthAgreement(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 40)
	ctx := context.Background()
	var agree, onlyUp, onlyDown, neither int
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261203, uint64(i)))
		in := genNestedInstance(rng)
		snap := newMapSnap(in.sch, 1, in.tuples)
		ref := newReference(in)
		limit := 2 + rng.IntN(6)
		up := New(Options{MaxDepth: limit, CacheSize: -1})
		down := New(Options{MaxDepth: limit, CacheSize: -1, DownwardOnly: true})
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					q := Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x}
					want := ref.member(q.Object, q.Relation, q.Subject)
					ru, errUp := up.Check(ctx, snap, q)
					rd, errDown := down.Check(ctx, snap, q)
					for _, e := range []error{errUp, errDown} {
						var de *DepthError
						if e != nil && !errors.As(e, &de) {
							t.Fatalf("instance %d: %s: unexpected error %v", i, q, e)
						}
					}
					if errUp == nil && ru.Allowed != want || errDown == nil && rd.Allowed != want {
						t.Fatalf("instance %d, limit %d: %s walked up = %v (%v), walked down = %v (%v), reference %v\n%s",
							i, limit, q, ru.Allowed, errUp, rd.Allowed, errDown, want, describe(in))
					}
					switch {
					case errUp == nil && errDown == nil:
						agree++
					case errUp == nil:
						onlyUp++
					case errDown == nil:
						onlyDown++
					default:
						neither++
					}
				}
			}
		}
	}
	if agree == 0 || onlyUp+neither == 0 {
		t.Errorf("the limits exercised nothing: %d answered by both, %d by neither, %d only walked up", agree, neither, onlyUp)
	}
	t.Logf("%d random nested instances under depth limits of 2 to 7: %d checks answered by both walks, all as the reference; %d only walked up, %d only walked down, %d by neither (the limit)",
		n, agree, onlyUp, onlyDown, neither)
}

// TestNestedBound: a subject in more groups than the bound is walked
// down, with the same answers, and counted.
func TestNestedBound(t *testing.T) {
	var lines []string
	for i := range nestedBound + 5 {
		lines = append(lines, fmt.Sprintf("team:t%d#member@team:inner#member", i))
	}
	lines = append(lines, "team:inner#member@user:ann", "team:t3#member@user:bob", "case:1#access_list@team:t7#member")
	snap := newSnap(t, casebook, lines...)
	c := New(Options{CacheSize: -1})
	expectChecks(t, c, snap,
		[]string{"team:t0#member@user:ann", "case:1#viewer@user:ann", "team:t3#member@user:bob", "team:t5#member@team:inner#member"},
		[]string{"team:t0#member@user:bob", "team:inner#member@user:bob", "case:1#viewer@user:bob"})
	if s := c.Stats(); s.NestedFallbacks == 0 || s.NestedUpward == 0 {
		t.Errorf("want both fallbacks (ann, team:inner#member) and upward walks (bob), got %+v", s)
	}
}
