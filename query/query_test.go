package query_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

const testSchema = `type user

type team {
  relation member: user | team#member
}

type case {
  relation assignee: user
  relation access_list: user | team#member
  relation deny_list: user
  relation viewer = assignee | access_list - deny_list
}
`

func newService(t *testing.T, lines ...string) *query.Service {
	t.Helper()
	ctx := context.Background()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := query.New(st, query.Options{CacheSize: -1})
	if _, err := st.WriteSchema(ctx, "test.rebac", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	var b tuples.Batch
	for _, l := range lines {
		tp, err := tuples.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
	}
	if _, err := svc.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	return svc
}

func mustQuery(t *testing.T, s string) check.Query {
	t.Helper()
	tp, err := tuples.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return check.Query{Object: tp.Object(), Relation: tp.Relation, Subject: tp.Subject()}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "case:1#access_list@team:east#member", "team:east#member@user:bob", "case:1#deny_list@user:mallory", "team:east#member@user:mallory")
	r, err := svc.Reader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Check(ctx, query.CheckRequest{Checks: []check.Query{
		mustQuery(t, "case:1#viewer@user:bob"),
		mustQuery(t, "case:1#viewer@user:mallory"),
		mustQuery(t, "case:1#viewer@user:carol"),
	}, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{res[0].Allowed, res[1].Allowed, res[2].Allowed}
	if !slices.Equal(got, []bool{true, false, false}) || res[0].Query != "case:1#viewer@user:bob" || res[0].Explanation == nil {
		t.Fatalf("check = %+v", res)
	}
	if !query.IsDenied(res) || query.IsDenied(res[:1]) {
		t.Error("IsDenied")
	}
	// Contextual tuples grant for this request only.
	carol := mustQuery(t, "case:1#viewer@user:carol")
	with := []tuples.Tuple{tuples.New(tuples.Object{Type: "case", ID: "1"}, "assignee", tuples.Subject{Type: "user", ID: "carol"})}
	if res, err := r.Check(ctx, query.CheckRequest{Checks: []check.Query{carol}, With: with}); err != nil || !res[0].Allowed {
		t.Errorf("check with a contextual tuple = %+v, %v", res, err)
	}
	bad := []tuples.Tuple{tuples.New(tuples.Object{Type: "case", ID: "1"}, "viewer", tuples.Subject{Type: "user", ID: "carol"})}
	if _, err := r.Check(ctx, query.CheckRequest{Checks: []check.Query{carol}, With: bad}); err == nil || !strings.Contains(err.Error(), "computed") {
		t.Errorf("a contextual tuple on a computed relation = %v", err)
	}
	// Unknown names are typed, with a suggestion, and of kind invalid
	// argument for every transport.
	for _, q := range []string{"case:1#veiwer@user:bob", "kase:1#viewer@user:bob", "case:1#viewer@usr:bob", "case:1#viewer@team:east#membr"} {
		_, err := r.Check(ctx, query.CheckRequest{Checks: []check.Query{mustQuery(t, q)}})
		var ne *schema.NameError
		if !errors.As(err, &ne) || ne.Suggestion == "" || !errors.Is(err, errkind.ErrUnknownName) || errkind.Of(err) != errkind.InvalidArgument {
			t.Errorf("%s: %v, want a NameError with a suggestion", q, err)
		}
	}
	if _, err := r.Check(ctx, query.CheckRequest{}); errkind.Of(err) != errkind.InvalidArgument {
		t.Errorf("no checks: %v", err)
	}
}

func TestReaderPinsOneRevision(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "case:1#assignee@user:ana")
	r, err := svc.Reader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := svc.DeleteMatching(ctx, tuples.Filter{ObjectType: "case"}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Check(ctx, query.CheckRequest{Checks: []check.Query{mustQuery(t, "case:1#viewer@user:ana")}})
	if err != nil || !res[0].Allowed {
		t.Errorf("a reader opened before a delete answers %+v, %v; want allowed", res, err)
	}
	if _, _, err := svc.DeleteMatching(ctx, tuples.Filter{}); errkind.Of(err) != errkind.InvalidArgument {
		t.Errorf("empty delete filter: %v", err)
	}
	// A store without a schema has nothing to answer with.
	st, _ := memory.New()
	defer st.Close()
	if _, err := query.New(st, query.Options{}).Reader(ctx, 0); !errors.Is(err, errkind.ErrNoSchema) || errkind.Of(err) != errkind.FailedPrecondition {
		t.Errorf("reader without a schema: %v", err)
	}
	if _, err := svc.Reader(ctx, 99); errkind.Of(err) != errkind.OutOfRange {
		t.Errorf("reader in the future: %v", err)
	}
}

func TestLookups(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "case:1#assignee@user:ana", "case:2#assignee@user:ana", "case:3#access_list@team:east#member", "team:east#member@user:ana")
	r, err := svc.Reader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pages [][]string
	cursor := ""
	for {
		var page []string
		next, err := r.LookupResources(ctx, query.ResourcesRequest{Subject: tuples.Subject{Type: "user", ID: "ana"}, Type: "case", Relation: "viewer", Limit: 2, Cursor: cursor},
			func(o tuples.Object) bool { page = append(page, o.String()); return true })
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(pages) != 2 || !slices.Equal(append(pages[0], pages[1]...), []string{"case:1", "case:2", "case:3"}) {
		t.Errorf("pages = %v", pages)
	}
	if _, err := r.LookupResources(ctx, query.ResourcesRequest{Subject: tuples.Subject{Type: "user", ID: "ana"}, Type: "case", Relation: "viewer", Limit: -1}, nil); errkind.Of(err) != errkind.InvalidArgument {
		t.Errorf("negative limit: %v", err)
	}
	subs, err := r.LookupSubjects(ctx, query.SubjectsRequest{Object: tuples.Object{Type: "case", ID: "3"}, Relation: "viewer", Type: "user"})
	if err != nil || len(subs) != 1 || subs[0].Subject.ID != "ana" {
		t.Errorf("lookup subjects = %v, %v", subs, err)
	}
	tree, err := r.Expand(ctx, query.ExpandRequest{Object: tuples.Object{Type: "case", ID: "3"}, Relation: "viewer"})
	if err != nil || !strings.Contains(tree.String(), "team:east#member") {
		t.Errorf("expand = %v, %v", tree, err)
	}
	if _, err := r.Expand(ctx, query.ExpandRequest{Object: tuples.Object{Type: "case", ID: "3"}, Relation: "viwer"}); !errors.Is(err, errkind.ErrUnknownName) {
		t.Errorf("expand of an unknown relation: %v", err)
	}
}

func TestSchemaWrite(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "case:1#deny_list@user:mallory")
	same, err := schema.Load("same.rebac", []byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.SchemaWrite(ctx, "same.rebac", []byte(testSchema), same, false)
	if err != nil || !res.Unchanged || res.Written {
		t.Errorf("writing the stored schema again = %+v, %v; want unchanged", res, err)
	}
	smaller := strings.Replace(testSchema, "  relation deny_list: user\n", "", 1)
	smaller = strings.Replace(smaller, " - deny_list", "", 1)
	next, err := schema.Load("next.rebac", []byte(smaller))
	if err != nil {
		t.Fatal(err)
	}
	res, err = svc.SchemaWrite(ctx, "next.rebac", []byte(smaller), next, true)
	if errkind.Of(err) != errkind.FailedPrecondition || !slices.Equal(res.Orphans, []string{"case:1#deny_list@user:mallory"}) || res.Written {
		t.Errorf("dry run of a schema that strands a tuple = %+v, %v", res, err)
	}
	res, err = svc.SchemaWrite(ctx, "next.rebac", []byte(smaller), next, false)
	if err == nil || res.Written || !slices.Equal(res.Orphans, []string{"case:1#deny_list@user:mallory"}) {
		t.Errorf("a schema that strands a tuple = %+v, %v; want refused, naming the tuple", res, err)
	}
	// The preview lists the changes and reads no tuple: it does not refuse.
	preview, err := svc.SchemaChanges(ctx, next)
	if err != nil || preview.Written || preview.Unchanged || len(preview.Changes) == 0 || preview.Revision != 2 {
		t.Errorf("schema changes = %+v, %v", preview, err)
	}
	if preview, err := svc.SchemaChanges(ctx, same); err != nil || !preview.Unchanged || len(preview.Changes) != 0 {
		t.Errorf("schema changes of the stored schema = %+v, %v; want unchanged", preview, err)
	}
	sch, rev, err := svc.SchemaRead(ctx, 0)
	if err != nil || sch.Relation("case", "deny_list") == nil || rev != 2 {
		t.Errorf("schema read = rev %d, %v", rev, err)
	}
}

func TestSchemaWriteAccepted(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "case:1#deny_list@user:mallory")
	wider := testSchema + "\ntype folder {\n  relation owner: user\n}\n"
	next, err := schema.Load("wider.rebac", []byte(wider))
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.SchemaWrite(ctx, "wider.rebac", []byte(wider), next, false)
	if err != nil || !res.Written || res.Revision != 3 || len(res.Orphans) != 0 || len(res.Changes) != 2 || res.Changes[0].Type != "folder" {
		t.Fatalf("widening the schema = %+v, %v", res, err)
	}
	st, err := svc.Stats(ctx)
	if err != nil || st.Revision != 3 {
		t.Errorf("stats = %+v, %v; want revision 3", st, err)
	}
}
