package check

import (
	"context"
	"fmt"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// Benchmarks run only with -bench, e.g.
//
//	go test ./check -run '^$' -bench . -benchmem -cpuprofile cpu.out

type backend struct {
	name string
	open func(b *testing.B) store.Store
}

var backends = []backend{
	{"memory", func(b *testing.B) store.Store {
		st, err := memory.New()
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
	{"badger", func(b *testing.B) store.Store {
		st, err := badger.Open(b.TempDir(), badger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
}

// benchData is the Casebook schema with: case:direct created by
// user:alice; case:nested shared with team t0, t0 ⊃ t1 ⊃ t2 ∋ user:deep;
// case:wide shared with 500 teams of 20 members each (user:outsider in
// none of them); case:nested_deny like case:nested with user:deep on its
// deny list; case:guarded shared like case:wide, denying user:mallory and
// team:blocked (20 members, among them user:u7_3).
func benchData() []string {
	lines := []string{
		"case:direct#creator@user:alice",
		"case:nested#access_list@team:t0#member",
		"team:t0#member@team:t1#member",
		"team:t1#member@team:t2#member",
		"team:t2#member@user:deep",
		"case:nested_deny#access_list@team:t0#member",
		"case:nested_deny#deny_list@user:deep",
		"case:guarded#deny_list@user:mallory",
		"case:guarded#deny_list@team:blocked#member",
		"team:blocked#member@user:u7_3",
	}
	for j := 0; j < 19; j++ {
		lines = append(lines, fmt.Sprintf("team:blocked#member@user:b%d", j))
	}
	for i := 0; i < 500; i++ {
		lines = append(lines, fmt.Sprintf("case:wide#access_list@team:w%d#member", i))
		for j := 0; j < 20; j++ {
			lines = append(lines, fmt.Sprintf("team:w%d#member@user:u%d_%d", i, i, j))
		}
		lines = append(lines, fmt.Sprintf("case:guarded#access_list@team:w%d#member", i))
	}
	return lines
}

func benchSnap(b *testing.B, be backend) tuples.Snapshot {
	ctx := context.Background()
	st := be.open(b)
	b.Cleanup(func() { st.Close() })
	if _, err := st.WriteSchema(ctx, "casebook.rebac", []byte(casebook)); err != nil {
		b.Fatal(err)
	}
	var ops []tuples.Op
	for _, l := range benchData() {
		tp, err := tuples.Parse(l)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
	}
	if _, err := st.Write(ctx, tuples.Batch{Ops: ops}); err != nil {
		b.Fatal(err)
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { snap.Close() })
	return snap
}

func BenchmarkCheck(b *testing.B) {
	cases := []struct {
		name  string
		q     string
		want  bool
		cache int
	}{
		{"direct_stored", "case:direct#creator@user:alice", true, -1},
		{"direct_viewer", "case:direct#viewer@user:alice", true, -1},
		{"nested_teams_3", "case:nested#viewer@user:deep", true, -1},
		{"denied_wide", "case:wide#viewer@user:outsider", false, -1},
		{"cache_hit", "case:nested#viewer@user:deep", true, 0},
		// Deny lists: the subject is excluded although the base is
		// expensive to walk (nested teams, 500 teams), or not excluded.
		{"deny_nested", "case:nested_deny#viewer@user:deep", false, -1},
		{"deny_direct_wide", "case:guarded#viewer@user:mallory", false, -1},
		{"deny_set_wide", "case:guarded#viewer@user:u7_3", false, -1},
		{"allowed_guarded", "case:guarded#viewer@user:u8_3", true, -1},
		{"denied_guarded", "case:guarded#viewer@user:outsider", false, -1},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			snap := benchSnap(b, be)
			for _, tc := range cases {
				b.Run(tc.name, func(b *testing.B) {
					c := New(Options{CacheSize: tc.cache})
					q := query(b, tc.q)
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						r, err := c.Check(ctx, snap, q)
						if err != nil || r.Allowed != tc.want {
							b.Fatalf("%s: %v %v", tc.q, r.Allowed, err)
						}
					}
				})
			}
		})
	}
}
