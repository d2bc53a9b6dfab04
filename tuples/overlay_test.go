package tuples_test

import (
	"context"
	"slices"
	"testing"

	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

func TestOverlay(t *testing.T) {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.Setup(t, ctx, s, "doc:1#viewer@user:ann", "doc:1#viewer@team:t#member", "doc:2#viewer@user:ann")
	base := storetest.Snap(t, ctx, s, 0)
	if tuples.Overlay(base, nil) != base {
		t.Error("an empty overlay is not the snapshot itself")
	}
	extra := []tuples.Tuple{
		storetest.MustParse(t, "doc:1#viewer@user:bob"),
		storetest.MustParse(t, "doc:1#viewer@user:ann"), // also stored
		storetest.MustParse(t, "doc:1#viewer@user:bob"), // twice
		storetest.MustParse(t, "doc:3#viewer@user:ann"),
	}
	o := tuples.Overlay(base, extra)

	for _, c := range []struct {
		tuple string
		want  bool
	}{{"doc:1#viewer@user:bob", true}, {"doc:1#viewer@user:ann", true}, {"doc:3#viewer@user:ann", true}, {"doc:3#viewer@user:bob", false}} {
		tp := storetest.MustParse(t, c.tuple)
		if got, err := o.Has(ctx, tp.Object(), tp.Relation, tp.Subject()); err != nil || got != c.want {
			t.Errorf("Has(%s) = %v, %v; want %v", c.tuple, got, err, c.want)
		}
	}

	var subjects []string
	for x, err := range o.Subjects(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.SubjectFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, x.String())
	}
	slices.Sort(subjects)
	if want := []string{"team:t#member", "user:ann", "user:bob"}; !slices.Equal(subjects, want) {
		t.Errorf("Subjects = %v, want %v (each once)", subjects, want)
	}
	var plain []string
	for x, err := range o.Subjects(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.SubjectFilter{Plain: true}) {
		if err != nil {
			t.Fatal(err)
		}
		plain = append(plain, x.String())
	}
	slices.Sort(plain)
	if want := []string{"user:ann", "user:bob"}; !slices.Equal(plain, want) {
		t.Errorf("Subjects(Plain) = %v, want %v", plain, want)
	}

	var objects []string
	for obj, err := range o.Reverse(ctx, tuples.Subject{Type: "user", ID: "ann"}, "doc", "viewer") {
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, obj.String())
	}
	if want := []string{"doc:1", "doc:2", "doc:3"}; !slices.Equal(objects, want) {
		t.Errorf("Reverse = %v, want %v (each once, in order of id)", objects, want)
	}

	// The set-at-a-time reads see what the one-object reads see.
	docs := []tuples.Object{{Type: "doc", ID: "3"}, {Type: "doc", ID: "1"}, {Type: "doc", ID: "9"}}
	for _, subj := range []tuples.Subject{{Type: "user", ID: "ann"}, {Type: "user", ID: "bob"}, {Type: "user", ID: "cy"}} {
		want, _ := tuples.LoopHasAny(ctx, o, docs, "viewer", []tuples.Subject{subj})
		if got, err := o.HasAny(ctx, docs, "viewer", []tuples.Subject{subj}); err != nil || got != want {
			t.Errorf("HasAny(%s) = %v, %v; want %v", subj, got, err, want)
		}
	}
	collect := func(seq func(func(tuples.Tuple, error) bool)) []string {
		var out []string
		for tp, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tp.String())
		}
		slices.Sort(out)
		return out
	}
	if got, want := collect(o.SubjectsOf(ctx, docs, "viewer", tuples.SubjectFilter{})), collect(tuples.LoopSubjectsOf(ctx, o, docs, "viewer", tuples.SubjectFilter{})); !slices.Equal(got, want) {
		t.Errorf("SubjectsOf = %v, want %v (each once)", got, want)
	}
	subjs := []tuples.Subject{{Type: "user", ID: "ann"}, {Type: "team", ID: "t", Relation: "member"}}
	if got, want := collect(o.ObjectsOf(ctx, subjs, "doc", "viewer")), collect(tuples.LoopObjectsOf(ctx, o, subjs, "doc", "viewer")); !slices.Equal(got, want) || len(got) != 4 {
		t.Errorf("ObjectsOf = %v, want %v (each once)", got, want)
	}

	// Read pages through stored tuples only.
	ts, _, err := o.Read(ctx, tuples.Filter{ObjectType: "doc", ObjectID: "3"}, "", 0)
	if err != nil || len(ts) != 0 {
		t.Errorf("Read saw extra tuples: %v, %v", ts, err)
	}
	if o.Revision() != base.Revision() || o.Schema() != base.Schema() {
		t.Error("overlay changed the revision or schema")
	}
}
