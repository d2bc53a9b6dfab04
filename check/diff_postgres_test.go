package check

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/docketdb/docket/internal/pgtest"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/postgres"
	"github.com/docketdb/docket/tuples"
)

// pg is the PostgreSQL cluster of TestDifferentialPostgres, started by it.
var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// TestDifferentialPostgres is TestDifferential on the SQL datastore: random
// instances written to PostgreSQL (each in a scratch schema of its own),
// every check of each universe compared with the reference evaluator, one
// by one and in batches, with the cache off and on.
func TestDifferentialPostgres(t *testing.T) {
	n := diffCases(t, 20)
	url := pg.Database(t)
	ctx := context.Background()
	checks := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261201, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		s, err := postgres.OpenScratch(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteSchema(ctx, "instance.rebac", []byte(in.text)); err != nil {
			s.Close()
			t.Fatalf("instance %d: %v\n%s", i, err, describe(in))
		}
		var lines strings.Builder
		for _, tp := range in.tuples {
			lines.WriteString(tp.String() + "\n")
		}
		if _, err := s.Import(ctx, strings.NewReader(lines.String()), store.ImportOptions{}); err != nil {
			s.Close()
			t.Fatalf("instance %d: %v\n%s", i, err, describe(in))
		}
		snap, err := s.Snapshot(ctx, 0)
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		var qs []Query
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
		var got []Result
		if i%2 == 0 {
			got, err = c.CheckBatch(ctx, snap, qs)
		} else {
			for _, q := range qs {
				var r Result
				if r, err = c.Check(ctx, snap, q); err != nil {
					break
				}
				got = append(got, r)
			}
		}
		snap.Close()
		s.Close()
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, describe(in))
		}
		for j, q := range qs {
			checks++
			if want := ref.member(q.Object, q.Relation, q.Subject); got[j].Allowed != want {
				t.Fatalf("instance %d on postgres: check %s = %v, reference %v\n%s", i, q, got[j].Allowed, want, describe(in))
			}
		}
	}
	t.Logf("%d random instances on PostgreSQL, %d checks agree with the reference", n, checks)
}

// TestCachedChecksSkipDatabase checks that, with the checker's cache on, a
// check answered before at the same revision makes no round trip to the
// database at all, and that a new revision is read afresh.
func TestCachedChecksSkipDatabase(t *testing.T) {
	ctx := context.Background()
	b, err := postgres.OpenBackend(ctx, pg.Database(t), postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s := store.New(b, store.Options{})
	defer s.Close()
	text := "type user {}\ntype team {\n  relation member: user | team#member\n}\ntype doc {\n  relation viewer: user | team#member\n  relation banned: user\n  relation view = viewer - banned\n}\n"
	if _, err := s.WriteSchema(ctx, "c.rebac", []byte(text)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, strings.NewReader("doc:1#viewer@team:a#member\nteam:a#member@team:b#member\nteam:b#member@user:ana\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	c := New(Options{})
	q := Query{Object: tuples.Object{Type: "doc", ID: "1"}, Relation: "view", Subject: tuples.Subject{Type: "user", ID: "ana"}}
	before := b.Queries()
	r, err := c.Check(ctx, snap, q)
	if err != nil || !r.Allowed {
		t.Fatalf("first check: %v, %v", r.Allowed, err)
	}
	first := b.Queries() - before
	if first == 0 {
		t.Fatal("the first check made no round trip")
	}
	before = b.Queries()
	for range 100 {
		if r, err := c.Check(ctx, snap, q); err != nil || !r.Allowed {
			t.Fatalf("cached check: %v, %v", r.Allowed, err)
		}
	}
	if n := b.Queries() - before; n != 0 {
		t.Fatalf("100 cached checks made %d round trips, want 0", n)
	}
	t.Logf("first check: %d round trips; 100 cached: 0", first)
}
