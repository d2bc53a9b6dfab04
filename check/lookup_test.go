package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// casebookAgency is a small agency of the casebook schema: an assignee's
// team with a nested team, an access list, a deny list and a public case.
var casebookAgency = []string{
	"case:1#assignee@user:ana",
	"user:ana#team@team:east",
	"team:east#member@user:bo",
	"team:east#member@team:intake#member",
	"team:intake#member@user:ida",
	"case:2#access_list@team:intake#member",
	"case:3#creator@user:ida",
	"case:3#deny_list@team:intake#member",
	"case:4#public@user:*",
}

func TestLookupsCasebook(t *testing.T) {
	snap := newSnap(t, casebook, casebookAgency...)
	c := New(Options{})
	ctx := context.Background()
	resources := func(subj string, limit int, cursor string) ([]string, string) {
		t.Helper()
		var got []string
		next, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: mustSubject(t, subj), Type: "case", Relation: "viewer", Limit: limit, Cursor: cursor},
			func(o tuples.Object) bool { got = append(got, o.String()); return true })
		if err != nil {
			t.Fatal(err)
		}
		return got, next
	}
	if got, next := resources("user:ida", 0, ""); fmt.Sprint(got) != "[case:1 case:2 case:4]" || next != "" {
		t.Errorf("ida views %v (next %q)", got, next)
	}
	got, next := resources("user:ida", 2, "")
	if fmt.Sprint(got) != "[case:1 case:2]" || next == "" {
		t.Fatalf("first page %v, next %q", got, next)
	}
	if got, next = resources("user:ida", 2, next); fmt.Sprint(got) != "[case:4]" || next != "" {
		t.Errorf("second page %v, next %q", got, next)
	}
	// ResourceCursor resumes after an object as the cursor of a page
	// that ended there does.
	if got, _ := resources("user:ida", 0, ResourceCursor("2")); fmt.Sprint(got) != "[case:4]" {
		t.Errorf("after ResourceCursor(2): %v", got)
	}
	if got, _ := resources("team:intake#member", 0, ""); fmt.Sprint(got) != "[case:1 case:2]" {
		t.Errorf("team:intake#member reaches %v", got)
	}
	if _, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: mustSubject(t, "user:ida"), Type: "case", Relation: "viewer", Cursor: "junk!"},
		func(tuples.Object) bool { return true }); err == nil || !strings.Contains(err.Error(), "invalid cursor") {
		t.Errorf("bad cursor: %v", err)
	}

	subjects := func(q SubjectQuery) string {
		t.Helper()
		res, err := c.LookupSubjects(ctx, snap, q)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res)
	}
	if got := subjects(SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer"}); got != "[user:ana user:bo user:ida]" {
		t.Errorf("case:1 viewers %s", got)
	}
	if got := subjects(SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer", Type: "team", SubjectRelation: "member"}); got != "[team:east#member team:intake#member]" {
		t.Errorf("case:1 viewer sets %s", got)
	}
	if got := subjects(SubjectQuery{Object: mustObject(t, "case:3"), Relation: "viewer"}); got != "[]" {
		t.Errorf("case:3 viewers %s", got)
	}
	if got := subjects(SubjectQuery{Object: mustObject(t, "case:1"), Relation: "editor", Type: "user"}); got != "[user:ana]" {
		t.Errorf("case:1 editors %s", got)
	}
	if _, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer", SubjectRelation: "member"}); err == nil {
		t.Error("subject relation without type accepted")
	}
}

// TestLookupsDepthLimit: a chain of nested teams longer than the depth
// limit is the error a check along it meets, for both lookups, whether or
// not a shortcut spares the lookup its checks; within the limit, both
// answer.
func TestLookupsDepthLimit(t *testing.T) {
	lines := []string{"case:9#access_list@team:t0#member", "case:8#creator@user:deep"}
	for i := 0; i < 8; i++ {
		lines = append(lines, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	lines = append(lines, "team:t8#member@user:deep")
	snap := newSnap(t, casebook, lines...)
	ctx := context.Background()
	deep := mustSubject(t, "user:deep")
	var de *DepthError

	shallow := New(Options{MaxDepth: 4})
	if _, err := shallow.Check(ctx, snap, Query{Object: mustObject(t, "case:9"), Relation: "viewer", Subject: deep}); !errors.As(err, &de) {
		t.Fatalf("check past the limit: %v, want a DepthError", err)
	}
	_, err := shallow.LookupResources(ctx, snap, ResourceQuery{Subject: deep, Type: "case", Relation: "viewer"},
		func(tuples.Object) bool { return true })
	if !errors.As(err, &de) || de.Limit != 4 || !strings.Contains(err.Error(), "team:t") {
		t.Errorf("lookup resources past the limit: %v, want a DepthError naming the chain", err)
	}
	_, err = shallow.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "case:9"), Relation: "viewer"})
	if !errors.As(err, &de) || de.Limit != 4 {
		t.Errorf("lookup subjects past the limit: %v, want a DepthError", err)
	}

	enough := New(Options{MaxDepth: 20})
	var got []string
	if _, err := enough.LookupResources(ctx, snap, ResourceQuery{Subject: deep, Type: "case", Relation: "viewer"},
		func(o tuples.Object) bool { got = append(got, o.String()); return true }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "case:8 case:9" {
		t.Errorf("lookup resources within the limit = %v", got)
	}
	res, err := enough.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "case:9"), Relation: "viewer", Type: "user"})
	if err != nil || len(res) != 1 || res[0].Subject != deep {
		t.Errorf("lookup subjects within the limit = %v, %v", res, err)
	}
}

// TestLookupResourcesReusedWalker: a checker reuses one walk's table of
// pairs for the next lookup; lookups one after another on one checker,
// past the depth limit or not, answer as each would on a fresh checker.
func TestLookupResourcesReusedWalker(t *testing.T) {
	lines := append(slices.Clone(casebookAgency), "case:9#access_list@team:t0#member", "case:8#creator@user:deep")
	for i := 0; i < 8; i++ {
		lines = append(lines, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	lines = append(lines, "team:t8#member@user:deep", "team:t2#member@user:mid")
	snap := newSnap(t, casebook, lines...)
	ctx := context.Background()
	lookup := func(c *Checker, subj string) string {
		var got []string
		_, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: mustSubject(t, subj), Type: "case", Relation: "viewer"},
			func(o tuples.Object) bool { got = append(got, o.String()); return true })
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(got, " ")
	}
	shared := New(Options{MaxDepth: 6, CacheSize: -1})
	subjects := []string{"user:deep", "user:ana", "user:mid", "user:ida", "user:deep", "user:bo", "team:east#member", "user:mid", "user:nobody", "user:ana"}
	depthErrors, answers := 0, 0
	for _, subj := range subjects {
		want := lookup(New(Options{MaxDepth: 6, CacheSize: -1}), subj)
		if got := lookup(shared, subj); got != want {
			t.Errorf("lookup for %s on a reused checker = %q, on a fresh one %q", subj, got, want)
		}
		t.Logf("%s: %s", subj, want)
		if strings.HasPrefix(want, "error: ") {
			depthErrors++
		} else if want != "" {
			answers++
		}
	}
	if depthErrors == 0 || answers < 3 {
		t.Fatalf("%d depth errors and %d answers: the test compares too little", depthErrors, answers)
	}
}
