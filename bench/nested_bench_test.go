package bench

import (
	"context"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
)

// BenchmarkNestedWalk times the casebook's checks on Badger, cache off,
// with the subject's memberships in nesting relations (team#member) read
// from the store's membership index (the default), searched level by
// level between the group and the subject's groups with each step chosen
// by the store's counts of the relation ("up") or by the sizes of the two
// sides ("up-sizes"), and walked down from the group, alternately, so
// that one run compares them:
//
//	go test ./bench -run '^$' -bench NestedWalk -count 6
func BenchmarkNestedWalk(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d := load(b, backends()[1], spec)
	for _, label := range d.labels() {
		qs := d.checks(label)
		for _, walk := range []struct {
			name                            string
			down, ignoreIndex, ignoreCounts bool
		}{{"index", false, false, false}, {"up", false, true, false}, {"up-sizes", false, true, true}, {"down", true, false, false}} {
			c := check.New(check.Options{CacheSize: -1, DownwardOnly: walk.down, IgnoreIndex: walk.ignoreIndex, IgnoreCounts: walk.ignoreCounts})
			d.verify(b, c)
			b.Run(label+"/"+walk.name, func(b *testing.B) {
				ctx := context.Background()
				latency(b, func(i int) error {
					_, err := c.Check(ctx, d.snap, qs[i%len(qs)])
					return err
				})
			})
		}
	}
}
