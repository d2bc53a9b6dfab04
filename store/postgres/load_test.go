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

// TestImportPaths drives an import down each of its paths (straight
// into the tuples table, straight into a table swapped in at the commit,
// or checked against the live rows at commit) and across from one to the
// other, and checks that every path stores each tuple once, keeps tuples
// already stored as they were, and logs every input line.
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
		// straight is how many changes should go straight in, into
		// docket_tuples or (swapped) into the table swapped in.
		straight, swapped int
	}{
		{"empty store, distinct tuples", nil, lines(0, 450), 450, 450},
		// The swapped path finds the repeat only when it builds the
		// primary key, and checks every change.
		{"a repeat in the third chunk", nil, append(lines(0, 250), append(lines(10, 1), lines(250, 120)...)...), 200, 0},
		{"a repeat inside the first chunk", nil, append(lines(0, 50), append(lines(3, 1), lines(50, 200)...)...), 0, 0},
		{"a store holding tuples", lines(100, 5), lines(0, 300), 0, 0},
	}
	for _, c := range cases {
		for _, swap := range []bool{false, true} {
			name := c.name
			want := c.straight
			if swap {
				name += ", swapped"
				want = c.swapped
			}
			t.Run(name, func(t *testing.T) { testImportPath(t, ctx, c.before, c.in, !swap, want) })
		}
	}
}

// testImportPath writes before, imports in, and checks what
// TestImportPaths describes.
func testImportPath(t *testing.T, ctx context.Context, before, in []string, noSwap bool, wantStraight int) {
	b := openBackend(t, Options{})
	b.noSwap = noSwap
	var straight, total int
	b.loaded = func(s, n int) { straight, total = s, n }
	s := store.New(b, store.Options{ImportChunk: 100})
	from := storetest.Setup(t, ctx, s, before...)
	res, err := s.Import(ctx, strings.NewReader(strings.Join(in, "\n")), store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if straight != wantStraight || total != len(in) {
		t.Errorf("%d of %d changes went straight in, want %d of %d", straight, total, wantStraight, len(in))
	}
	want := map[string]bool{}
	for _, l := range append(append([]string(nil), before...), in...) {
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
	if err := b.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE created_rev <= $1) FROM docket_tuples`, int64(from)).Scan(&rows, &kept); err != nil {
		t.Fatal(err)
	}
	if rows != len(want) || kept != len(before) {
		t.Fatalf("%d rows, %d of them from before the import; want %d and %d", rows, kept, len(want), len(before))
	}
	changes, err := s.Changes(ctx, from, 0)
	if err != nil || len(changes) != len(in) {
		t.Fatalf("the import logged %d changes (%v), want %d", len(changes), err, len(in))
	}
	var leftover bool
	if err := b.Pool().QueryRow(ctx, `SELECT to_regclass('`+importTable+`') IS NOT NULL`).Scan(&leftover); err != nil || leftover {
		t.Fatalf("the import table outlived the import (%v)", err)
	}
}
