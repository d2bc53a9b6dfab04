package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// shortcutBook is the casebook's shape: a union of grants minus a deny
// list of users and teams, and an intersection over it.
const shortcutBook = casebook

// shortcutTuples gives ana n cases through her team's access, puts her on
// the deny list of every third directly and of every fifth through a
// team, and makes every seventh public.
func shortcutTuples(n int) []string {
	lines := []string{
		"user:ana#team@team:east",
		"team:east#member@user:ana",
		"team:all#member@team:east#member",
		"team:blocked#member@user:ana",
		"team:east#member@user:bo",
	}
	for i := range n {
		c := fmt.Sprintf("case:c%02d", i)
		lines = append(lines, c+"#access_list@team:all#member")
		if i%3 == 0 {
			lines = append(lines, c+"#deny_list@user:ana")
		}
		if i%5 == 0 {
			lines = append(lines, c+"#deny_list@team:blocked#member")
		}
		if i%7 == 0 {
			lines = append(lines, c+"#public@user:*")
		}
	}
	return append(lines, "case:other#creator@user:bo", "case:other#deny_list@user:ana")
}

// checkedResources is the slow, plain answer: every object of the type,
// checked one by one.
func checkedResources(t *testing.T, c *Checker, snap tuples.Snapshot, subj tuples.Subject, typ, rel string, ids []string) []string {
	t.Helper()
	var want []string
	for _, id := range ids {
		r, err := c.Check(context.Background(), snap, Query{Object: tuples.Object{Type: typ, ID: id}, Relation: rel, Subject: subj})
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	return want
}

func lookupIDs(t *testing.T, c *Checker, snap tuples.Snapshot, q ResourceQuery) []string {
	t.Helper()
	var got []string
	if _, err := c.LookupResources(context.Background(), snap, q, func(o tuples.Object) bool { got = append(got, o.ID); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLookupResourcesGuardReads pins down the shortcut for a target of
// the form base - deny_list: the objects the reverse walk proves in the
// base are never checked in full (the base's cheap relations are never
// read); the deny list is tested on each of a few objects, and walked
// backwards once for many.
func TestLookupResourcesGuardReads(t *testing.T) {
	// 4 objects are tested one by one, 40 walked once: the cases must
	// straddle the threshold, or one of them tests nothing.
	if !(4 < setThreshold && setThreshold <= 40) {
		t.Fatalf("setThreshold %d: the cases (4 and 40 objects) no longer take both paths", setThreshold)
	}
	for _, tc := range []struct {
		n         int
		perObject bool
	}{{4, true}, {40, false}} {
		n := tc.n
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			base := newSnap(t, shortcutBook, shortcutTuples(n)...)
			c := New(Options{CacheSize: -1})
			ana := mustSubject(t, "user:ana")
			var ids []string
			for i := range n {
				ids = append(ids, fmt.Sprintf("c%02d", i))
			}
			ids = append(ids, "other")
			want := checkedResources(t, c, base, ana, "case", "viewer", ids)

			snap := newCountingSnap(base)
			got := lookupIDs(t, c, snap, ResourceQuery{Subject: ana, Type: "case", Relation: "viewer"})
			if !slices.Equal(got, want) {
				t.Fatalf("lookup %v, checks %v", got, want)
			}
			for _, rel := range []string{"creator", "assignee", "public", "access_list"} {
				if k := snap.reads["has:"+rel] + snap.reads["subjects:"+rel] + snap.reads["hasany:"+rel] + snap.reads["subjectsof:"+rel]; k != 0 {
					t.Errorf("a proven base was checked again: %d forward reads of %s: %v", k, rel, snap.reads)
				}
			}
			if tc.perObject {
				// One direct test per object, and a scan of the deny
				// list's teams where that did not decide.
				if snap.reads["has:deny_list"] != n || snap.reads["subjects:deny_list"] > n {
					t.Errorf("deny list tested %d/%d times on %d objects: %v", snap.reads["has:deny_list"], snap.reads["subjects:deny_list"], n, snap.reads)
				}
			} else if snap.reads["has:deny_list"]+snap.reads["subjects:deny_list"]+snap.reads["hasany:deny_list"]+snap.reads["subjectsof:deny_list"] != 0 {
				t.Errorf("deny list tested object by object instead of walked once: %v", snap.reads)
			}

			// The intersection is still confirmed, and agrees.
			if got, want := lookupIDs(t, c, base, ResourceQuery{Subject: ana, Type: "case", Relation: "editor"}), checkedResources(t, c, base, ana, "case", "editor", ids); !slices.Equal(got, want) {
				t.Fatalf("editor lookup %v, checks %v", got, want)
			}
		})
	}
}

// TestLookupSubjectsGuardReads is the same for lookup subjects: the
// subjects found in the base are not checked in full, and the deny list,
// whose members the forward walk finds exactly, is not read per subject.
func TestLookupSubjectsGuardReads(t *testing.T) {
	lines := append(shortcutTuples(4),
		"team:east#member@user:cy",
		"team:blocked#member@team:sub#member",
		"team:sub#member@user:bo",
		"case:c00#creator@user:dee",
		"case:c00#assignee@user:bo",
	)
	base := newSnap(t, shortcutBook, lines...)
	c := New(Options{CacheSize: -1})
	obj := mustObject(t, "case:c00")
	snap := newCountingSnap(base)
	res, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: obj, Relation: "viewer", Type: "user"})
	if err != nil {
		t.Fatal(err)
	}
	// c00 is public: every user but those denied (ana directly and
	// through blocked, bo through blocked's sub-team).
	if got := fmt.Sprint(res); got != "[user:* - {user:ana, user:bo}]" {
		t.Fatalf("viewers of c00: %s", got)
	}
	for _, s := range []string{"ana", "bo", "cy", "dee", "eve"} {
		x := mustSubject(t, "user:"+s)
		if subjectsHave(res, x) != checkQ(t, c, base, "case:c00#viewer@user:"+s) {
			t.Errorf("lookup subjects and check disagree on %s: %v", x, res)
		}
	}
	// The wildcard is checked in full; the plain subjects are not.
	if k := snap.reads["has:creator"]; k > 1 {
		t.Errorf("plain subjects checked in full: %d reads of creator: %v", k, snap.reads)
	}

	// Without the wildcard, each subject found in the base is kept or
	// dropped by the walk's record of the deny list alone.
	snap = newCountingSnap(base)
	res, err = c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "case:c03"), Relation: "viewer", Type: "user"})
	if err != nil {
		t.Fatal(err)
	}
	// ana is on c03's deny list herself.
	if got := fmt.Sprint(res); got != "[user:bo user:cy]" {
		t.Fatalf("viewers of c03: %s", got)
	}
	for _, rel := range []string{"creator", "assignee", "public", "deny_list"} {
		if k := snap.reads["has:"+rel]; k != 0 {
			t.Errorf("%d point reads of %s: subjects were checked one by one: %v", k, rel, snap.reads)
		}
	}
}

// guarded reports whether some relation of sch has an exclusion at the
// top of its rewrite: the shape the lookups' shortcut applies to.
func guarded(sch *schema.Schema) bool {
	return slices.ContainsFunc(sch.Relations, func(r *schema.Relation) bool {
		_, ok := r.Rewrite.(*schema.Exclude)
		return ok
	})
}

// TestLookupGuardRandom compares both lookups with the reference on
// random schemas with top-level exclusions and more objects than the
// other random tests use, so that lookups meet many guarded objects; the
// resource side is run a second time with the subtracted sides always
// walked as sets. Any object or subject a shortcut admits wrongly, or
// drops, fails it.
func TestLookupGuardRandom(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 40)
	ctx := context.Background()
	compared, forced := 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(41, uint64(i)))
		var in *instance
		for in == nil || !guarded(in.sch) {
			text, sch := genSchema(rng)
			ids := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}[:6+rng.IntN(7)]
			in = &instance{text: text, sch: sch, tuples: genTuples(rng, sch, ids), objects: map[string][]string{}}
			for _, t := range sch.Types {
				in.objects[t.Name] = append(append([]string(nil), ids...), "fresh")
			}
		}
		ref := newReference(in)
		snap := snapshotFor(t, i, in)
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		c.plans.order = planOrder(i % 3)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d: "+format+"\n%s", append([]any{i}, append(args, describe(in))...)...)
		}
		for _, x := range ref.universe {
			for _, r := range in.sch.Relations {
				want := ref.resources(r, x)
				got := lookupIDs(t, c, snap, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name})
				if !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, got, want)
				}
				got, used, err := lookupWithSets(ctx, c, snap, x, r)
				if err != nil {
					fail("lookup resources with sets: %v", err)
				}
				if !slices.Equal(got, want) {
					fail("lookup resources %s#%s for %s with subtracted sides as sets = %v, reference %v", r.Type.Name, r.Name, x, got, want)
				}
				if used {
					forced++
				}
				compared += 2
			}
		}
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				obj := tuples.Object{Type: r.Type.Name, ID: id}
				all, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name})
				if err != nil {
					fail("lookup subjects: %v", err)
				}
				for _, x := range ref.universe {
					if x.Relation != "" {
						continue
					}
					if got, want := subjectsHave(all, x), ref.member(obj, r.Name, x); got != want {
						fail("%s in lookup subjects %s#%s = %v, reference %v (%v)", x, obj, r.Name, got, want, all)
					}
					compared++
				}
				compared += compareSubjectSets(ctx, c, snap, ref, obj, r.Name, fail)
			}
		}
	}
	if forced == 0 {
		t.Errorf("no lookup walked a subtracted side as a set")
	}
	t.Logf("%d random instances with top-level exclusions, %d lookup answers agree with the reference (%d walked a subtracted side as a set)", n, compared, forced)
}

// lookupWithSets is LookupResources with every subtracted side that can
// be walked as a set walked as one, however few objects it decides; used
// reports whether any was.
func lookupWithSets(ctx context.Context, c *Checker, snap tuples.Snapshot, x tuples.Subject, r *schema.Relation) (ids []string, used bool, err error) {
	w, err := c.begin(ctx, snap, nil)
	if err != nil {
		return nil, false, err
	}
	defer c.end(w)
	// The store compiles its own copy of the schema.
	target := w.sch.Relation(r.Type.Name, r.Name)
	if w.sub, err = resolveSubject(w.sch, x); err != nil {
		return nil, false, err
	}
	if !w.reaches(target) {
		return nil, false, nil
	}
	rw := newResourceWalk(w, target, 0)
	if err := rw.run(); err != nil {
		return nil, false, err
	}
	found := map[string]uint8{}
	for id, m := range rw.found() {
		ids = append(ids, id)
		found[id] = m
	}
	slices.Sort(ids)
	conf := newResourceConfirmer(rw, "", false)
	conf.setMin = 0
	var out []string
	for _, id := range ids {
		ok, err := conf.member(tuples.Object{Type: target.Type.Name, ID: id}, found[id])
		if err != nil {
			return nil, false, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, slices.ContainsFunc(conf.sets, func(s map[string]bool) bool { return s != nil }), nil
}
