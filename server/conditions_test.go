package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// condSchema has a tuple of each payload: a condition on a request
// parameter with a stored one, a condition on the properties AuthZEN
// passes, an expiry, and a deny-list entry with both.
const condSchema = `type user {}

condition from_network(client_ip ipaddress, network string) { client_ip.in_cidr(network) }

condition cleared(subject_level int, resource_level int) { subject_level >= resource_level }

condition under_review(now timestamp, review_ends timestamp) { now < review_ends }

type doc {
  relation owner: user
  relation reader: user | user with from_network | user with cleared | user with expiration
  relation banned: user with under_review and expiration
  relation read = (reader | owner) - banned
}
`

var condFixture = []string{
	`doc:d1#reader@user:bob[from_network:{"network":"10.0.0.0/8"}]`,
	`doc:d1#reader@user:carl[expiration:2030-01-01T00:00:00Z]`,
	`doc:d1#owner@user:dan`,
	`doc:d1#banned@user:dan[under_review:{"review_ends":"2030-01-01T00:00:00Z"}][expiration:2031-01-01T00:00:00Z]`,
	`doc:d2#reader@user:eve[cleared]`,
	`doc:d2#owner@user:alice`,
}

func seedConditions(t *testing.T, ts *testServer) *pb.Revision {
	t.Helper()
	ctx := context.Background()
	if _, err := ts.rw.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Filename: "cond.rebac", Text: condSchema})); err != nil {
		t.Fatalf("write schema: %v", err)
	}
	rev, err := ts.rw.Touch(ctx, condFixture...)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return rev
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(s string) *timestamppb.Timestamp {
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(ts)
}

// TestNativeConditions: conditions and expiries through every call of the
// native API, over the Connect protocol and over gRPC.
func TestNativeConditions(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		t.Run(map[bool]string{false: "connect", true: "grpc"}[grpc], func(t *testing.T) {
			ts := startServer(t)
			seeded := seedConditions(t, ts)
			c := ts.rw
			if grpc {
				c = ts.grpc
			}
			nativeConditions(t, c, seeded)
		})
	}
}

func nativeConditions(t *testing.T, c *client.Client, seeded *pb.Revision) {
	ctx := context.Background()
	check := func(subject string, reqCtx map[string]any, now string) *pb.CheckResponse {
		t.Helper()
		req := &pb.CheckRequest{Object: obj("doc", "d1"), Relation: "read", Subject: user(subject)}
		if reqCtx != nil {
			req.Context = mustStruct(t, reqCtx)
		}
		if now != "" {
			req.Now = at(now)
		}
		res, err := c.DocketServiceClient.Check(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("check %s %v %s: %v", subject, reqCtx, now, err)
		}
		return res.Msg
	}
	verdict := func(r *pb.CheckResponse) string {
		switch {
		case r.Allowed:
			return "allowed"
		case r.Conditional:
			return "conditional " + strings.Join(r.Missing, ",")
		}
		return "denied"
	}
	for _, c := range []struct {
		subject string
		ctx     map[string]any
		now     string
		want    string
	}{
		// A parameter missing: conditional, naming it; given, decided.
		{"bob", nil, "", "conditional client_ip"},
		{"bob", map[string]any{"client_ip": "10.1.2.3"}, "", "allowed"},
		{"bob", map[string]any{"client_ip": "192.168.0.1"}, "", "denied"},
		// The stored network wins over the request's.
		{"bob", map[string]any{"client_ip": "192.168.0.1", "network": "192.168.0.0/16"}, "", "denied"},
		// Expiry at the request's clock.
		{"carl", nil, "2029-06-01T00:00:00Z", "allowed"},
		{"carl", nil, "2030-06-01T00:00:00Z", "denied"},
		// The deny-list entry: conditional on now, then decided, then
		// gone once it expires.
		{"dan", nil, "2029-06-01T00:00:00Z", "conditional now"},
		{"dan", map[string]any{"now": "2029-07-01T00:00:00Z"}, "2029-06-01T00:00:00Z", "denied"},
		{"dan", map[string]any{"now": "2030-07-01T00:00:00Z"}, "2029-06-01T00:00:00Z", "allowed"},
		{"dan", nil, "2031-06-01T00:00:00Z", "allowed"},
	} {
		if got := verdict(check(c.subject, c.ctx, c.now)); got != c.want {
			t.Errorf("check %s context %v now %q = %s, want %s", c.subject, c.ctx, c.now, got, c.want)
		}
	}
	if r := check("carl", nil, "2029-06-01T00:00:00Z"); !r.ValidUntil.AsTime().Equal(at("2030-01-01T00:00:00Z").AsTime()) {
		t.Errorf("carl's answer valid until %v, want the expiry of his tuple", r.ValidUntil)
	}

	// CheckBatch: each item with its own context, one clock.
	bres, err := c.DocketServiceClient.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Now: at("2029-06-01T00:00:00Z"), Items: []*pb.CheckBatchItem{
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob")},
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"), Context: mustStruct(t, map[string]any{"client_ip": "10.9.9.9"})},
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("carl")},
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"), Context: mustStruct(t, map[string]any{"client_ip": 7})},
	}}))
	if err != nil {
		t.Fatalf("check batch: %v", err)
	}
	rs := bres.Msg.Results
	if rs[0].Allowed || !rs[0].Conditional || !slices.Equal(rs[0].Missing, []string{"client_ip"}) || !rs[1].Allowed || rs[1].Conditional || !rs[2].Allowed {
		t.Errorf("batch results: %v", rs)
	}
	// The item whose value a condition refuses is answered in place.
	if rs[3].Allowed || !strings.Contains(rs[3].Error, "items[3].context: condition from_network: parameter client_ip") {
		t.Errorf("batch item of the wrong type: %v", rs[3])
	}

	// Bad contexts: InvalidArgument naming the field.
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"),
		Context: mustStruct(t, map[string]any{"client_ip": 5})}))
	wantCode(t, "wrong type", err, connect.CodeInvalidArgument, "context", "client_ip", "expected ipaddress")
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"),
		Context: mustStruct(t, map[string]any{"pad": strings.Repeat("x", 70<<10)})}))
	wantCode(t, "over the limit", err, connect.CodeInvalidArgument, "context", "limit")
	big, err := c.DocketServiceClient.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: []*pb.CheckBatchItem{
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"), Context: mustStruct(t, map[string]any{"pad": strings.Repeat("x", 70<<10)})},
		{Object: obj("doc", "d1"), Relation: "read", Subject: user("carl")},
	}}))
	if err != nil || !strings.Contains(big.Msg.Results[0].Error, "items[0].context: context is") || big.Msg.Results[1].Error != "" {
		t.Fatalf("batch with an oversized item context: %v %v", big, err)
	}
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("doc", "d1"), Relation: "read", Subject: user("bob"),
		Now: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}))
	wantCode(t, "bad clock", err, connect.CodeInvalidArgument, "now")

	// Writes carry payloads and are validated against the schema.
	if _, err := c.Touch(ctx, `doc:d3#reader@user:fay[from_network:{"network":"172.16.0.0/12"}][expiration:2030-01-01T00:00:00Z]`); err == nil {
		t.Error("a payload the relation does not allow was written")
	} else {
		wantCode(t, "payload not allowed", err, connect.CodeInvalidArgument, "does not allow")
	}
	_, err = c.DocketServiceClient.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{{Kind: pb.WriteOp_KIND_TOUCH,
		Tuple: &pb.Tuple{Object: obj("doc", "d3"), Relation: "reader", Subject: user("fay"), Context: mustStruct(t, map[string]any{"network": "x"})}}}}))
	wantCode(t, "context without a condition", err, connect.CodeInvalidArgument, "ops[0].tuple.context", "needs a condition")
	_, err = c.DocketServiceClient.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{{Kind: pb.WriteOp_KIND_TOUCH,
		Tuple: &pb.Tuple{Object: obj("doc", "d3"), Relation: "reader", Subject: user("fay"), Condition: "from_network", Context: mustStruct(t, map[string]any{"network": 3})}}}}))
	wantCode(t, "stored context of the wrong type", err, connect.CodeInvalidArgument, "network")
	wrote, err := c.DocketServiceClient.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{{Kind: pb.WriteOp_KIND_TOUCH,
		Tuple: &pb.Tuple{Object: obj("doc", "d3"), Relation: "reader", Subject: user("fay"), Condition: "from_network",
			Context: mustStruct(t, map[string]any{"network": "172.16.0.0/12"})}}}}))
	if err != nil {
		t.Fatalf("write with a payload: %v", err)
	}

	// Watch tells of the write with the payload written.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := c.DocketServiceClient.Watch(wctx, connect.NewRequest(&pb.WatchRequest{After: seeded.Token}))
	if err != nil {
		t.Fatal(err)
	}
	if !w.Receive() {
		t.Fatalf("watch: %v", w.Err())
	}
	if ch := w.Msg().Changes; len(ch) != 1 || pbText(t, ch[0].Tuple) != `doc:d3#reader@user:fay[from_network:{"network":"172.16.0.0/12"}]` {
		t.Errorf("watch changes: %v", ch)
	}
	w.Close()

	// Read gives them back, and leaves out what expired at its clock.
	read := func(now string) []string {
		t.Helper()
		req := &pb.ReadRequest{Consistency: client.AtLeastAsFresh(wrote.Msg.Revision.Token), Filter: &pb.Filter{ObjectType: "doc"}}
		if now != "" {
			req.Now = at(now)
		}
		res, err := c.DocketServiceClient.Read(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var out []string
		for _, tu := range res.Msg.Tuples {
			out = append(out, pbText(t, tu))
		}
		return out
	}
	want := append(slices.Clone(condFixture), `doc:d3#reader@user:fay[from_network:{"network":"172.16.0.0/12"}]`)
	slices.Sort(want)
	got := read("2029-06-01T00:00:00Z")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("read at 2029:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, tu := range read("2031-06-01T00:00:00Z") {
		if strings.Contains(tu, "expiration") {
			t.Errorf("read at 2031 returned an expired tuple: %s", tu)
		}
	}

	// Export and Import carry payloads as the CLI writes them.
	ex, err := c.DocketServiceClient.Export(ctx, connect.NewRequest(&pb.ExportRequest{Format: pb.TupleFormat_TUPLE_FORMAT_TEXT}))
	if err != nil {
		t.Fatal(err)
	}
	var exported strings.Builder
	for ex.Receive() {
		exported.Write(ex.Msg().Data)
	}
	if err := ex.Err(); err != nil {
		t.Fatal(err)
	}
	for _, line := range condFixture {
		if !strings.Contains(exported.String(), line+"\n") {
			t.Errorf("export lacks %s:\n%s", line, exported.String())
		}
	}
	imp := c.DocketServiceClient.Import(ctx)
	if err := imp.Send(&pb.ImportRequest{Format: pb.TupleFormat_TUPLE_FORMAT_JSONL, Name: "in.jsonl",
		Data: []byte(`{"object":"doc:d4","relation":"reader","subject":"user:gus","condition":"cleared","context":{"resource_level":2},"expiration":"2030-01-01T00:00:00Z"}` + "\n")}); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if _, err := imp.CloseAndReceive(); err == nil {
		t.Error("an import of a payload the relation does not allow was accepted")
	}
	imp = c.DocketServiceClient.Import(ctx)
	if err := imp.Send(&pb.ImportRequest{Format: pb.TupleFormat_TUPLE_FORMAT_JSONL, Name: "in.jsonl",
		Data: []byte(`{"object":"doc:d4","relation":"reader","subject":"user:gus","condition":"cleared","context":{"resource_level":2}}` + "\n")}); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	ires, err := imp.CloseAndReceive()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	res, err := c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Consistency: client.AtLeastAsFresh(ires.Msg.Revision.Token),
		Object: obj("doc", "d4"), Relation: "read", Subject: user("gus"), Context: mustStruct(t, map[string]any{"subject_level": 3})}))
	if err != nil || !res.Msg.Allowed {
		t.Errorf("the imported tuple's stored context was not kept: %v %v", res, err)
	}

	// Expand shows each leaf's payload.
	xres, err := c.DocketServiceClient.Expand(ctx, connect.NewRequest(&pb.ExpandRequest{Object: obj("doc", "d1"), Relation: "reader", Now: at("2029-06-01T00:00:00Z")}))
	if err != nil {
		t.Fatal(err)
	}
	var leaves []string
	var walk func(n *pb.ExpandNode)
	walk = func(n *pb.ExpandNode) {
		if n.Subject != nil {
			leaves = append(leaves, n.Subject.Id+"|"+n.Condition+"|"+fieldOf(n.Context, "network")+"|"+tsText(n.Expiration))
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(xres.Msg.Tree)
	slices.Sort(leaves)
	if want := []string{"bob|from_network|10.0.0.0/8|", "carl|||2030-01-01T00:00:00Z"}; !slices.Equal(leaves, want) {
		t.Errorf("expand leaves %v, want %v", leaves, want)
	}
}

func fieldOf(s *structpb.Struct, k string) string {
	if v, ok := s.GetFields()[k]; ok {
		return v.GetStringValue()
	}
	return ""
}

func tsText(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// pbText is a tuple message in the text form, payload and all.
func pbText(t *testing.T, tu *pb.Tuple) string {
	t.Helper()
	s := tu.Object.Type + ":" + tu.Object.Id + "#" + tu.Relation + "@" + tu.Subject.Type + ":" + tu.Subject.Id
	if tu.Subject.Relation != "" {
		s += "#" + tu.Subject.Relation
	}
	if tu.Condition != "" {
		s += "[" + tu.Condition
		if len(tu.Context.GetFields()) > 0 {
			b, err := tu.Context.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			s += ":" + strings.ReplaceAll(string(b), " ", "")
		}
		s += "]"
	}
	if tu.Expiration != nil {
		s += "[expiration:" + tsText(tu.Expiration) + "]"
	}
	return s
}

// TestConnectJSONConditions: the same over Connect's JSON, as curl sends
// it: a tuple's payload in a write, contexts and clocks in queries, the
// conditional answer's fields, and a context that is not an object.
func TestConnectJSONConditions(t *testing.T) {
	ts := startServer(t)
	seedConditions(t, ts)
	code, out := connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"d5"},"relation":"reader","subject":{"type":"user","id":"hal"},"condition":"from_network","context":{"network":"10.0.0.0/8"},"expiration":"2030-01-01T00:00:00Z"}}]}`)
	if code != 400 || !strings.Contains(out["message"].(string), "does not allow") {
		t.Errorf("write of a payload the relation does not allow: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"d5"},"relation":"reader","subject":{"type":"user","id":"hal"},"condition":"from_network","context":{"network":"10.0.0.0/8"}}},{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"d5"},"relation":"reader","subject":{"type":"user","id":"ida"},"expiration":"2030-01-01T00:00:00Z"}}]}`)
	if code != 200 {
		t.Fatalf("write: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"hal"}}`)
	if code != 200 || out["allowed"] != false || out["conditional"] != true || !slices.Equal(anyStrings(out["missing"]), []string{"client_ip"}) {
		t.Errorf("conditional check: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"hal"},"context":{"client_ip":"10.0.0.7"}}`)
	if code != 200 || out["allowed"] != true || out["conditional"] != false {
		t.Errorf("check with context: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"ida"},"now":"2029-01-01T00:00:00Z"}`)
	if code != 200 || out["allowed"] != true || out["validUntil"] != "2030-01-01T00:00:00Z" {
		t.Errorf("check at a clock: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"ida"},"now":"2030-01-01T00:00:00Z"}`)
	if code != 200 || out["allowed"] != false {
		t.Errorf("check at the expiry: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, readKey, "Read", `{"filter":{"objectType":"doc","objectId":"d5"},"now":"2029-01-01T00:00:00Z"}`)
	body := jsonText(out)
	if code != 200 || !strings.Contains(body, `"condition":"from_network"`) || !strings.Contains(body, `"expiration":"2030-01-01T00:00:00Z"`) || !strings.Contains(body, `"network":"10.0.0.0/8"`) {
		t.Errorf("read: %d %s", code, body)
	}
	// An expiry that is not RFC 3339 is refused naming the field; one
	// already past is accepted, and the tuple is invisible at once.
	code, out = connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"d5"},"relation":"reader","subject":{"type":"user","id":"jo"},"expiration":"soon"}}]}`)
	if code != 400 || !strings.Contains(out["message"].(string), "ops: ") || !strings.Contains(out["message"].(string), "Timestamp") {
		t.Errorf("an expiry that is not RFC 3339: %d %v", code, out)
	}
	code, out = connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"d5"},"relation":"reader","subject":{"type":"user","id":"jo"},"expiration":"2001-01-01T00:00:00Z"}}]}`)
	if code != 200 {
		t.Fatalf("an expiry already past: %d %v", code, out)
	}
	if code, out = connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"jo"}}`); code != 200 || out["allowed"] != false {
		t.Errorf("a tuple written expired counts: %d %v", code, out)
	}
	for _, c := range []struct{ name, body, want string }{
		{"context not an object", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"hal"},"context":5}`, "context"},
		{"context of the wrong type", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"hal"},"context":{"client_ip":[1]}}`, "context: condition from_network: parameter client_ip"},
		{"now malformed", `{"object":{"type":"doc","id":"d5"},"relation":"read","subject":{"type":"user","id":"hal"},"now":"soon"}`, "now"},
	} {
		code, out := connectJSON(t, ts, readKey, "Check", c.body)
		if code != 400 || out["code"] != "invalid_argument" || !strings.Contains(out["message"].(string), c.want) {
			t.Errorf("%s: %d %v, want 400 invalid_argument naming %q", c.name, code, out, c.want)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestAuthZENConditions: properties enter the condition context as
// subject_NAME, resource_NAME and action_NAME, context keys as they are;
// a conditional answer is a deny naming what it lacks; searches leave
// conditional members out.
func TestAuthZENConditions(t *testing.T) {
	ts := startServer(t)
	seedConditions(t, ts)
	eval := func(body string) map[string]any {
		t.Helper()
		r := ts.authzen(t, evaluation, body)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		return r.json
	}
	eve := `"subject":{"type":"user","id":"eve"%s},"action":{"name":"read"},"resource":{"type":"doc","id":"d2"%s}`
	props := func(subject, resource string) string {
		return "{" + fmtProps(eve, subject, resource) + "}"
	}
	for _, c := range []struct {
		name, body string
		want       bool
	}{
		{"properties cleared", props(`{"level":3}`, `{"level":2}`), true},
		{"properties not cleared", props(`{"level":1}`, `{"level":2}`), false},
		{"context as is", `{` + fmtProps(eve, "", "") + `,"context":{"subject_level":3,"resource_level":2}}`, true},
		{"a property wins over context", `{` + fmtProps(eve, `{"level":3}`, `{"level":2}`) + `,"context":{"subject_level":1}}`, true},
		{"stored context and request", `{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"},"context":{"client_ip":"10.4.4.4"}}`, true},
	} {
		out := eval(c.body)
		if out["decision"] != c.want {
			t.Errorf("%s: %v, want decision %v", c.name, out, c.want)
		}
	}
	out := eval(props(`{"level":3}`, ""))
	if out["decision"] != false || jsonText(out["context"]) != `{"conditional":true,"missing":["resource_level"]}` {
		t.Errorf("conditional evaluation: %v", out)
	}
	r := ts.authzen(t, evaluation, props(`{"level":"high"}`, `{"level":2}`))
	if r.status != 400 || !strings.Contains(r.body, "subject.properties.level: condition cleared: parameter subject_level: expected int") {
		t.Errorf("a property of the wrong type: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, "request's context") {
		t.Errorf("a property's error points at the context: %s", r.body)
	}
	r = ts.authzen(t, evaluation, `{`+fmtProps(eve, "", `{"level":2}`)+`,"context":{"subject_level":"high"}}`)
	if r.status != 400 || !strings.Contains(r.body, `context.subject_level: condition cleared: parameter subject_level: expected int`) || !strings.Contains(r.body, `give "subject_level" in the request's context`) {
		t.Errorf("a context value of the wrong type: %d %s", r.status, r.body)
	}

	// Evaluations: each item its own context; the item at fault is
	// answered in place, the others still are.
	r = ts.authzen(t, evaluations, `{"subject":{"type":"user","id":"eve","properties":{"level":3}},"action":{"name":"read"},"evaluations":[`+
		`{"resource":{"type":"doc","id":"d2","properties":{"level":2}}},`+
		`{"resource":{"type":"doc","id":"d2","properties":{"level":5}}},`+
		`{"resource":{"type":"doc","id":"d2"}},`+
		`{"resource":{"type":"doc","id":"d2","properties":{"level":[2]}}}]}`)
	if got := decisions(t, r); !slices.Equal(got, []bool{true, false, false, false}) {
		t.Errorf("evaluations %v: %s", got, r.body)
	}
	items := r.json["evaluations"].([]any)
	if jsonText(items[2].(map[string]any)["context"]) != `{"conditional":true,"missing":["resource_level"]}` ||
		!strings.Contains(jsonText(items[3]), `"status":400`) || !strings.Contains(jsonText(items[3]), "resource.properties.level") {
		t.Errorf("evaluations items: %s", r.body)
	}
	// deny_on_first_deny stops at the conditional item, which keeps its
	// context.
	r = ts.authzen(t, evaluations, `{"subject":{"type":"user","id":"eve","properties":{"level":3}},"action":{"name":"read"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[`+
		`{"resource":{"type":"doc","id":"d2","properties":{"level":2}}},{"resource":{"type":"doc","id":"d2"}},{"resource":{"type":"doc","id":"d2","properties":{"level":1}}}]}`)
	if got := decisions(t, r); !slices.Equal(got, []bool{true, false}) || !strings.Contains(r.body, `"missing":["resource_level"]`) {
		t.Errorf("deny_on_first_deny over a conditional item: %s", r.body)
	}

	// Action search: a relation the subject holds only conditionally is
	// left out.
	act := func(body string) []string { t.Helper(); return results(t, ts.authzen(t, searchAct, body), "name") }
	if got := act(`{"subject":{"type":"user","id":"eve","properties":{"level":3}},"resource":{"type":"doc","id":"d2","properties":{"level":2}}}`); !slices.Equal(got, []string{"reader", "read"}) {
		t.Errorf("action search with properties: %v", got)
	}
	if got := act(`{"subject":{"type":"user","id":"eve"},"resource":{"type":"doc","id":"d2"}}`); len(got) != 0 {
		t.Errorf("action search without properties listed conditional relations: %v", got)
	}
}

// TestLookupsOverConditions: the native lookups and the AuthZEN searches
// evaluate conditions with the request's context and list the members
// for certain only.
func TestLookupsOverConditions(t *testing.T) {
	ts := startServer(t)
	seedConditions(t, ts)
	ctx := context.Background()
	resources := func(reqCtx map[string]any) []string {
		t.Helper()
		req := &pb.LookupResourcesRequest{Subject: user("bob"), ResourceType: "doc", Relation: "read"}
		if reqCtx != nil {
			req.Context = mustStruct(t, reqCtx)
		}
		st, err := ts.rw.DocketServiceClient.LookupResources(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for st.Receive() {
			got = append(got, st.Msg().Object.Id)
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := resources(nil); len(got) != 0 {
		t.Errorf("bob's documents without client_ip (conditional): %v", got)
	}
	if got := resources(map[string]any{"client_ip": "10.1.2.3"}); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("bob's documents from 10.1.2.3: %v", got)
	}
	st, err := ts.rw.DocketServiceClient.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{
		Object: obj("doc", "d1"), Relation: "read", SubjectType: "user", Context: mustStruct(t, map[string]any{"client_ip": "10.1.2.3"})}))
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for st.Receive() {
		subjects = append(subjects, st.Msg().Subject.Id)
	}
	if err := st.Err(); err != nil || !slices.Equal(subjects, []string{"bob", "carl"}) {
		t.Errorf("readers of d1 from 10.1.2.3 (dan's ban is conditional on now): %v %v", subjects, err)
	}

	res := func(body string) []string { t.Helper(); return results(t, ts.authzen(t, searchRes, body), "id") }
	if got := res(`{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"doc"}}`); len(got) != 0 {
		t.Errorf("resource search without context listed conditional members: %v", got)
	}
	if got := res(`{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"doc"},"context":{"client_ip":"10.1.2.3"}}`); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("resource search with context: %v", got)
	}
	sub := func(body string) []string { t.Helper(); return results(t, ts.authzen(t, searchSubj, body), "id") }
	if got := sub(`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"doc","id":"d2"},"context":{"subject_level":3,"resource_level":2}}`); !slices.Equal(got, []string{"alice", "eve"}) {
		t.Errorf("subject search with context: %v", got)
	}
	if got := sub(`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"doc","id":"d2"}}`); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("subject search without context: %v", got)
	}
}

// fmtProps fills the properties of eve's request, "" for none.
func fmtProps(format, subject, resource string) string {
	p := func(s string) string {
		if s == "" {
			return ""
		}
		return `,"properties":` + s
	}
	return strings.Replace(strings.Replace(format, "%s", p(subject), 1), "%s", p(resource), 1)
}

// TestLookupsConditionalMembers: with include_conditional the native
// lookups stream conditional members too, each marked with what it
// depends on; a cursor of one kind of request is refused by the other.
func TestLookupsConditionalMembers(t *testing.T) {
	ts := startServer(t)
	seedConditions(t, ts)
	ctx := context.Background()
	st, err := ts.rw.DocketServiceClient.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{
		Subject: user("bob"), ResourceType: "doc", Relation: "read", IncludeConditional: true}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var cursor string
	for st.Receive() {
		m := st.Msg()
		got = append(got, fmt.Sprintf("%s %v %v", m.Object.Id, m.Conditional, m.Missing))
		cursor = m.Cursor
	}
	if err := st.Err(); err != nil || !slices.Equal(got, []string{"d1 true [client_ip]"}) {
		t.Errorf("bob's documents with conditional ones: %v %v", got, err)
	}
	st, err = ts.rw.DocketServiceClient.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{
		Subject: user("bob"), ResourceType: "doc", Relation: "read", Cursor: cursor}))
	if err == nil {
		for st.Receive() {
		}
		err = st.Err()
	}
	wantCode(t, "a cursor of a request with conditional members", err, connect.CodeInvalidArgument, "cursor")

	ss, err := ts.rw.DocketServiceClient.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{
		Object: obj("doc", "d1"), Relation: "read", SubjectType: "user", IncludeConditional: true, Now: at("2029-06-01T00:00:00Z")}))
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for ss.Receive() {
		m := ss.Msg()
		got = append(got, fmt.Sprintf("%s %v %v", m.Subject.Id, m.Conditional, m.Missing))
	}
	if want := []string{"bob true [client_ip]", "carl false []", "dan true [now]"}; ss.Err() != nil || !slices.Equal(got, want) {
		t.Errorf("readers of d1 with conditional ones: %v %v, want %v", got, ss.Err(), want)
	}
	// Without the flag, only carl for certain.
	ss, err = ts.rw.DocketServiceClient.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{
		Object: obj("doc", "d1"), Relation: "read", SubjectType: "user", Now: at("2029-06-01T00:00:00Z")}))
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for ss.Receive() {
		got = append(got, ss.Msg().Subject.Id+fmt.Sprint(ss.Msg().Conditional))
	}
	if !slices.Equal(got, []string{"carlfalse"}) {
		t.Errorf("readers of d1 for certain: %v", got)
	}
	ss, err = ts.rw.DocketServiceClient.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{
		Object: obj("doc", "d1"), Relation: "read", SubjectType: "user", Context: mustStruct(t, map[string]any{"client_ip": 3})}))
	if err == nil {
		for ss.Receive() {
		}
		err = ss.Err()
	}
	wantCode(t, "a lookup's context of the wrong type", err, connect.CodeInvalidArgument, "context: condition from_network: parameter client_ip")
}

// TestConnectJSONConditionalLookups: a lookup with include_conditional
// over Connect's enveloped JSON, and a contextual tuple carrying a
// condition, which counts as stored, condition and all.
func TestConnectJSONConditionalLookups(t *testing.T) {
	ts := startServer(t)
	seedConditions(t, ts)
	msgs := openStream(t, ts, readKey, "LookupSubjects", `{"object":{"type":"doc","id":"d1"},"relation":"read","subjectType":"user","includeConditional":true,"now":"2029-06-01T00:00:00Z","context":{"client_ip":"10.2.2.2"}}`).all()
	var got []string
	for _, m := range msgs {
		v := decode[struct {
			Subject     struct{ ID string }
			Conditional bool
			Missing     []string
		}](t, m)
		got = append(got, fmt.Sprintf("%s %v %v", v.Subject.ID, v.Conditional, v.Missing))
	}
	if want := []string{"bob false []", "carl false []", "dan true [now]"}; !slices.Equal(got, want) {
		t.Errorf("LookupSubjects over Connect JSON: %v, want %v", got, want)
	}
	for _, c := range []struct {
		ctx  string
		want string
	}{
		{``, `"allowed":false,"conditional":true,"missing":["client_ip"]`},
		{`,"context":{"client_ip":"10.3.3.3"}`, `"allowed":true,"conditional":false,"missing":[]`},
	} {
		code, out := connectJSON(t, ts, readKey, "Check", `{"object":{"type":"doc","id":"d9"},"relation":"read","subject":{"type":"user","id":"zed"},`+
			`"contextualTuples":[{"object":{"type":"doc","id":"d9"},"relation":"reader","subject":{"type":"user","id":"zed"},"condition":"from_network","context":{"network":"10.0.0.0/8"}}]`+c.ctx+`}`)
		body := jsonText(map[string]any{"allowed": out["allowed"], "conditional": out["conditional"], "missing": out["missing"]})
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("check with a conditioned contextual tuple%s: %d %v", c.ctx, code, out)
		}
	}
}

// TestExpiredCollected: the server deletes, in the background, the tuples
// expired longer ago than it keeps them, and no others.
func TestExpiredCollected(t *testing.T) {
	readAt := func(ts *testServer, now string) []string {
		t.Helper()
		res, err := ts.rw.DocketServiceClient.Read(context.Background(), connect.NewRequest(&pb.ReadRequest{Filter: &pb.Filter{ObjectType: "doc"}, Now: at(now)}))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tu := range res.Msg.Tuples {
			out = append(out, tu.Subject.Id)
		}
		return out
	}
	for _, c := range []struct {
		name string
		keep time.Duration
		gone bool
	}{
		{"kept no longer", 0, true},
		{"kept a century", 100 * 365 * 24 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, func(o *server.Options) { o.ExpiredEvery, o.ExpiredKeep = 20*time.Millisecond, c.keep })
			seedConditions(t, ts)
			wrote, err := ts.rw.Touch(context.Background(), "doc:d7#reader@user:old[expiration:2020-01-01T00:00:00Z]")
			if err != nil {
				t.Fatal(err)
			}
			if c.gone {
				// The pass is a write like any other: Watch tells of it.
				wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				w, err := ts.rw.DocketServiceClient.Watch(wctx, connect.NewRequest(&pb.WatchRequest{After: wrote.Token}))
				if err != nil {
					t.Fatal(err)
				}
				for w.Receive() && w.Msg().Heartbeat {
				}
				if ch := w.Msg().GetChanges(); len(ch) != 1 || ch[0].Kind != pb.Change_KIND_DELETE || ch[0].Tuple.Subject.Id != "old" {
					t.Errorf("watch after the expired tuple: %v %v", w.Msg(), w.Err())
				}
				w.Close()
			}
			deadline := time.Now().Add(10 * time.Second)
			for slices.Contains(readAt(ts, "2019-01-01T00:00:00Z"), "old") && time.Now().Before(deadline) {
				if !c.gone && time.Until(deadline) < 9*time.Second {
					break // several passes have run and kept it
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := slices.Contains(readAt(ts, "2019-01-01T00:00:00Z"), "old"); got == c.gone {
				t.Errorf("the tuple expired in 2020 still stored: %v, want %v", got, !c.gone)
			}
			// Tuples expiring later are untouched.
			if got := readAt(ts, "2029-01-01T00:00:00Z"); !slices.Contains(got, "carl") || !slices.Contains(got, "dan") {
				t.Errorf("tuples not yet expired were deleted: %v", got)
			}
		})
	}
}
