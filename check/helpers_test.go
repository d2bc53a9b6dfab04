package check

import (
	"context"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// casebook is the schema of the language design's example.
const casebook = `
type user {
  relation team: team
}

type team {
  relation member: user | team#member
}

type case {
  relation creator:     user
  relation assignee:    user
  relation access_list: user | team#member
  relation deny_list:   user | team#member
  relation public:      user:*

  relation viewer = creator | assignee | assignee.team#member | access_list | public - deny_list
  relation editor = (assignee | access_list) & viewer
}
`

// newSnap writes a schema and tuples to a fresh in-memory store and
// returns its latest snapshot.
func newSnap(t testing.TB, schemaText string, lines ...string) tuples.Snapshot {
	t.Helper()
	ctx := context.Background()
	st, err := tuples.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.WriteSchema(ctx, "test.rebac", []byte(schemaText)); err != nil {
		t.Fatal(err)
	}
	var ops []tuples.Op
	for _, l := range lines {
		tp, err := tuples.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
	}
	if len(ops) > 0 {
		if _, err := st.Write(ctx, tuples.Batch{Ops: ops}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return snap
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
