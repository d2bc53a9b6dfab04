package check

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/tuples"
)

const benchCondSchema = `type user

condition cx(x int) { x > 0 }

type doc {
  relation viewer: user
  relation cviewer: user | user with cx
}
`

// BenchmarkCheckCondition compares, uncached on Badger, a check through
// one plain tuple in a relation without conditions (plain), a plain tuple
// in a relation that allows them (plain_allowing), a tuple whose stored
// context decides its condition (conditioned), and one whose condition
// takes its parameter from the request (conditioned_request). The store
// holds DOCKET_BENCH_N tuples (default 100000), a tenth of the cviewer
// ones conditioned.
func BenchmarkCheckCondition(b *testing.B) {
	n := 100000
	if v := os.Getenv("DOCKET_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := badger.Open(b.TempDir(), badger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WriteSchema(ctx, "bench.rebac", []byte(benchCondSchema)); err != nil {
		b.Fatal(err)
	}
	var in bytes.Buffer
	for i := range n {
		switch {
		case i%2 == 0:
			fmt.Fprintf(&in, "doc:d%d#viewer@user:u%d\n", i, i%10000)
		case i%20 == 1:
			fmt.Fprintf(&in, "doc:d%d#cviewer@user:u%d[cx:{\"x\":1}]\n", i, i%10000)
		case i%20 == 3:
			fmt.Fprintf(&in, "doc:d%d#cviewer@user:u%d[cx]\n", i, i%10000)
		default:
			fmt.Fprintf(&in, "doc:d%d#cviewer@user:u%d\n", i, i%10000)
		}
	}
	if _, err := st.Import(ctx, &in, store.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	reqX, err := decodeCtx(`{"x":1}`)
	if err != nil {
		b.Fatal(err)
	}
	// Probes spread over the store, so that reads are not of one block.
	probes := func(rel string, first int, request bool) []Query {
		var qs []Query
		for i := first; i < n; i += 20 * 97 {
			q := Query{Object: tuples.Object{Type: "doc", ID: "d" + strconv.Itoa(i)}, Relation: rel,
				Subject: tuples.Subject{Type: "user", ID: "u" + strconv.Itoa(i%10000)}}
			if request {
				q.RequestContext = reqX
			}
			qs = append(qs, q)
		}
		return qs
	}
	c := New(Options{CacheSize: -1})
	plain, conditioned := probes("viewer", 0, false), probes("cviewer", 1, false)
	run := func(b *testing.B, qs []Query, i int) {
		q := qs[i%len(qs)]
		r, err := c.Check(ctx, snap, q)
		if err != nil || !r.Allowed {
			b.Fatalf("%s: %+v %v", q, r, err)
		}
	}
	// On a busy machine, or while Badger compacts after the load, runs
	// apart are not comparable: this one alternates short rounds of both
	// and reports the ratio.
	b.Run("ConditionedOverPlain", func(b *testing.B) {
		var tc, tp time.Duration
		const round = 200
		for r := 0; b.Loop(); r++ {
			start := time.Now()
			for i := range round {
				run(b, conditioned, r*round+i)
			}
			mid := time.Now()
			for i := range round {
				run(b, plain, r*round+i)
			}
			tc += mid.Sub(start)
			tp += time.Since(mid)
		}
		calls := float64(b.N * round)
		b.ReportMetric(float64(tc.Nanoseconds())/calls, "ns/conditioned")
		b.ReportMetric(float64(tp.Nanoseconds())/calls, "ns/plain")
		b.ReportMetric(float64(tc)/float64(tp), "ratio")
	})
	for _, bc := range []struct {
		name string
		qs   []Query
	}{
		{"plain", probes("viewer", 0, false)},
		{"plain_allowing", probes("cviewer", 5, false)},
		{"conditioned", probes("cviewer", 1, false)},
		{"conditioned_request", probes("cviewer", 3, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				q := bc.qs[i%len(bc.qs)]
				r, err := c.Check(ctx, snap, q)
				if err != nil || !r.Allowed {
					b.Fatalf("%s: %+v %v", q, r, err)
				}
			}
		})
	}
}

// BenchmarkLookupCondition compares, uncached on Badger, lookup resources
// over a schema with `with NAME` forms, where every candidate is decided
// by a check (lookup_conditions.go), with the same lookup over the same
// tuples under a schema without them, where the walk's shortcuts hold.
// Each user reaches DOCKET_BENCH_N/2000 documents (default 50), a tenth
// through conditioned tuples. It alternates short rounds of both and
// reports the ratio.
func BenchmarkLookupCondition(b *testing.B) {
	n := 100000
	if v := os.Getenv("DOCKET_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	const users = 1000
	open := func(schemaText string, conditioned bool) tuples.Snapshot {
		st, err := badger.Open(b.TempDir(), badger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := st.WriteSchema(ctx, "bench.rebac", []byte(schemaText)); err != nil {
			b.Fatal(err)
		}
		var in bytes.Buffer
		for i := range n / 2 {
			suffix := ""
			if conditioned && i%10 == 1 {
				suffix = `[cx:{"x":1}]`
			}
			fmt.Fprintf(&in, "doc:d%d#cviewer@user:u%d%s\n", i, i%users, suffix)
		}
		if _, err := st.Import(ctx, &in, store.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		snap, err := st.Snapshot(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { snap.Close() })
		return snap
	}
	withConds := open(benchCondSchema, true)
	plain := open("type user\n\ntype doc {\n  relation viewer: user\n  relation cviewer: user\n}\n", false)
	c := New(Options{CacheSize: -1})
	want := n / 2 / users
	lookup := func(snap tuples.Snapshot, i int) {
		q := ResourceQuery{Subject: tuples.Subject{Type: "user", ID: "u" + strconv.Itoa(i*37%users)}, Type: "doc", Relation: "cviewer"}
		got := 0
		if _, err := c.LookupResources(ctx, snap, q, func(tuples.Object) bool { got++; return true }); err != nil || got != want {
			b.Fatalf("%+v: %d objects, want %d, %v", q, got, want, err)
		}
	}
	var tc, tp time.Duration
	const round = 20
	for r := 0; b.Loop(); r++ {
		start := time.Now()
		for i := range round {
			lookup(withConds, r*round+i)
		}
		mid := time.Now()
		for i := range round {
			lookup(plain, r*round+i)
		}
		tc += mid.Sub(start)
		tp += time.Since(mid)
	}
	calls := float64(b.N * round)
	b.ReportMetric(float64(tc.Nanoseconds())/calls, "ns/conditioned")
	b.ReportMetric(float64(tp.Nanoseconds())/calls, "ns/plain")
	b.ReportMetric(float64(tc)/float64(tp), "ratio")
}
