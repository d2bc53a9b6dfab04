package bench

import (
	"context"
	"strconv"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkNestingScans times, on Badger, the two reads a step of the
// search between a team and a user's teams makes, for the casebook's 300
// teams in turn: down, a team's subject sets (team:t#member@team:…#member);
// up, the teams storing a team's subject set. Their cost beside the
// entries they yield is the scan cost check/nested.go weighs the two
// sides' steps by:
//
//	go test ./bench -run '^$' -bench NestingScans -count 6 -benchtime 30000x
func BenchmarkNestingScans(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d := load(b, backends()[1], spec)
	ctx := context.Background()
	team := func(i int) string { return "t" + strconv.Itoa(i%300) }
	f := tuples.SubjectFilter{Sets: true, Type: "team", Relation: "member"}
	var entries int
	b.Run("down", func(b *testing.B) {
		entries = 0
		latency(b, func(i int) error {
			for _, err := range d.snap.Subjects(ctx, tuples.Object{Type: "team", ID: team(i)}, "member", f) {
				if err != nil {
					return err
				}
				entries++
			}
			return nil
		})
		b.ReportMetric(float64(entries)/float64(b.N), "entries/op")
	})
	b.Run("up", func(b *testing.B) {
		entries = 0
		latency(b, func(i int) error {
			for _, err := range d.snap.Reverse(ctx, tuples.Subject{Type: "team", ID: team(i), Relation: "member"}, "team", "member") {
				if err != nil {
					return err
				}
				entries++
			}
			return nil
		})
		b.ReportMetric(float64(entries)/float64(b.N), "entries/op")
	})
}
