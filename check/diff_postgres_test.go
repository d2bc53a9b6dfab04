package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/docketdb/docket/errkind"
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
		got, err := checkAll(ctx, c, snap, qs, i%2 == 0)
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
	b, s := postgresStore(ctx, t, "type user {}\ntype team {\n  relation member: user | team#member\n}\ntype doc {\n  relation viewer: user | team#member\n  relation banned: user\n  relation view = viewer - banned\n}\n")
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

// TestLookupSubjectsPostgres: lookups of subjects on the SQL datastore,
// which reads nested groups together with every group the membership
// index lists below them (tuples.GroupsBelowReader), agree with the
// reference on random histories of nested teams (chains, cycles,
// wildcards, exclusions), and give the same answers and errors as on the
// memory store under random depth limits: reading the groups below ahead
// changes no chain the walk measures.
func TestLookupSubjectsPostgres(t *testing.T) {
	n := diffCases(t, 20)
	url := pg.Database(t)
	ctx := context.Background()
	compared, limited := 0, 0
	for i := range n {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		h := newIndexHistory(t, rng)
		k := len(h.revs) - 1
		in := h.instance(k)
		mem, err := h.st.Snapshot(ctx, h.revs[k])
		if err != nil {
			t.Fatal(err)
		}
		s, err := postgres.OpenScratch(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var lines strings.Builder
		for _, tp := range in.tuples {
			lines.WriteString(tp.String() + "\n")
		}
		if _, err := s.WriteSchema(ctx, "nested.rebac", []byte(nestedIndexSchema)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(ctx, strings.NewReader(lines.String()), store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := snap.(tuples.GroupsBelowReader); !ok {
			t.Fatal("the PostgreSQL snapshot does not read the groups below a group")
		} else if _, ok, err := b.SubjectsWithBelow(ctx, []tuples.Object{{Type: "team", ID: "t0"}}, "member"); !ok || err != nil {
			t.Fatalf("SubjectsWithBelow: ok %v, %v", ok, err)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("history %d on postgres: "+format+"\n%s", append([]any{i}, append(args, describe(in))...)...)
		}
		ref := newReference(in)
		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		depth := 2 + rng.IntN(8)
		shallow := New(Options{MaxDepth: depth, CacheSize: -1})
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				obj := tuples.Object{Type: r.Type.Name, ID: id}
				q := SubjectQuery{Object: obj, Relation: r.Name}
				all, err := c.LookupSubjects(ctx, snap, q)
				if err != nil {
					fail("lookup subjects %s#%s: %v", obj, r.Name, err)
				}
				for _, x := range ref.universe {
					if x.Relation != "" {
						continue
					}
					compared++
					if got, want := subjectsHave(all, x), ref.member(obj, r.Name, x); got != want {
						fail("%s in lookup subjects %s#%s = %v (%v), reference %v", x, obj, r.Name, got, all, want)
					}
				}
				compared += compareSubjectSets(ctx, c, snap, ref, obj, r.Name, fail)
				a, errA := shallow.LookupSubjects(ctx, snap, q)
				b, errB := shallow.LookupSubjects(ctx, mem, q)
				if (errA != nil) != (errB != nil) || !reflect.DeepEqual(a, b) {
					fail("depth %d: lookup subjects %s#%s = %v (%v) on postgres, %v (%v) on memory", depth, obj, r.Name, a, errA, b, errB)
				}
				if errA != nil {
					limited++
					if !errors.Is(errA, errkind.ErrDepth) {
						fail("depth %d: lookup subjects %s#%s: %v", depth, obj, r.Name, errA)
					}
				}
			}
		}
		snap.Close()
		mem.Close()
		s.Close()
	}
	if limited == 0 {
		t.Fatal("no lookup met the depth limit: the test compares nothing of it")
	}
	t.Logf("%d histories on PostgreSQL: %d memberships agree with the reference, %d lookups failed on the depth limit as on memory", n, compared, limited)
}

// TestLookupSubjectsNestedRoundTrips: a lookup of subjects through a chain
// of nested teams reads the teams below the first one with it, in one
// statement, not one statement per level of nesting.
func TestLookupSubjectsNestedRoundTrips(t *testing.T) {
	ctx := context.Background()
	b, s := postgresStore(ctx, t, "type user {}\ntype team {\n  relation member: user | team#member\n}\ntype doc {\n  relation viewer: user | team#member\n}\n")
	const levels = 6
	lines := "doc:1#viewer@team:t0#member\ndoc:1#viewer@user:ann\n"
	for i := range levels {
		lines += fmt.Sprintf("team:t%d#member@user:u%d\n", i, i)
		if i+1 < levels {
			lines += fmt.Sprintf("team:t%d#member@team:t%d#member\n", i, i+1)
		}
	}
	if _, err := s.Import(ctx, strings.NewReader(lines), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	head, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	c := New(Options{CacheSize: -1})
	for range 2 { // the first lookup also reads the index state
		snap, err := s.Snapshot(ctx, head.Revision())
		if err != nil {
			t.Fatal(err)
		}
		before := b.Queries()
		got, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: tuples.Object{Type: "doc", ID: "1"}, Relation: "viewer", Type: "user"})
		queries := b.Queries() - before
		snap.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != levels+1 {
			t.Fatalf("lookup subjects found %v, want ann and u0..u%d", got, levels-1)
		}
		// The doc's rows, then the teams with every team below them.
		if queries > 2 {
			t.Fatalf("lookup subjects through %d levels of teams made %d round trips, want 2", levels, queries)
		}
	}
}

// postgresStore is a store on a fresh PostgreSQL database with the schema
// text written, and its backend (which counts round trips), closed when
// the test ends.
func postgresStore(ctx context.Context, t *testing.T, text string) (*postgres.Backend, store.Store) {
	t.Helper()
	b, err := postgres.OpenBackend(ctx, pg.Database(t), postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s := store.New(b, store.Options{})
	t.Cleanup(func() { s.Close() })
	if _, err := s.WriteSchema(ctx, "c.rebac", []byte(text)); err != nil {
		t.Fatal(err)
	}
	return b, s
}
