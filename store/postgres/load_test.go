package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

// TestImportPaths drives an import down each of its two paths (straight
// into the tuples table, or checked against the live rows at commit) and
// across from one to the other, and checks that every path stores each
// tuple once, keeps tuples already stored as they were, and logs every
// input line.
func TestImportPaths(t *testing.T) {
	ctx := context.Background()
	// lines returns n distinct tuples from doc:from on.
	lines := func(from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i%7))
		}
		return out
	}
	cases := []struct {
		name string
		// before is written before the import; in is the import.
		before []string
		in     []string
		// straight is how many changes should go straight in.
		straight int
	}{
		{"empty store, distinct tuples", nil, lines(0, 450), 450},
		{"a repeat in the third chunk", nil, append(lines(0, 250), append(lines(10, 1), lines(250, 120)...)...), 200},
		{"a repeat inside the first chunk", nil, append(lines(0, 50), append(lines(3, 1), lines(50, 200)...)...), 0},
		{"a store holding tuples", lines(100, 5), lines(0, 300), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := openBackend(t, Options{})
			var straight, total int
			b.loaded = func(s, n int) { straight, total = s, n }
			s := store.New(b, store.Options{ImportChunk: 100})
			before := storetest.Setup(t, ctx, s, c.before...)
			res, err := s.Import(ctx, strings.NewReader(strings.Join(c.in, "\n")), store.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if straight != c.straight || total != len(c.in) {
				t.Errorf("%d of %d changes went straight in, want %d of %d", straight, total, c.straight, len(c.in))
			}
			want := map[string]bool{}
			for _, l := range append(append([]string(nil), c.before...), c.in...) {
				want[l] = true
			}
			sn := storetest.Snap(t, ctx, s, res.Revision)
			got := storetest.All(t, ctx, sn, tuples.Filter{})
			if len(got) != len(want) {
				t.Fatalf("%d tuples stored, want %d", len(got), len(want))
			}
			for _, g := range got {
				if !want[g] {
					t.Fatalf("stored %s, which was never written", g)
				}
			}
			// One row per tuple: none was added twice, and a tuple stored
			// before kept its row and its revision.
			var rows, kept int
			if err := b.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE created_rev <= $1) FROM docket_tuples`, int64(before)).Scan(&rows, &kept); err != nil {
				t.Fatal(err)
			}
			if rows != len(want) || kept != len(c.before) {
				t.Fatalf("%d rows, %d of them from before the import; want %d and %d", rows, kept, len(want), len(c.before))
			}
			changes, err := s.Changes(ctx, before, 0)
			if err != nil || len(changes) != len(c.in) {
				t.Fatalf("the import logged %d changes (%v), want %d", len(changes), err, len(c.in))
			}
		})
	}
}
