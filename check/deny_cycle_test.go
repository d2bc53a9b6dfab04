package check

import (
	"context"
	"slices"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// A deny list naming a team whose membership is a cycle with no user in
// it denies nobody: the loop settles false, so the base is not excluded.
// Check and both lookups agree.
func TestDenyListOfAnEmptyTeamCycleDeniesNobody(t *testing.T) {
	const schemaText = `
type user
type team {
  relation member: user | team#member
}
type case {
  relation access_list: user | team#member
  relation deny_list: user | team#member
  relation viewer = access_list - deny_list
}`
	lines := []string{
		"team:x#member@team:y#member",
		"team:y#member@team:z#member",
		"team:z#member@team:x#member",
		"case:1#deny_list@team:x#member",
		"case:1#access_list@user:bob",
		"case:1#access_list@team:x#member",
	}
	snap := newSnap(t, schemaText, lines...)
	c := New(Options{})
	expectChecks(t, c, snap,
		[]string{"case:1#viewer@user:bob", "case:1#access_list@user:bob"},
		[]string{"case:1#deny_list@user:bob", "team:x#member@user:bob", "case:1#viewer@user:eve"})

	var found []string
	if _, err := c.LookupResources(context.Background(), snap, ResourceQuery{Subject: mustSubject(t, "user:bob"), Type: "case", Relation: "viewer"},
		func(o tuples.Object) bool { found = append(found, o.String()); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(found, []string{"case:1"}) {
		t.Errorf("lookup resources user:bob case#viewer = %v, want [case:1]", found)
	}
	subs, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer", Type: "user"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range subs {
		names = append(names, s.String())
	}
	if !slices.Equal(names, []string{"user:bob"}) {
		t.Errorf("lookup subjects case:1#viewer = %v, want [user:bob]", names)
	}

	// Adding a user to the cycle denies that user, and only that user.
	snap = newSnap(t, schemaText, append(lines, "team:y#member@user:bob", "case:1#access_list@user:ann")...)
	expectChecks(t, c, snap, []string{"case:1#viewer@user:ann"}, []string{"case:1#viewer@user:bob"})
}
