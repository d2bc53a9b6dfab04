package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkIndexWrites times the writes that change the membership index,
// on Badger, against the same writes to a relation the index leaves alone
// (the same schema with `with expiration` on the nesting subject set, so
// not indexed): the cost of keeping the index, write by write.
//
//	go test ./bench -run '^$' -bench IndexWrites -count 3 -benchtime 300x
//
// Shapes: a tree of 300 teams of fan-out 7, 4 levels, a user in every
// team; a team under 10,000 teams; a chain of 40 teams.
//   - member-at-root: a user joins and leaves the root team (no row changes);
//   - move-subtree: a level-1 team (42 teams below it) moves between two
//     roots and back (43 rows rewritten each way);
//   - delete-team: a level-2 team with its members and its subject set
//     deleted by one delete matching, then written back;
//   - under-10000: a team joins and leaves the team that is inside 10,000
//     (its row is over the bound: an overflow marker, no rows);
//   - chain-40: the top of a 40-deep chain attached and detached (40 rows).
func BenchmarkIndexWrites(b *testing.B) {
	const nesting = `type user

type team {
  relation member: user | team#member
}
`
	notIndexed := strings.Replace(nesting, "team#member\n", "team#member with expiration\n", 1)
	for _, variant := range []struct{ name, schema string }{{"index", nesting}, {"not-indexed", notIndexed}} {
		ctx := context.Background()
		st, err := badger.Open(b.TempDir(), badger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.WriteSchema(ctx, "nesting.rebac", []byte(variant.schema)); err != nil {
			b.Fatal(err)
		}
		var in strings.Builder
		edge := func(p, c string) string { return fmt.Sprintf("team:%s#member@team:%s#member", p, c) }
		for i := 1; i < 300; i++ {
			fmt.Fprintln(&in, edge(fmt.Sprint("t", (i-1)/7), fmt.Sprint("t", i)))
		}
		for i := range 300 {
			fmt.Fprintf(&in, "team:t%d#member@user:u%d\n", i, i)
		}
		for i := range 10_000 {
			fmt.Fprintln(&in, edge(fmt.Sprint("w", i), "z"))
		}
		for i := 0; i+1 < 40; i++ {
			fmt.Fprintln(&in, edge(fmt.Sprint("c", i), fmt.Sprint("c", i+1)))
		}
		if _, err := st.Import(ctx, strings.NewReader(in.String()), store.ImportOptions{Name: "shapes"}); err != nil {
			b.Fatal(err)
		}
		parse := func(s string) tuples.Tuple {
			t, err := tuples.Parse(s)
			if err != nil {
				b.Fatal(err)
			}
			return t
		}
		write := func(kind tuples.OpKind, lines ...string) error {
			var batch tuples.Batch
			for _, l := range lines {
				batch.Ops = append(batch.Ops, tuples.Op{Kind: kind, Tuple: parse(l)})
			}
			_, err := st.Write(ctx, batch)
			return err
		}
		cases := []struct {
			name string
			op   func(i int) error
		}{
			{"member-at-root", func(i int) error {
				kind := tuples.OpTouch
				if i%2 == 1 {
					kind = tuples.OpDelete
				}
				return write(kind, "team:t0#member@user:newcomer")
			}},
			{"move-subtree", func(i int) error {
				from, to := "t0", "r0"
				if i%2 == 1 {
					from, to = to, from
				}
				var batch tuples.Batch
				batch.Ops = append(batch.Ops,
					tuples.Op{Kind: tuples.OpDelete, Tuple: parse(edge(from, "t1"))},
					tuples.Op{Kind: tuples.OpTouch, Tuple: parse(edge(to, "t1"))})
				_, err := st.Write(ctx, batch)
				return err
			}},
			{"delete-team", func(i int) error {
				if i%2 == 0 {
					if _, _, err := st.DeleteMatching(ctx, tuples.Filter{ObjectType: "team", ObjectID: "t9"}); err != nil {
						return err
					}
					_, _, err := st.DeleteMatching(ctx, tuples.Filter{SubjectType: "team", SubjectID: "t9", SubjectRelation: "member"})
					return err
				}
				lines := []string{edge("t1", "t9"), "team:t9#member@user:u9"}
				for c := 9*7 + 1; c <= 9*7+7; c++ {
					lines = append(lines, edge("t9", fmt.Sprint("t", c)))
				}
				return write(tuples.OpTouch, lines...)
			}},
			{"under-10000", func(i int) error {
				kind := tuples.OpTouch
				if i%2 == 1 {
					kind = tuples.OpDelete
				}
				return write(kind, edge("z", "y"))
			}},
			{"chain-40", func(i int) error {
				kind := tuples.OpTouch
				if i%2 == 1 {
					kind = tuples.OpDelete
				}
				return write(kind, edge("top", "c0"))
			}},
		}
		for _, c := range cases {
			b.Run(c.name+"/"+variant.name, func(b *testing.B) { latency(b, c.op) })
		}
		st.Close()
	}
}
