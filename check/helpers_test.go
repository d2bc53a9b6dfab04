package check

import (
	"context"
	"testing"

	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// casebook is the schema of the language design's example.
const casebook = fixture.Casebook

// newSnap writes a schema and tuples to a fresh in-memory store and
// returns its latest snapshot.
func newSnap(t testing.TB, schemaText string, lines ...string) tuples.Snapshot {
	t.Helper()
	snap, closeStore, err := fixture.Load(context.Background(), schemaText, lines...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	return snap
}

// openStore opens a store as badger.Open (in a temporary directory) or
// memory.New makes it, closed when the test ends.
func openStore(t testing.TB, onBadger bool) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if onBadger {
		st, err = badger.Open(t.TempDir(), badger.Options{BlockCacheMB: 8})
	} else {
		st, err = memory.New()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mustObject(t testing.TB, s string) tuples.Object {
	t.Helper()
	o, err := tuples.ParseObject(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustSubject(t testing.TB, s string) tuples.Subject {
	t.Helper()
	o, err := tuples.ParseSubject(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// query builds a query from "type:id#relation@subject".
func query(t testing.TB, s string) Query {
	t.Helper()
	tp, err := tuples.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return Query{Object: tp.Object(), Relation: tp.Relation, Subject: tp.Subject()}
}

func checkQ(t testing.TB, c *Checker, snap tuples.Snapshot, s string) bool {
	t.Helper()
	r, err := c.Check(context.Background(), snap, query(t, s))
	if err != nil {
		t.Fatalf("check %s: %v", s, err)
	}
	return r.Allowed
}

// checkAll answers qs on snap in one CheckBatch (one walk memo) when
// batch is set, else query by query, stopping at the first error.
func checkAll(ctx context.Context, c *Checker, snap tuples.Snapshot, qs []Query, batch bool) ([]Result, error) {
	if batch {
		return c.CheckBatch(ctx, snap, qs)
	}
	got := make([]Result, 0, len(qs))
	for _, q := range qs {
		r, err := c.Check(ctx, snap, q)
		if err != nil {
			return got, err
		}
		got = append(got, r)
	}
	return got, nil
}
