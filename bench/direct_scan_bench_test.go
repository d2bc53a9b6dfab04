package bench

import (
	"context"
	"strconv"
	"testing"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

// BenchmarkDirectReads compares, on Badger, the reads of a direct check of
// the casebook's viewer (the deny list, creator, assignee and public keys
// of one case, each a point read) with one prefix scan of all the case's
// tuples (Read), which could answer the same four questions, and with the
// checker's read of the case whole (object-tuples):
//
//	go test ./bench -run '^$' -bench DirectReads -count 6
func BenchmarkDirectReads(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	d := load(b, backends()[1], spec)
	ctx := context.Background()
	const cases = 10_000
	subject := func(i int) tuples.Subject { return tuples.Subject{Type: "user", ID: "u" + strconv.Itoa(i%5000)} }
	object := func(i int) tuples.Object { return tuples.Object{Type: "case", ID: "c" + strconv.Itoa(i%cases)} }
	b.Run("four-point-reads", func(b *testing.B) {
		latency(b, func(i int) error {
			obj, s := object(i), subject(i)
			for _, rel := range []string{"deny_list", "creator", "assignee"} {
				if _, err := d.snap.Has(ctx, obj, rel, s); err != nil {
					return err
				}
			}
			_, err := d.snap.Has(ctx, obj, "public", tuples.Subject{Type: "user", ID: tuples.Wildcard})
			return err
		})
	})
	b.Run("one-prefix-scan", func(b *testing.B) {
		latency(b, func(i int) error {
			_, _, err := d.snap.Read(ctx, tuples.Filter{ObjectType: "case", ObjectID: object(i).ID}, "", 100)
			return err
		})
	})
	// What the checker reads instead where a check asks several
	// relations of the case (tuples.ObjectReader, check/objects.go).
	b.Run("object-tuples", func(b *testing.B) {
		or, ok := d.snap.(tuples.ObjectReader)
		if !ok {
			b.Skip("the snapshot reads no object whole")
		}
		latency(b, func(i int) error {
			_, _, err := or.ObjectTuples(ctx, object(i), 32)
			return err
		})
	})
	b.Run("one-point-read", func(b *testing.B) {
		latency(b, func(i int) error {
			_, err := d.snap.Has(ctx, object(i), "assignee", subject(i))
			return err
		})
	})
}
