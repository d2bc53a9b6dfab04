package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/tuples"
)

// TestCheckBatchConcurrent: a batch large enough to be answered in
// concurrent chunks gives, item for item, the answers of checks asked
// one at a time in process at the batch's revision, with bad items
// answered in place wherever they fall.
func TestCheckBatchConcurrent(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, fixture...)
	ctx := context.Background()
	objects := []string{"record-1", "record-2", "record-3", "record-4"}
	subjects := []string{"alice", "bob", "carol", "dave", "zed"}
	relations := []string{"read", "write", "owner", "reader", "banned"}
	var items []*pb.CheckBatchItem
	for i := range 1000 {
		if i%97 == 13 {
			items = append(items, &pb.CheckBatchItem{Object: obj("record", "record-1"), Relation: "raed", Subject: user("bob")})
			continue
		}
		items = append(items, &pb.CheckBatchItem{
			Object:   obj("record", objects[i%len(objects)]),
			Relation: relations[(i/len(objects))%len(relations)],
			Subject:  user(subjects[(i/7)%len(subjects)]),
		})
	}
	res, err := ts.rw.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: items}))
	if err != nil {
		t.Fatalf("check batch: %v", err)
	}
	if len(res.Msg.Results) != len(items) {
		t.Fatalf("%d results for %d items", len(res.Msg.Results), len(items))
	}
	allowed := 0
	for i, it := range items {
		got := res.Msg.Results[i]
		if i%97 == 13 {
			if got.Allowed || !strings.Contains(got.Error, `did you mean "read"`) {
				t.Fatalf("item %d (bad relation) answered %v", i, got)
			}
			continue
		}
		q := check.Query{Object: tuples.Object{Type: "record", ID: it.Object.Id}, Relation: it.Relation, Subject: tuples.Subject{Type: "user", ID: it.Subject.Id}}
		if want := reference(t, ts.store, res.Msg.Revision.Number, q); got.Allowed != want || got.Error != "" {
			t.Fatalf("item %d %s = %v, want %v", i, q, got, want)
		}
		if got.Allowed {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(items) {
		t.Fatalf("%d of %d allowed: the batch does not tell answers apart", allowed, len(items))
	}
}

// TestCheckBatchFailedItem: a check of a batch that fails (here a walk
// deeper than the depth limit) fails the batch with the index of that
// item in the request, wherever the chunk it fell in.
func TestCheckBatchFailedItem(t *testing.T) {
	ts := startServer(t, func(o *server.Options) { o.Limits.MaxDepth = 4 })
	// record-deep reads through a chain of eight nested teams.
	chain := []string{"record:record-deep#reader@team:t0#member"}
	for i := range 8 {
		chain = append(chain, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	chain = append(chain, "team:t8#member@user:zoe")
	ts.seed(t, append(chain, fixture...)...)
	ctx := context.Background()
	for _, bad := range []int{0, 321, 999} {
		items := make([]*pb.CheckBatchItem, 1000)
		for i := range items {
			items[i] = &pb.CheckBatchItem{Object: obj("record", "record-1"), Relation: "read", Subject: user("bob")}
		}
		items[bad] = &pb.CheckBatchItem{Object: obj("record", "record-deep"), Relation: "read", Subject: user("zoe")}
		_, err := ts.rw.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: items}))
		wantCode(t, fmt.Sprintf("deep item %d", bad), err, connect.CodeResourceExhausted, fmt.Sprintf("items[%d]", bad))
	}
}
