package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// testObjectTuples holds a snapshot's read of an object whole
// (tuples.ObjectReader), where the backend offers one, to what Read gives
// for the object: the same tuples with their payloads, in key order,
// expired ones hidden at the snapshot's clock (and not counted against
// the bound), the object's own tuples only (doc:1, not doc:10), at old
// revisions too, and nothing when the object holds more than the bound.
func testObjectTuples(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	exp := tuples.FormatExpiry(clockE)
	r1 := setupPayload(t, ctx, s,
		"doc:1#owner@user:ana",
		"doc:1#viewer@user:bob",
		`doc:1#viewer@user:cy[tier:{"level":2}]`,
		"doc:1#viewer@team:t1#member[expiration:"+exp+"]", // expired at clockE
		"doc:1#viewer@team:t2#member[expiration:2030-01-01T00:00:00Z]",
		`doc:1#deny_list@user:dan[under_review:{"review_ends":"2030-01-01T00:00:00Z"}][expiration:2030-01-01T00:00:00Z]`,
		"doc:1#deny_list@user:eve[expiration:"+exp+"]", // expired at clockE
		"doc:10#owner@user:zed",
		"doc:2#viewer@user:ana",
		"team:t1#member@user:ana",
	)
	r2 := write(t, at(ctx, clock0), s, tuples.OpDelete, "doc:1#viewer@user:bob")
	sn := snap(t, ctx, s, 0)
	if or, ok := sn.(tuples.ObjectReader); !ok || !or.ReadsObjects() {
		t.Skip("the snapshot does not read an object whole")
	}
	read := func(rev tuples.Revision, now, max int) ([]string, bool) {
		t.Helper()
		clock := clock0
		if now == 1 {
			clock = clockE
		}
		sn, err := s.Snapshot(at(ctx, clock), rev)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
		or := sn.(tuples.ObjectReader)
		obj := tuples.Object{Type: "doc", ID: "1"}
		ts, complete, err := or.ObjectTuples(ctx, obj, max)
		if err != nil {
			t.Fatal(err)
		}
		if !complete {
			if ts != nil {
				t.Fatalf("an incomplete read returned %d tuples", len(ts))
			}
			return nil, false
		}
		var got []string
		for _, x := range ts {
			tp := tuples.Tuple{ObjectType: obj.Type, ObjectID: obj.ID, Relation: x.Relation,
				SubjectType: x.Subject.Type, SubjectID: x.Subject.ID, SubjectRelation: x.Subject.Relation}
			if x.Payload != nil {
				if x.Payload.IsZero() {
					t.Fatalf("%s: a payload that holds nothing, where a plain tuple has none", tp.Text())
				}
				tp.Payload = *x.Payload
			}
			got = append(got, tp.Text())
		}
		// The same tuples Read gives, payloads and order included.
		want, _, err := sn.Read(ctx, tuples.Filter{ObjectType: "doc", ObjectID: "1"}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, w := range want {
			texts = append(texts, w.Text())
		}
		if !slices.Equal(got, texts) {
			t.Fatalf("at revision %d: ObjectTuples gave\n%q\nRead gives\n%q", rev, got, texts)
		}
		return got, true
	}
	if got, ok := read(r1, 0, 32); !ok || len(got) != 7 {
		t.Fatalf("at revision %d, before the expiry: %q (complete %v), want 7 tuples", r1, got, ok)
	}
	if got, ok := read(r1, 1, 32); !ok || len(got) != 5 {
		t.Fatalf("at revision %d, after the expiry: %q (complete %v), want 5 tuples", r1, got, ok)
	}
	if got, ok := read(r2, 1, 32); !ok || len(got) != 4 {
		t.Fatalf("at revision %d, after the delete: %q (complete %v), want 4 tuples", r2, got, ok)
	}
	// The bound counts visible tuples only: 4 fit in 4, not in 3.
	if _, ok := read(r2, 1, 4); !ok {
		t.Fatal("4 visible tuples did not fit a bound of 4")
	}
	if _, ok := read(r2, 1, 3); ok {
		t.Fatal("4 visible tuples fit a bound of 3")
	}
	// After Close it fails as every read does.
	closed, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, _, err := closed.(tuples.ObjectReader).ObjectTuples(ctx, tuples.Object{Type: "doc", ID: "1"}, 32); !errors.Is(err, tuples.ErrSnapshotClosed) {
		t.Fatalf("read after Close: %v, want ErrSnapshotClosed", err)
	}
}
