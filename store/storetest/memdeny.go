package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// The deny lists the index in memory holds (the stored relations an
// exclusion subtracts): point reads (Has, HasAny) and reads both ways
// answered from memory must be those of the tuples at the snapshot's
// revision, and a deny list that does not fit in the limit is left out
// without turning the rest off.

var memDenyTests = []optionsTest{
	{"MemIndexDenyList", Options{KeepRevisions: 1000}, testMemIndexDeny},
	{"MemIndexDenyListLeftOut", Options{KeepRevisions: 1000, MemIndexLimit: 6}, testMemIndexDenyLeft},
}

// denySchema's case#deny is subtracted by an exclusion, so it is held;
// case#hold is subtracted too but may carry an expiry, so it is not.
const denySchema = `type user

type team {
  relation member: user | team#member
}

type case {
  relation viewer: user | team#member
  relation deny: user | user:* | team#member
  relation hold: user with expiration
  relation view = (viewer - deny) - hold
}
`

// denySubjects are what a case's deny list may store, and two subjects
// it never does.
func denySubjects() []tuples.Subject {
	out := []tuples.Subject{{Type: "user", ID: tuples.Wildcard}, {Type: "team", ID: "t9", Relation: "member"}, {Type: "user", ID: "nobody"}}
	for i := range 4 {
		out = append(out, tuples.Subject{Type: "user", ID: fmt.Sprintf("u%d", i)})
	}
	for i := range 3 {
		out = append(out, tuples.Subject{Type: "team", ID: fmt.Sprintf("t%d", i), Relation: "member"})
	}
	return out
}

func denyTuple(rng *rand.Rand) string {
	switch rng.IntN(5) {
	case 0:
		return fmt.Sprintf("case:c%d#deny@user:*", rng.IntN(4))
	case 1:
		return fmt.Sprintf("case:c%d#deny@team:t%d#member", rng.IntN(4), rng.IntN(3))
	case 2:
		return fmt.Sprintf("team:t%d#member@user:u%d", rng.IntN(3), rng.IntN(4))
	}
	return fmt.Sprintf("case:c%d#deny@user:u%d", rng.IntN(4), rng.IntN(4))
}

func denyCases() []tuples.Object {
	out := make([]tuples.Object, 5) // c4 is never written
	for i := range out {
		out[i] = tuples.Object{Type: "case", ID: fmt.Sprintf("c%d", i)}
	}
	return out
}

// checkDeny compares sn's point reads of case#deny and team#member, and
// case#deny's reads both ways, with the tuples sn reads back.
func checkDeny(t *testing.T, ctx context.Context, sn tuples.Snapshot) (stored int) {
	t.Helper()
	subjects := denySubjects()
	for _, rel := range []struct{ typ, name string }{{"case", "deny"}, {"team", "member"}} {
		objs := denyCases()
		if rel.typ == "team" {
			objs = indexTeamObjects()[:4]
		}
		has := map[tuples.Object]map[tuples.Subject]bool{}
		for _, o := range objs {
			has[o] = map[tuples.Subject]bool{}
			var want []tuples.Subject
			for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: o.Type, ObjectID: o.ID, Relation: rel.name}) {
				s := mustParse(t, x).Subject()
				has[o][s] = true
				want = append(want, s)
				stored++
			}
			for _, s := range subjects {
				got, err := sn.Has(ctx, o, rel.name, s)
				if err != nil {
					t.Fatal(err)
				}
				if got != has[o][s] {
					t.Fatalf("revision %d: Has(%s#%s@%s) = %v, the tuples say %v", sn.Revision(), o, rel.name, s, got, has[o][s])
				}
			}
			var got []tuples.Subject
			for x, err := range sn.Subjects(ctx, o, rel.name, tuples.SubjectFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: %s#%s stores %v, the tuples say %v", sn.Revision(), o, rel.name, got, want)
			}
		}
		// Every pair of objects against every pair of subjects.
		for i := range objs {
			for j := range subjects {
				os := []tuples.Object{objs[i], objs[(i+1)%len(objs)]}
				ss := []tuples.Subject{subjects[j], subjects[(j+3)%len(subjects)]}
				want := false
				for _, o := range os {
					for _, s := range ss {
						want = want || has[o][s]
					}
				}
				got, err := sn.HasAny(ctx, os, rel.name, ss)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("revision %d: HasAny(%v #%s %v) = %v, the tuples say %v", sn.Revision(), os, rel.name, ss, got, want)
				}
			}
		}
		if rel.typ != "case" {
			continue
		}
		for _, s := range subjects {
			var want []string
			for _, o := range objs {
				if has[o][s] {
					want = append(want, o.ID)
				}
			}
			var got []string
			for o, err := range sn.Reverse(ctx, s, "case", "deny") {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, o.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: cases denying %s: %v, the tuples say %v", sn.Revision(), s, got, want)
			}
		}
	}
	return stored
}

func testMemIndexDeny(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	if _, err := s.WriteSchema(ctx, "deny.rebac", []byte(denySchema)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(20261202, 1))
	var revs []tuples.Revision
	var held []tuples.Snapshot
	defer func() {
		for _, sn := range held {
			sn.Close()
		}
	}()
	stored := 0
	for i := range 60 {
		b, err := randomBatch(rng, 3, denyTuple)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		sn := snap(t, ctx, s, 0)
		stored += checkDeny(t, ctx, sn)
		revs = append(revs, sn.Revision())
		if i%7 == 0 {
			held = append(held, sn) // read again after later writes
		} else {
			sn.Close()
		}
	}
	if stored == 0 {
		t.Fatal("nothing stored")
	}
	st := memStatus(t, s)
	want := []store.IndexedRelation{{Type: "case", Relation: "deny"}, {Type: "team", Relation: "member"}}
	if !st.Ready || !slices.Equal(st.Relations, want) || len(st.Left) > 0 {
		t.Fatalf("held %+v, want %v", st, want)
	}
	for _, sn := range held {
		checkDeny(t, ctx, sn)
	}
	for _, rev := range revs {
		sn := snap(t, ctx, s, rev)
		checkDeny(t, ctx, sn)
		sn.Close()
	}
}

// testMemIndexDenyLeft: with a limit of 6 tuples, a deny list that does
// not fit is left out at a build, and one that grows past the limit in a
// catch-up is left out by a rebuild, while the nesting relation stays
// held; its reads come from the backend, and are still right.
func testMemIndexDenyLeft(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	if _, err := s.WriteSchema(ctx, "deny.rebac", []byte(denySchema)); err != nil {
		t.Fatal(err)
	}
	write(t, ctx, s, tuples.OpTouch, "team:t0#member@user:u0", "team:t1#member@team:t0#member",
		"case:c0#deny@user:u1", "case:c1#deny@team:t1#member")
	deny := store.IndexedRelation{Type: "case", Relation: "deny"}
	expect := func(held, left bool) {
		t.Helper()
		sn := snap(t, ctx, s, 0)
		checkDeny(t, ctx, sn)
		sn.Close()
		st := memStatus(t, s)
		if !st.Ready || st.OverLimit || slices.Contains(st.Relations, deny) != held || slices.Contains(st.Left, deny) != left ||
			!slices.Contains(st.Relations, store.IndexedRelation{Type: "team", Relation: "member"}) {
			t.Fatalf("revision %d: %+v; want the deny list held %v, left out %v", sn.Revision(), st, held, left)
		}
	}
	expect(true, false) // 4 tuples fit in 6
	// Past the limit in a catch-up: the rebuild leaves the deny list out.
	write(t, ctx, s, tuples.OpTouch, "case:c2#deny@user:u2", "case:c3#deny@user:*", "case:c3#deny@user:u3")
	expect(false, true)
	// A schema write holding nothing new does not rebuild to try the
	// deny list again.
	builds := memStatus(t, s).Builds
	if _, err := s.WriteSchema(ctx, "deny.rebac", []byte(denySchema+"\ntype note {\n  relation author: user\n}\n")); err != nil {
		t.Fatal(err)
	}
	expect(false, true)
	if st := memStatus(t, s); st.Builds != builds {
		t.Fatalf("%d builds after a schema write, %d before: %+v", st.Builds, builds, st)
	}
	// Members keep coming in: the nesting relation stays held.
	write(t, ctx, s, tuples.OpTouch, "team:t2#member@user:u2", "team:t2#member@user:u3")
	expect(false, true)
	// Past the limit with no deny list held: off.
	write(t, ctx, s, tuples.OpTouch, "team:t3#member@user:u0", "team:t3#member@user:u1", "team:t3#member@user:u2")
	sn := snap(t, ctx, s, 0)
	checkDeny(t, ctx, sn)
	sn.Close()
	if st := memStatus(t, s); st.Ready || !st.OverLimit {
		t.Fatalf("over the limit: %+v", st)
	}
}
