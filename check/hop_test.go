package check

import (
	"context"
	"slices"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// A hop through a relation that allows subject sets follows each stored
// subject set to its object: `doc:1#owner@group:eng#member` leads
// `owner#viewer` to `group:eng#viewer`, not to eng's members.
const hopSchema = `type user

type group {
  relation member: user
  relation viewer: user
}

type doc {
  relation owner: group | group#member
  relation can_view = owner#viewer
  relation via_members = owner#member
}
`

func TestHopThroughSubjectSet(t *testing.T) {
	snap := newSnap(t, hopSchema,
		"group:eng#member@user:bob",
		"group:eng#viewer@user:ana",
		"group:ops#viewer@user:cy",
		"doc:1#owner@group:eng#member",
		// The same object stored plainly too: reached once.
		"doc:2#owner@group:eng",
		"doc:2#owner@group:eng#member",
		"doc:3#owner@group:ops",
	)
	c := New(Options{})
	for q, want := range map[string]bool{
		"doc:1#can_view@user:ana":    true,  // the hop reaches group:eng
		"doc:1#can_view@user:bob":    false, // not eng's members
		"doc:1#via_members@user:bob": true,
		"doc:1#can_view@user:cy":     false,
		"doc:3#can_view@user:cy":     true,
		"doc:2#can_view@user:ana":    true,
	} {
		if got := checkQ(t, c, snap, q); got != want {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}

	q := query(t, "doc:1#can_view@user:ana")
	q.Explain = true
	r, err := c.Check(context.Background(), snap, q)
	if err != nil || !r.Allowed {
		t.Fatalf("allowed=%v err=%v", r.Allowed, err)
	}
	want := "doc:1#can_view@user:ana allowed: doc:1#can_view <- owner#viewer <- doc:1#owner@group:eng#member <- group:eng#viewer@user:ana"
	if got := r.Explanation.String(); got != want {
		t.Errorf("explanation:\n got %s\nwant %s", got, want)
	}

	var docs []string
	_, err = c.LookupResources(context.Background(), snap, ResourceQuery{Subject: mustSubject(t, "user:ana"), Type: "doc", Relation: "can_view"},
		func(o tuples.Object) bool { docs = append(docs, o.String()); return true })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(docs)
	if !slices.Equal(docs, []string{"doc:1", "doc:2"}) {
		t.Errorf("lookup resources user:ana doc#can_view = %v, want [doc:1 doc:2]", docs)
	}

	res, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "doc:2"), Relation: "can_view"})
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, s := range res {
		subs = append(subs, s.String())
	}
	if !slices.Equal(subs, []string{"user:ana"}) {
		t.Errorf("lookup subjects doc:2#can_view = %v, want [user:ana]", subs)
	}
}
