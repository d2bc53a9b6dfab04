package bench

import (
	"context"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
)

// BenchmarkNestedWalk times the casebook's checks on Badger, cache off,
// with the subject's memberships in nesting relations (team#member) read
// from the store's membership index (the default), read level by level up
// from the subject, and walked down from the group, alternately, so that
// one run compares the three:
//
//	go test ./bench -run '^$' -bench NestedWalk -count 6
func BenchmarkNestedWalk(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d := load(b, backends()[1], spec)
	for _, label := range d.labels() {
		qs := d.checks(label)
		for _, walk := range []struct {
			name              string
			down, ignoreIndex bool
		}{{"index", false, false}, {"up", false, true}, {"down", true, false}} {
			c := check.New(check.Options{CacheSize: -1, DownwardOnly: walk.down, IgnoreIndex: walk.ignoreIndex})
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
