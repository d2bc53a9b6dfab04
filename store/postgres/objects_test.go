package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// TestSnapshotRowsBounded fills a snapshot's object and subject rows to
// their bounds (lowered for the test) and checks that reads past them
// still answer rightly, asking the database each question, while what
// was kept keeps answering without it.
func TestSnapshotRowsBounded(t *testing.T) {
	for _, bound := range []struct {
		name          string
		entries, rows int
	}{{"entries", 3, 0}, {"rows", 0, 4}} {
		t.Run(bound.name, func(t *testing.T) {
			ctx := context.Background()
			b := openBackend(t, Options{})
			b.cacheEntries, b.cacheRows = bound.entries, bound.rows
			s := store.New(b, store.Options{})
			var lines []string
			for i := range 6 {
				lines = append(lines, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i), fmt.Sprintf("doc:%d#owner@user:o", i))
			}
			rev := storetest.Setup(t, ctx, s, lines...)
			sn := storetest.Snap(t, ctx, s, rev)
			count := func(what string, want int64, op func()) {
				t.Helper()
				before := b.Queries()
				op()
				if got := b.Queries() - before; got != want {
					t.Errorf("%s: %d round trips, want %d", what, got, want)
				}
			}
			viewers := func(i int) []string {
				var out []string
				for s, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: fmt.Sprint(i)}, "viewer", tuples.SubjectFilter{}) {
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s.String())
				}
				return out
			}
			// Two rows an object: either bound is reached after two or
			// three objects.
			for i := range 6 {
				if got := viewers(i); !slices.Equal(got, []string{fmt.Sprintf("user:u%d", i)}) {
					t.Fatalf("viewers of doc:%d = %v", i, got)
				}
			}
			count("an object kept", 0, func() {
				if !storetest.Has(t, ctx, sn, "doc:0#owner@user:o") {
					t.Error("doc:0#owner@user:o not found")
				}
			})
			count("an object past the bound, asked each question", 2, func() {
				if !storetest.Has(t, ctx, sn, "doc:5#owner@user:o") || storetest.Has(t, ctx, sn, "doc:5#owner@user:u5") {
					t.Error("has on doc:5 answered wrongly")
				}
			})
			count("a subject past the bound", 1, func() {
				var ids []string
				for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "o"}, "doc", "owner") {
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, o.ID)
				}
				if !slices.Equal(ids, []string{"0", "1", "2", "3", "4", "5"}) {
					t.Errorf("user:o owns %v", ids)
				}
			})
		})
	}
}

// TestSubjectRowsCarryIndexRows reads a subject's rows and then the index
// rows of the groups it is in: the second read makes no round trip (the
// first statement read them), and answers as a snapshot that asks the
// index itself does, for groups within the bound and over it, for a
// subject in no group, and for groups the subject is not in (asked).
func TestSubjectRowsCarryIndexRows(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{})
	s := store.New(b, store.Options{IndexBound: 3})
	// A chain t0 <- t1 <- ... <- t5 (t5 has five groups above, over the
	// bound), a second parent of t2, and users in some of them.
	var lines []string
	for i := 1; i <= 5; i++ {
		lines = append(lines, fmt.Sprintf("team:t%d#member@team:t%d#member", i-1, i))
	}
	lines = append(lines, "team:side#member@team:t2#member",
		"team:t2#member@user:ana", "team:t5#member@user:ana", "team:side#member@user:ana",
		"team:t1#member@user:bob", "doc:1#viewer@user:cy")
	rev := storetest.Setup(t, ctx, s, lines...)
	teams := func(sn tuples.Snapshot, user string) []tuples.Object {
		var out []tuples.Object
		for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: user}, "team", "member") {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
		return out
	}
	for _, user := range []string{"ana", "bob", "cy"} {
		sn := storetest.Snap(t, ctx, s, rev)
		groups := teams(sn, user)
		before := b.Queries()
		got, gotOK, err := sn.(tuples.GroupIndexBatch).GroupsAboveEach(ctx, groups, "member")
		if err != nil {
			t.Fatal(err)
		}
		if n := b.Queries() - before; n != 0 && len(groups) > 0 {
			t.Errorf("%s: the index rows of the user's groups took %d round trips, want 0", user, n)
		}
		fresh := storetest.Snap(t, ctx, s, rev)
		want, wantOK, err := fresh.(tuples.GroupIndexBatch).GroupsAboveEach(ctx, groups, "member")
		if err != nil {
			t.Fatal(err)
		}
		if gotOK != wantOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: groups above %v = %v (%v), asked directly %v (%v)", user, groups, got, gotOK, want, wantOK)
		}
		// ana's t5 is over the bound; bob's t1 is within it.
		if indexed := user != "ana"; wantOK != indexed {
			t.Fatalf("%s: the index answers %v, want %v", user, wantOK, indexed)
		}
		for _, g := range groups {
			row, ok, err := sn.(tuples.GroupIndex).GroupsAbove(ctx, g, "member")
			wrow, wok, werr := fresh.(tuples.GroupIndex).GroupsAbove(ctx, g, "member")
			if err != nil || werr != nil || ok != wok || fmt.Sprint(row) != fmt.Sprint(wrow) {
				t.Errorf("%s: groups above %v = %v (%v, %v), asked directly %v (%v, %v)", user, g, row, ok, err, wrow, wok, werr)
			}
		}
		// A group the user is not in is asked.
		other := []tuples.Object{{Type: "team", ID: "t3"}}
		got, gotOK, err = sn.(tuples.GroupIndexBatch).GroupsAboveEach(ctx, other, "member")
		want, wantOK, werr := fresh.(tuples.GroupIndexBatch).GroupsAboveEach(ctx, other, "member")
		if err != nil || werr != nil || gotOK != wantOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: groups above team:t3 = %v (%v, %v), asked directly %v (%v, %v)", user, got, gotOK, err, want, wantOK, werr)
		}
	}
}
