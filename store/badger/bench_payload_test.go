package badger

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

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
// carry a condition with a stored context and a tenth an expiry; with
// plain set, the same tuples without either.
func benchPayloadInput(n int, plain bool) []byte {
	var buf bytes.Buffer
	buf.Grow(n * 56)
	for i := range n {
		k := i % 10
		if plain && (k == 3 || k == 7) {
			k = 0
		}
		switch k {
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
// tenth expiring, into an empty store ("payloads"), and the same tuples
// without conditions or expiries ("plain"), reporting wall and CPU rates
// (on a shared machine the CPU rate is the import's own cost):
//
//	DOCKET_BENCH_N=1000000 go test -run '^$' -bench ImportPayloads -benchtime 1x -count 3 ./store/badger/
func BenchmarkImportPayloads(b *testing.B) {
	n := benchN(b)
	ctx := context.Background()
	for _, v := range []struct {
		name  string
		plain bool
	}{{"plain", true}, {"payloads", false}} {
		b.Run(v.name, func(b *testing.B) {
			input := benchPayloadInput(n, v.plain)
			var cpu time.Duration
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
				before := cpuTime(b)
				res, err := s.Import(ctx, bytes.NewReader(input), store.ImportOptions{})
				if err != nil || res.Tuples != n {
					b.Fatalf("%+v %v", res, err)
				}
				cpu += cpuTime(b) - before
				b.StopTimer()
				s.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
			b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "tuples/cpu-s")
		})
	}
}
