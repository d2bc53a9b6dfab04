package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkTeamTree times a nested-team check on Badger, cache off, in a
// tree of 300 teams and in one of 10,000 (fan-out 7 in both; 5 and 6
// levels), answered from the membership index, searched level by level
// between the team and the subject's teams with each step chosen by the
// store's counts ("up") or by the sizes of the two sides ("up-sizes"),
// and walked down from the team: a user in
// a leaf team asked about the root of its tree, a member, and about
// another root, not one. Each tree is timed as imported and, as
// teams=N-reopened, after the store was closed and opened again (see
// below).
//
//	go test ./bench -run '^$' -bench TeamTree -count 6
func BenchmarkTeamTree(b *testing.B) {
	for _, tree := range []struct {
		teams    int
		reopened bool
	}{{300, false}, {10_000, false}, {300, true}, {10_000, true}} {
		teams := tree.teams
		dir := b.TempDir()
		st, err := badger.Open(dir, badger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := st.WriteSchema(ctx, "casebook.rebac", []byte(fixture.Casebook)); err != nil {
			b.Fatal(err)
		}
		// Two trees: team t0 and team s0 are the roots; team i's parent is
		// (i-1)/7 within its tree; a user in every team.
		var in strings.Builder
		for _, root := range []string{"t", "s"} {
			for i := 1; i < teams; i++ {
				fmt.Fprintf(&in, "team:%s%d#member@team:%s%d#member\n", root, (i-1)/7, root, i)
			}
			for i := range teams {
				fmt.Fprintf(&in, "team:%s%d#member@user:%s%d\n", root, i, root, i)
			}
		}
		if _, err := st.Import(ctx, strings.NewReader(in.String()), store.ImportOptions{Format: tuples.FormatText, Name: "tree"}); err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("teams=%d", teams)
		if tree.reopened {
			// Imported, the 300-team tree (1,200 tuples) lives in Badger's
			// memtable and the 10,000-team one in tables; closed and
			// opened again, both are read from tables, so the two sizes
			// are compared on the same reads.
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			if st, err = badger.Open(dir, badger.Options{}); err != nil {
				b.Fatal(err)
			}
			name += "-reopened"
		}
		// Timed as a serving process answers: with the membership index
		// in memory built.
		if _, err := store.WaitMemIndex(ctx, st); err != nil {
			b.Fatal(err)
		}
		snap, err := st.Snapshot(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		// Users of the last 100 teams, the leaves of the deepest level.
		var member, other []check.Query
		for i := teams - 100; i < teams; i++ {
			u := tuples.Subject{Type: "user", ID: fmt.Sprint("t", i)}
			member = append(member, check.Query{Object: tuples.Object{Type: "team", ID: "t0"}, Relation: "member", Subject: u})
			other = append(other, check.Query{Object: tuples.Object{Type: "team", ID: "s0"}, Relation: "member", Subject: u})
		}
		for _, walk := range []struct {
			name                            string
			down, ignoreIndex, ignoreCounts bool
		}{{"index", false, false, false}, {"up", false, true, false}, {"up-sizes", false, true, true}, {"down", true, false, false}} {
			c := check.New(check.Options{CacheSize: -1, DownwardOnly: walk.down, IgnoreIndex: walk.ignoreIndex, IgnoreCounts: walk.ignoreCounts})
			for _, kind := range []struct {
				name string
				qs   []check.Query
				want bool
			}{{"member", member, true}, {"not-member", other, false}} {
				b.Run(fmt.Sprintf("%s/%s/%s", name, kind.name, walk.name), func(b *testing.B) {
					latency(b, func(i int) error {
						r, err := c.Check(ctx, snap, kind.qs[i%len(kind.qs)])
						if err == nil && r.Allowed != kind.want {
							err = fmt.Errorf("%s: allowed=%v", kind.qs[i%len(kind.qs)], r.Allowed)
						}
						return err
					})
				})
			}
		}
		snap.Close()
		st.Close()
	}
}
