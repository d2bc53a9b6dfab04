package check

import (
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
