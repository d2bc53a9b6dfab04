package check

import (
	"context"
	"fmt"
	"testing"
)

// TestSetReadsFanOut pins the saving of the set-at-a-time reads: a denied
// check on a case whose access list holds 20 teams read each team's
// members one Has and one Subjects at a time (61 calls); it must now cost
// about two calls per level of nesting. (The differential tests hold the
// answers of these reads to the reference evaluator.)
func TestSetReadsFanOut(t *testing.T) {
	lines := []string{"case:1#assignee@user:boss"}
	for i := range 20 {
		team := fmt.Sprintf("team:t%d", i)
		lines = append(lines, "case:1#access_list@"+team+"#member", team+"#member@user:m"+fmt.Sprint(i))
	}
	// Two of the teams hold a nested team each, whose member is the
	// one who is allowed.
	lines = append(lines, "team:t3#member@team:n1#member", "team:t7#member@team:n2#member", "team:n2#member@user:deep")
	base := newSnap(t, casebook, lines...)
	// The downward walk: the nesting relation team#member walked from
	// each team down, as without the subject's memberships (nested.go).
	c := New(Options{CacheSize: -1, DownwardOnly: true})
	// The case's own relations cost 9 calls whatever the fan-out:
	// creator, assignee, the assignee's team, the access and deny lists
	// (one Has and one Subjects each) and public.
	const own = 9
	for _, tc := range []struct {
		q    string
		want bool
		max  int
	}{
		// Denied: one HasAny and one SubjectsOf for the 20 teams, and one
		// of each for the two nested teams below them, read together (53
		// calls before).
		{"case:1#viewer@user:nobody", false, own + 2*2},
		// Allowed two levels down: the nested level's HasAny finds the
		// member, and the walk then asks the two nested teams one Has
		// each (46 calls before set-at-a-time reads).
		{"case:1#viewer@user:deep", true, own + 2*2 + 2},
		// Allowed on the first level: the HasAny finds the member, so
		// nothing below the teams is read ahead (the walk stops at the
		// member's team, and reading every team's subject sets would read
		// more than it does); the walk then reads the teams one at a time,
		// in key order, up to team t5, the 16th: one call more than the
		// 40 before.
		{"case:1#viewer@user:m5", true, own + 1 + 16 + 15},
	} {
		snap := newCountingSnap(base)
		if got := checkQ(t, c, snap, tc.q); got != tc.want {
			t.Fatalf("%s = %v, want %v", tc.q, got, tc.want)
		}
		if n := snap.total(); n > tc.max {
			t.Errorf("%s: %d store calls, want at most %d: %v", tc.q, n, tc.max, snap.reads)
		}
		if !tc.want && (snap.reads["has:member"] != 0 || snap.reads["subjects:member"] != 0) {
			t.Errorf("%s: teams read one at a time: %v", tc.q, snap.reads)
		}
		t.Logf("%s: %d store calls: %v", tc.q, snap.total(), snap.reads)
	}
}

// TestSetReadsArrow: an arrow to many objects (a document in 20 folders)
// reads their relation in one HasAny when none grants, where it read one
// Has per folder.
func TestSetReadsArrow(t *testing.T) {
	const folders = `type user

type folder {
  relation viewer: user
}

type doc {
  relation parent: folder
  relation viewer = parent#viewer
}
`
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("doc:1#parent@folder:f%d", i), fmt.Sprintf("folder:f%d#viewer@user:u%d", i, i))
	}
	base := newSnap(t, folders, lines...)
	c := New(Options{CacheSize: -1})
	for _, tc := range []struct {
		q    string
		want bool
	}{{"doc:1#viewer@user:nobody", false}, {"doc:1#viewer@user:u0", true}} {
		snap := newCountingSnap(base)
		if got := checkQ(t, c, snap, tc.q); got != tc.want {
			t.Fatalf("%s = %v, want %v", tc.q, got, tc.want)
		}
		if !tc.want && (snap.total() != 2 || snap.reads["hasany:viewer"] != 1) {
			t.Errorf("%s: %d store calls, want 2 (the parents, one HasAny): %v", tc.q, snap.total(), snap.reads)
		}
	}
}

// TestSetReadsLookupSubjectsOneLevel: the team an access list names and
// the assignee's team are read in one SubjectsOf, as are the teams nested
// below both, although the walk finds the first through the case's own
// relation and the second through an arrow.
func TestSetReadsLookupSubjectsOneLevel(t *testing.T) {
	base := newSnap(t, casebook,
		"case:1#assignee@user:boss", "user:boss#team@team:a",
		"case:1#access_list@team:b#member",
		"team:a#member@user:ann", "team:a#member@team:a1#member", "team:a1#member@user:al",
		"team:b#member@user:bob", "team:b#member@team:b1#member", "team:b1#member@user:bo")
	c := New(Options{CacheSize: -1})
	snap := newCountingSnap(base)
	res, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer", Type: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res); got != "[user:al user:ann user:bo user:bob user:boss]" {
		t.Errorf("viewers %s", got)
	}
	// Two levels of teams: one SubjectsOf each, no team read alone.
	if snap.reads["subjectsof:member"] != 2 || snap.reads["subjects:member"] != 0 {
		t.Errorf("teams read %v, want two SubjectsOf of member and no Subjects", snap.reads)
	}
}

// TestLookupSubjectsDepthShortestChain: walking the case's own relations
// first reaches team:b#member by a chain of six pairs before the chain of
// three through the owner's team; the limit of five is the shortest
// chain's to meet, so the lookup answers, as a check does.
func TestLookupSubjectsDepthShortestChain(t *testing.T) {
	const chain = `type user

type team {
  relation member: user | team#member
}

type doc {
  relation owner: team
  relation direct: team#member
  relation c = direct
  relation b = c
  relation a = b
  relation view = a | owner#member
}
`
	snap := newSnap(t, chain, "doc:1#owner@team:a", "team:a#member@team:b#member", "doc:1#direct@team:b#member", "team:b#member@user:u")
	c := New(Options{MaxDepth: 5, CacheSize: -1})
	res, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "doc:1"), Relation: "view", Type: "user"})
	if err != nil || fmt.Sprint(res) != "[user:u]" {
		t.Errorf("lookup subjects = %v, %v; want [user:u]", res, err)
	}
	if !checkQ(t, c, snap, "doc:1#view@user:u") {
		t.Error("check of user:u denied")
	}
}
