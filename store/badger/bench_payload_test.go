package badger

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/docketdb/docket/store"
)

const benchPayloadSchema = `type user

condition cx(x int) { x > 0 }

type doc {
  relation owner: user
  relation viewer: user | user with cx | user with expiration
}
`

// benchPayloadInput renders n tuples like benchInput, of which a tenth
// carry a condition with a stored context and a tenth an expiry.
func benchPayloadInput(n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n * 56)
	for i := range n {
		switch i % 10 {
		case 4:
			fmt.Fprintf(&buf, "doc:s_%d#owner@user:u%d\n", i, i%10000)
		case 3:
			fmt.Fprintf(&buf, "doc:s_%d#viewer@user:u%d[cx:{\"x\":%d}]\n", i, i%10000, i%3)
		case 7:
			fmt.Fprintf(&buf, "doc:s_%d#viewer@user:u%d[expiration:2030-01-%02dT00:00:00Z]\n", i, i%10000, 1+i%28)
		default:
			fmt.Fprintf(&buf, "doc:s_%d#viewer@user:u%d\n", i, i%10000)
		}
	}
	return buf.Bytes()
}

// BenchmarkImportPayloads imports N tuples, a tenth conditioned and a
// tenth expiring, into an empty store.
func BenchmarkImportPayloads(b *testing.B) {
	n := benchN(b)
	input := benchPayloadInput(n)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := openTestStore(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WriteSchema(ctx, "bench.rebac", []byte(benchPayloadSchema)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := s.Import(ctx, bytes.NewReader(input), store.ImportOptions{})
		if err != nil || res.Tuples != n {
			b.Fatalf("%+v %v", res, err)
		}
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
}
