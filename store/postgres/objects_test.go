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
