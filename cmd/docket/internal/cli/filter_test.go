package cli

import (
	"strings"
	"testing"

	"github.com/docketdb/docket/tuples"
)

func TestParsePartial(t *testing.T) {
	for _, c := range []struct {
		in   string
		want tuples.Filter
		err  string
	}{
		{in: "case", want: tuples.Filter{ObjectType: "case"}},
		{in: "case:1", want: tuples.Filter{ObjectType: "case", ObjectID: "1"}},
		{in: "case:1#viewer", want: tuples.Filter{ObjectType: "case", ObjectID: "1", Relation: "viewer"}},
		{in: "case#viewer@user", want: tuples.Filter{ObjectType: "case", Relation: "viewer", SubjectType: "user"}},
		{in: "case#@user:ana@example.org", want: tuples.Filter{ObjectType: "case", SubjectType: "user", SubjectID: "ana@example.org"}},
		{in: "case:1#access_list@team:east#member", want: tuples.Filter{ObjectType: "case", ObjectID: "1",
			Relation: "access_list", SubjectType: "team", SubjectID: "east", SubjectRelation: "member"}},
		{in: "case@user:bob", want: tuples.Filter{ObjectType: "case", SubjectType: "user", SubjectID: "bob"}},
		{in: ":1", err: "missing object type"},
		{in: "case:", err: "empty object id"},
		{in: "case#", err: "empty relation"},
		{in: "case#viewer@", err: "empty subject"},
		{in: "case#viewer@:bob", err: "missing subject type"},
	} {
		got, err := parsePartial(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestMergeFilterConflict(t *testing.T) {
	got, err := mergeFilter(tuples.Filter{ObjectType: "case"}, tuples.Filter{ObjectType: "case", Relation: "viewer"})
	if err != nil || got != (tuples.Filter{ObjectType: "case", Relation: "viewer"}) {
		t.Errorf("merge: %+v %v", got, err)
	}
	_, err = mergeFilter(tuples.Filter{ObjectType: "case"}, tuples.Filter{ObjectType: "team"})
	if err == nil || !strings.Contains(err.Error(), "conflicting filters: object-type") {
		t.Errorf("conflict not reported: %v", err)
	}
	f := newFixture(t)
	r := f.run("tuple", "read", "case:1", "--object-type", "team")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "conflicting filters")
}
