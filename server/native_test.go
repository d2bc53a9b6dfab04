package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"google.golang.org/protobuf/types/known/structpb"
)

func obj(typ, id string) *pb.ObjectRef { return &pb.ObjectRef{Type: typ, Id: id} }
func user(id string) *pb.SubjectRef    { return &pb.SubjectRef{Type: "user", Id: id} }
func tup(s string) *pb.Tuple {
	t, err := client.Tuple(s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNativeCalls runs every call of the native API through the generated
// client, once over the Connect protocol and once over gRPC.
func TestNativeCalls(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		name := map[bool]string{false: "connect", true: "grpc"}[grpc]
		t.Run(name, func(t *testing.T) {
			ts := startServer(t)
			ts.seed(t, fixture...)
			c := ts.rw
			if grpc {
				c = ts.grpc
			}
			nativeCalls(t, ts, c)
		})
	}
}

func nativeCalls(t *testing.T, ts *testServer, c *client.Client) {
	ctx := context.Background()
	full := client.FullyConsistent()

	// Check, with explain and contextual tuples.
	res, err := c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Consistency: full, Object: obj("record", "record-1"), Relation: "read", Subject: user("bob"), Explain: true}))
	if err != nil || !res.Msg.Allowed || !strings.Contains(res.Msg.ExplanationText, "allowed") || !json.Valid([]byte(res.Msg.ExplanationJson)) {
		t.Fatalf("check bob read record-1: %v %v", res, err)
	}
	if ok, _, err := c.Check(ctx, "record:record-1", "write", "user:bob", full); err != nil || ok {
		t.Fatalf("check bob write record-1 = %v, %v; want denied", ok, err)
	}
	if ok, _, err := c.Check(ctx, "record:record-3", "read", "user:dave", full); err != nil || ok {
		t.Fatalf("banned dave reads record-3 = %v, %v; want denied", ok, err)
	}
	res, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "record-2"), Relation: "read", Subject: user("erin"),
		ContextualTuples: []*pb.Tuple{tup("record:record-2#reader@user:erin")}}))
	if err != nil || !res.Msg.Allowed {
		t.Fatalf("contextual tuple: %v %v", res, err)
	}
	if ok, _, _ := c.Check(ctx, "record:record-2", "read", "user:erin", full); ok {
		t.Fatal("a contextual tuple was stored")
	}
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("recrd", "1"), Relation: "read", Subject: user("bob")}))
	wantCode(t, "unknown type", err, connect.CodeInvalidArgument, `did you mean "record"`)
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "1"), Relation: "raed", Subject: user("bob")}))
	wantCode(t, "unknown relation", err, connect.CodeInvalidArgument, `did you mean "read"`)
	// A context on a schema without conditions is read by nothing: the
	// answer is the one without it.
	ctxStruct, _ := structpb.NewStruct(map[string]any{"ip": "10.0.0.1"})
	res, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "record-1"), Relation: "read", Subject: user("bob"), Context: ctxStruct}))
	if err != nil || !res.Msg.Allowed || res.Msg.Conditional {
		t.Fatalf("check with a context no condition reads: %v %v", res, err)
	}
	_, err = c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "1"), Relation: "read"}))
	wantCode(t, "missing subject", err, connect.CodeInvalidArgument, "subject is missing")

	// CheckBatch: thousands at once, answered in order, a bad item in place.
	var items []*pb.CheckBatchItem
	var want []bool
	for i := range 3000 {
		who, ok := "alice", true
		if i%3 == 1 {
			who, ok = "zed", false
		}
		items = append(items, &pb.CheckBatchItem{Object: obj("record", "record-1"), Relation: "read", Subject: user(who)})
		want = append(want, ok)
	}
	items = append(items, &pb.CheckBatchItem{Object: obj("nope", "1"), Relation: "read", Subject: user("alice")})
	br, err := c.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: items}))
	if err != nil {
		t.Fatalf("check batch: %v", err)
	}
	for i, w := range want {
		if br.Msg.Results[i].Allowed != w || br.Msg.Results[i].Error != "" {
			t.Fatalf("batch item %d = %v, want %v", i, br.Msg.Results[i], w)
		}
	}
	if last := br.Msg.Results[len(want)]; last.Allowed || !strings.Contains(last.Error, "unknown type") {
		t.Fatalf("bad batch item answered %v", last)
	}

	// LookupResources: complete, then a page and a resume.
	lr := func(limit uint32, cursor string) (ids []string, last string) {
		st, err := c.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Consistency: full, Subject: user("bob"), ResourceType: "record", Relation: "read", Limit: limit, Cursor: cursor}))
		if err != nil {
			t.Fatal(err)
		}
		for st.Receive() {
			ids = append(ids, st.Msg().Object.Id)
			last = st.Msg().Cursor
		}
		if err := st.Err(); err != nil {
			t.Fatalf("lookup resources: %v", err)
		}
		return ids, last
	}
	if ids, _ := lr(0, ""); !slices.Equal(ids, []string{"record-1", "record-2"}) {
		t.Fatalf("lookup resources = %v", ids)
	}
	first, cur := lr(1, "")
	rest, _ := lr(0, cur)
	if !slices.Equal(append(first, rest...), []string{"record-1", "record-2"}) {
		t.Fatalf("paged lookup resources = %v then %v", first, rest)
	}
	st, err := c.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Subject: user("bob"), ResourceType: "record", Relation: "read", Cursor: "garbage"}))
	if err == nil {
		for st.Receive() {
		}
		err = st.Err()
	}
	wantCode(t, "bad cursor", err, connect.CodeInvalidArgument, "cursor")

	// LookupSubjects, with a resume.
	ls := func(limit uint32, cursor string) (subs []string, last string) {
		st, err := c.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{Consistency: full, Object: obj("record", "record-3"), Relation: "read", SubjectType: "user", Limit: limit, Cursor: cursor}))
		if err != nil {
			t.Fatal(err)
		}
		for st.Receive() {
			subs = append(subs, st.Msg().Subject.Id)
			last = st.Msg().Cursor
		}
		if err := st.Err(); err != nil {
			t.Fatalf("lookup subjects: %v", err)
		}
		return subs, last
	}
	if subs, _ := ls(0, ""); !slices.Equal(subs, []string{"carol"}) {
		t.Fatalf("lookup subjects = %v", subs)
	}
	first, cur = ls(1, "")
	if rest, _ := ls(0, cur); len(first) != 1 || len(rest) != 0 {
		t.Fatalf("paged lookup subjects = %v then %v", first, rest)
	}

	// Expand.
	ex, err := c.Expand(ctx, connect.NewRequest(&pb.ExpandRequest{Object: obj("record", "record-3"), Relation: "reader", Recursive: true}))
	if err != nil || !strings.Contains(ex.Msg.Text, "carol") || ex.Msg.Tree == nil {
		t.Fatalf("expand: %v %v", ex, err)
	}

	// Write: create refuses an existing tuple, preconditions, delete.
	_, err = c.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{{Kind: pb.WriteOp_KIND_CREATE, Tuple: tup("record:record-1#owner@user:alice")}}}))
	wantCode(t, "create existing", err, connect.CodeAlreadyExists)
	_, err = c.Write(ctx, connect.NewRequest(&pb.WriteRequest{
		Ops:           []*pb.WriteOp{{Kind: pb.WriteOp_KIND_TOUCH, Tuple: tup("record:w#owner@user:x")}},
		Preconditions: []*pb.Precondition{{Filter: &pb.Filter{ObjectType: "record", ObjectId: "nothing-here"}, MustMatch: true}},
	}))
	wantCode(t, "failed precondition", err, connect.CodeFailedPrecondition)
	_, err = c.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{{Kind: pb.WriteOp_KIND_TOUCH, Tuple: tup("record:w#ownr@user:x")}}}))
	wantCode(t, "invalid tuple", err, connect.CodeInvalidArgument, "ownr")
	wr, err := c.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: []*pb.WriteOp{
		{Kind: pb.WriteOp_KIND_CREATE, Tuple: tup("record:w#owner@user:x")},
		{Kind: pb.WriteOp_KIND_TOUCH, Tuple: tup("record:w#reader@user:y")},
	}}))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if ok, _, _ := c.Check(ctx, "record:w", "read", "user:y", client.AtLeastAsFresh(wr.Msg.Revision.Token)); !ok {
		t.Fatal("write not visible at its token")
	}

	// Read, a page at a time.
	var all []string
	cursor := ""
	for range 10 {
		rr, err := c.Read(ctx, connect.NewRequest(&pb.ReadRequest{Consistency: client.AtExactSnapshot(wr.Msg.Revision.Token), Filter: &pb.Filter{ObjectType: "record"}, Limit: 2, Cursor: cursor}))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, tp := range rr.Msg.Tuples {
			all = append(all, tp.Object.Id+"#"+tp.Relation)
		}
		if cursor = rr.Msg.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 7 {
		t.Fatalf("read %d record tuples in pages: %v", len(all), all)
	}

	// DeleteMatching.
	dm, err := c.DeleteMatching(ctx, connect.NewRequest(&pb.DeleteMatchingRequest{Filter: &pb.Filter{ObjectType: "record", ObjectId: "w"}}))
	if err != nil || dm.Msg.Deleted != 2 {
		t.Fatalf("delete matching: %v %v", dm, err)
	}
	_, err = c.DeleteMatching(ctx, connect.NewRequest(&pb.DeleteMatchingRequest{}))
	wantCode(t, "empty filter", err, connect.CodeInvalidArgument, "empty")

	// Import streams, atomically: a bad line writes nothing.
	imp := c.Import(ctx)
	if err := imp.Send(&pb.ImportRequest{Name: "more.tuples", Data: []byte("record:i1#owner@user:a\nrecord:i2#own")}); err != nil {
		t.Fatal(err)
	}
	if err := imp.Send(&pb.ImportRequest{Data: []byte("er@user:b\n")}); err != nil {
		t.Fatal(err)
	}
	ir, err := imp.CloseAndReceive()
	if err != nil || ir.Msg.Tuples != 2 {
		t.Fatalf("import: %v %v", ir, err)
	}
	imp = c.Import(ctx)
	_ = imp.Send(&pb.ImportRequest{Name: "bad.tuples", Data: []byte("record:i3#owner@user:a\nrecord:i4#nope@user:b\n")})
	_, err = imp.CloseAndReceive()
	wantCode(t, "bad import", err, connect.CodeInvalidArgument, "bad.tuples:2")
	if ok, _, _ := c.Check(ctx, "record:i3", "write", "user:a", full); ok {
		t.Fatal("a failed import wrote part of its input")
	}

	// Export every tuple at one revision.
	exp, err := c.Export(ctx, connect.NewRequest(&pb.ExportRequest{Consistency: client.AtExactSnapshot(ir.Msg.Revision.Token)}))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for exp.Receive() {
		out.Write(exp.Msg().Data)
	}
	if err := exp.Err(); err != nil {
		t.Fatalf("export: %v", err)
	}
	if n := strings.Count(out.String(), "\n"); n != len(fixture)+2 || !strings.Contains(out.String(), "record:i2#owner@user:b") {
		t.Fatalf("export (%d lines):\n%s", n, out.String())
	}

	// Schema read and write, dry run with the diff.
	rs, err := c.ReadSchema(ctx, connect.NewRequest(&pb.ReadSchemaRequest{}))
	if err != nil || !strings.Contains(rs.Msg.Text, "relation banned") {
		t.Fatalf("read schema: %v %v", rs, err)
	}
	dry, err := c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: testSchema + "\ntype folder {}\n", DryRun: true}))
	if err != nil || dry.Msg.Written || len(dry.Msg.Changes) != 1 || dry.Msg.Changes[0].Type != "folder" {
		t.Fatalf("dry run: %v %v", dry, err)
	}
	cdry, err := c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{
		Text: testSchema + "\ncondition on_site(ip ipaddress) { ip.in_cidr(\"10.0.0.0/8\") }\n", DryRun: true}))
	if err != nil || len(cdry.Msg.Changes) != 1 || cdry.Msg.Changes[0].Condition != "on_site" ||
		cdry.Msg.Changes[0].Type != "" || cdry.Msg.Changes[0].New != `(ip ipaddress) { ip.in_cidr("10.0.0.0/8") }` {
		t.Fatalf("dry run adding a condition: %v %v", cdry, err)
	}
	if rs2, _ := c.ReadSchema(ctx, connect.NewRequest(&pb.ReadSchemaRequest{})); strings.Contains(rs2.Msg.Text, "folder") {
		t.Fatal("a dry run wrote the schema")
	}
	same, err := c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: testSchema}))
	if err != nil || same.Msg.Written {
		t.Fatalf("rewriting the same schema: %v %v", same, err)
	}
	_, err = c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Filename: "bad.rebac", Text: "type user {\n  relation x: nope\n}\n"}))
	wantCode(t, "bad schema", err, connect.CodeInvalidArgument, "bad.rebac:2:")

	// Stats.
	sr, err := c.Stats(ctx, connect.NewRequest(&pb.StatsRequest{}))
	if err != nil || sr.Msg.Version != "test" || sr.Msg.Revision.Number == 0 || sr.Msg.Backend != "memory" {
		t.Fatalf("stats: %v %v", sr, err)
	}
}

// connectJSON posts a Connect JSON request over plain HTTP/1.1.
func connectJSON(t *testing.T, ts *testServer, key, method, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.url+"/"+docketv1connect.DocketServiceName+"/"+method, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d %s: not JSON: %v", method, res.StatusCode, b, err)
	}
	return res.StatusCode, out
}

// TestConnectJSON calls every unary method as curl would, and a streaming
// one with Connect's enveloped JSON.
func TestConnectJSON(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, fixture...)
	calls := []struct{ method, body, want string }{
		{"Check", `{"object":{"type":"record","id":"record-1"},"relation":"write","subject":{"type":"user","id":"alice"},"consistency":{"fullyConsistent":true}}`, `"allowed":true`},
		{"Check", `{"object":{"type":"record","id":"record-1"},"relation":"write","subject":{"type":"user","id":"bob"},"unknownField":1}`, `"allowed":false`},
		{"CheckBatch", `{"items":[{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"}}]}`, `"allowed":true`},
		{"Expand", `{"object":{"type":"record","id":"record-1"},"relation":"read"}`, `"tree"`},
		{"Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"record","id":"j"},"relation":"owner","subject":{"type":"user","id":"x"}}}]}`, `"token"`},
		{"Read", `{"filter":{"objectType":"record","objectId":"j"}}`, `"x"`},
		{"DeleteMatching", `{"filter":{"objectType":"record","objectId":"j"}}`, `"deleted":"1"`},
		{"ReadSchema", `{}`, `relation banned`},
		{"WriteSchema", `{"text":"type user {}","dryRun":true}`, `"removed"`},
		{"Stats", `{}`, `"version":"test"`},
	}
	for _, c := range calls {
		status, out := connectJSON(t, ts, writeKey, c.method, c.body)
		b, _ := json.Marshal(out)
		if status != 200 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %s: %d %s; want %s", c.method, c.body, status, b, c.want)
		}
	}
	// Connect also spells JSON with its charset; such a request is read
	// as the plain one is (unknown fields ignored, zero values spelt
	// out), not by Connect's stricter default codec.
	charset, _ := http.NewRequest("POST", ts.url+"/"+docketv1connect.DocketServiceName+"/Check",
		strings.NewReader(`{"object":{"type":"record","id":"record-1"},"relation":"write","subject":{"type":"user","id":"bob"},"unknownField":1}`))
	charset.Header.Set("Content-Type", "application/json; charset=utf-8")
	charset.Header.Set("Authorization", "Bearer "+writeKey)
	if res, err := ts.http.Do(charset); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), `"allowed":false`) || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("JSON with a charset: %d %s %q", res.StatusCode, b, res.Header.Get("Content-Type"))
		}
	}
	status, out := connectJSON(t, ts, writeKey, "Check", `{"object":{"type":"recrd","id":"1"},"relation":"read","subject":{"type":"user","id":"bob"}}`)
	if status != 400 || out["code"] != "invalid_argument" || !strings.Contains(out["message"].(string), "did you mean") {
		t.Errorf("unknown type over JSON: %d %v", status, out)
	}
	status, _ = connectJSON(t, ts, writeKey, "Check", `{"object":`)
	if status != 400 {
		t.Errorf("malformed JSON: %d", status)
	}

	// A server stream in Connect's JSON: enveloped messages, then the
	// end-of-stream message.
	body := `{"subject":{"type":"user","id":"bob"},"resourceType":"record","relation":"read"}`
	env := make([]byte, 5+len(body))
	binary.BigEndian.PutUint32(env[1:5], uint32(len(body)))
	copy(env[5:], body)
	req, _ := http.NewRequest("POST", ts.url+docketv1connect.DocketServiceLookupResourcesProcedure, bytes.NewReader(env))
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Authorization", "Bearer "+readKey)
	res, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var ids []string
	for len(raw) >= 5 {
		n := binary.BigEndian.Uint32(raw[1:5])
		flags, msg := raw[0], raw[5:5+n]
		raw = raw[5+n:]
		if flags&2 != 0 {
			if string(msg) != "{}" {
				t.Errorf("end of stream: %s", msg)
			}
			break
		}
		var m struct {
			Object struct{ ID string }
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Object.ID)
	}
	if !slices.Equal(ids, []string{"record-1", "record-2"}) {
		t.Errorf("streamed lookup over Connect JSON = %v", ids)
	}
}

// TestAuth: a missing or wrong key is Unauthenticated (401), a read key
// on a write PermissionDenied (403), in every protocol.
func TestAuth(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, fixture...)
	ctx := context.Background()
	none, _ := client.New(ts.url, client.Options{})
	wrong, _ := client.New(ts.url, client.Options{Token: "not-a-key", GRPC: true})
	_, _, err := none.Check(ctx, "record:record-1", "read", "user:bob", nil)
	wantCode(t, "no key", err, connect.CodeUnauthenticated)
	_, _, err = wrong.Check(ctx, "record:record-1", "read", "user:bob", nil)
	wantCode(t, "wrong key", err, connect.CodeUnauthenticated)
	if _, _, err := ts.ro.Check(ctx, "record:record-1", "read", "user:bob", nil); err != nil {
		t.Fatalf("read key on a check: %v", err)
	}
	_, err = ts.ro.Touch(ctx, "record:z#owner@user:z")
	wantCode(t, "read key on a write", err, connect.CodePermissionDenied)
	imp := ts.ro.Import(ctx)
	_ = imp.Send(&pb.ImportRequest{Data: []byte("record:z#owner@user:z\n")})
	_, err = imp.CloseAndReceive()
	wantCode(t, "read key on an import", err, connect.CodePermissionDenied)
	_, err = ts.ro.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: "type user {}"}))
	wantCode(t, "read key on a schema write", err, connect.CodePermissionDenied)

	for _, tc := range []struct {
		key  string
		want int
	}{{"", 401}, {"nope", 401}, {readKey, 403}} {
		status, _ := connectJSON(t, ts, tc.key, "Write", `{"ops":[]}`)
		if status != tc.want {
			t.Errorf("Connect JSON write with key %q: %d, want %d", tc.key, status, tc.want)
		}
	}
	// The open endpoints.
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/authzen-configuration"} {
		res, err := ts.http.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s without a key: %d", path, res.StatusCode)
		}
	}
}

// TestConsistency: a read at least as fresh as a write sees it; a read at
// an old exact snapshot sees the old state; another store's token and a
// malformed one are refused.
func TestConsistency(t *testing.T) {
	ts := startServer(t)
	other := startServer(t)
	ts.seed(t, fixture...)
	other.seed(t, fixture...)
	ctx := context.Background()
	before, err := ts.rw.Touch(ctx, "record:c#owner@user:old")
	if err != nil {
		t.Fatal(err)
	}
	after, err := ts.rw.Delete(ctx, "record:c#owner@user:old")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rev, err := ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtLeastAsFresh(after.Token)); err != nil || ok || rev.Number < after.Number {
		t.Fatalf("at least as fresh as the delete: %v at %v, %v", ok, rev, err)
	}
	if ok, rev, err := ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtExactSnapshot(before.Token)); err != nil || !ok || rev.Number != before.Number {
		t.Fatalf("at the old snapshot: %v at %v, %v", ok, rev, err)
	}
	for _, cons := range []*pb.Consistency{client.MinimizeLatency(), client.FullyConsistent(), nil} {
		if ok, rev, err := ts.ro.Check(ctx, "record:c", "write", "user:old", cons); err != nil || ok || rev.Number != after.Number {
			t.Fatalf("%v: %v at %v, %v", cons, ok, rev, err)
		}
	}
	foreign, _ := other.rw.Touch(ctx, "record:c#owner@user:old")
	_, _, err = ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtLeastAsFresh(foreign.Token))
	wantCode(t, "another store's token", err, connect.CodeInvalidArgument, "another store")
	_, _, err = ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtExactSnapshot("bm9wZQ"))
	wantCode(t, "a malformed token", err, connect.CodeInvalidArgument, "not a Docket consistency token")

	// A token of this store naming a revision not written yet is out of
	// range, for either requirement.
	raw, err := base64.RawURLEncoding.DecodeString(after.Token)
	if err != nil {
		t.Fatal(err)
	}
	store := string(raw[:strings.LastIndexByte(string(raw), ':')])
	future := base64.RawURLEncoding.EncodeToString([]byte(store + ":" + strconv.FormatUint(after.Number+100, 10)))
	_, _, err = ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtLeastAsFresh(future))
	wantCode(t, "at least as fresh as a future revision", err, connect.CodeOutOfRange, "newer than the latest")
	_, _, err = ts.ro.Check(ctx, "record:c", "write", "user:old", client.AtExactSnapshot(future))
	wantCode(t, "exactly a future revision", err, connect.CodeOutOfRange, "not written yet")
}

// TestUnknownNames: a name the schema lacks is InvalidArgument naming the
// request's field, with the nearest name and the names there are.
func TestUnknownNames(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, fixture...)
	ctx := context.Background()
	_, err := ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("recrd", "1"), Relation: "read", Subject: user("bob")}))
	wantCode(t, "unknown object type", err, connect.CodeInvalidArgument, `object.type: unknown type "recrd"; did you mean "record"? (types in the schema: `)
	_, err = ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "1"), Relation: "read", Subject: &pb.SubjectRef{Type: "team", Id: "east", Relation: "membr"}}))
	wantCode(t, "unknown subject relation", err, connect.CodeInvalidArgument, `subject.relation: type team has no relation "membr"; did you mean "member"? (relations of team: member)`)
	_, err = ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "1"), Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "bob", Relation: "x"}}))
	wantCode(t, "a relation of a type that declares none", err, connect.CodeInvalidArgument, `subject.relation: type user has no relation "x"; it declares none`)
	_, err = ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "1"), Relation: "zzz", Subject: user("bob")}))
	wantCode(t, "a relation nothing is near", err, connect.CodeInvalidArgument, `relation: type record has no relation "zzz"; relations of record: owner, reader, banned, read, write, delete`)
	br, err := ts.rw.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: []*pb.CheckBatchItem{
		{Object: obj("record", "record-1"), Relation: "read", Subject: user("bob")},
		{Object: obj("record", "record-1"), Relation: "raed", Subject: user("bob")},
	}}))
	if err != nil || !br.Msg.Results[0].Allowed || !strings.HasPrefix(br.Msg.Results[1].Error, `items[1].relation: type record has no relation "raed"; did you mean "read"?`) {
		t.Fatalf("batch with an unknown relation: %v %v", br, err)
	}
	st, err := ts.rw.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Subject: user("bob"), ResourceType: "recor", Relation: "read"}))
	if err == nil {
		for st.Receive() {
		}
		err = st.Err()
	}
	wantCode(t, "lookup of an unknown type", err, connect.CodeInvalidArgument, `resource_type: unknown type "recor"; did you mean "record"?`)
	ss, err := ts.rw.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{Object: obj("record", "record-1"), Relation: "read", SubjectType: "tem", SubjectRelation: "member"}))
	if err == nil {
		for ss.Receive() {
		}
		err = ss.Err()
	}
	wantCode(t, "lookup of an unknown subject type", err, connect.CodeInvalidArgument, `subject_type: unknown type "tem"; did you mean "team"?`)
}

// TestWatch: changes arrive in order, one message per revision; a watch
// resumed from the last revision it received carries on from there;
// heartbeats carry the latest revision.
func TestWatch(t *testing.T) {
	ts := startServer(t)
	start := ts.seed(t, "record:a#owner@user:a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	watch := func(after string, n int) (revs []*pb.Revision, changes []string) {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		st, err := ts.ro.Watch(wctx, connect.NewRequest(&pb.WatchRequest{After: after, HeartbeatMs: 100}))
		if err != nil {
			t.Fatal(err)
		}
		for len(changes) < n && st.Receive() {
			if st.Msg().Heartbeat {
				continue
			}
			revs = append(revs, st.Msg().Revision)
			for _, c := range st.Msg().Changes {
				changes = append(changes, c.Kind.String()+" "+c.Tuple.Object.Id)
			}
		}
		if len(changes) < n {
			t.Fatalf("watch ended after %v: %v", changes, st.Err())
		}
		return revs, changes
	}
	for _, id := range []string{"b", "c", "d"} {
		if _, err := ts.rw.Touch(ctx, "record:"+id+"#owner@user:a"); err != nil {
			t.Fatal(err)
		}
	}
	revs, changes := watch(start.Token, 2)
	if !slices.Equal(changes, []string{"KIND_WRITE b", "KIND_WRITE c"}) {
		t.Fatalf("first watch: %v", changes)
	}
	// Resume after the last revision received; a write that lands
	// while the watch waits arrives too.
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = ts.rw.Delete(ctx, "record:b#owner@user:a")
	}()
	_, changes = watch(revs[len(revs)-1].Token, 2)
	if !slices.Equal(changes, []string{"KIND_WRITE d", "KIND_DELETE b"}) {
		t.Fatalf("resumed watch: %v", changes)
	}

	// Heartbeats while nothing changes.
	st, err := ts.ro.Watch(ctx, connect.NewRequest(&pb.WatchRequest{HeartbeatMs: 100}))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Receive() || !st.Msg().Heartbeat || st.Msg().Revision.Number == 0 {
		t.Fatalf("no heartbeat: %v %v", st.Msg(), st.Err())
	}
	st.Close()
}

// TestWildcardAndContextualInPlace: the server answers through the same
// query layer as the command line: an allowed wildcard check lists the
// subjects exclusions still remove, and a batch item whose contextual
// tuple is invalid is answered in place.
func TestWildcardAndContextualInPlace(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, append(slices.Clone(fixture), "record:record-3#reader@user:*")...)
	ctx := context.Background()
	res, err := ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "record-3"), Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "*"}}))
	if err != nil || !res.Msg.Allowed || len(res.Msg.Excluded) != 1 || res.Msg.Excluded[0].Id != "dave" {
		t.Fatalf("wildcard check: %v %v", res, err)
	}
	br, err := ts.rw.DocketServiceClient.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: []*pb.CheckBatchItem{
		{Object: obj("record", "record-3"), Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "*"}},
		{Object: obj("record", "record-2"), Relation: "read", Subject: user("erin"), ContextualTuples: []*pb.Tuple{tup("record:record-2#read@user:erin")}},
		{Object: obj("record", "record-2"), Relation: "read", Subject: user("erin"), ContextualTuples: []*pb.Tuple{tup("record:record-2#reader@user:erin")}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	rs := br.Msg.Results
	if !rs[0].Allowed || len(rs[0].Excluded) != 1 || rs[0].Excluded[0].Id != "dave" {
		t.Errorf("batch wildcard item: %v", rs[0])
	}
	if rs[1].Allowed || !strings.Contains(rs[1].Error, "items[1].contextual_tuples: contextual tuple 1: ") || !strings.Contains(rs[1].Error, "computed") {
		t.Errorf("batch item with an invalid contextual tuple: %v", rs[1])
	}
	if !rs[2].Allowed || rs[2].Error != "" {
		t.Errorf("batch item beside it: %v", rs[2])
	}
	_, err = ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "record-2"), Relation: "read", Subject: user("erin"),
		ContextualTuples: []*pb.Tuple{tup("record:record-2#read@user:erin")}}))
	wantCode(t, "check with an invalid contextual tuple", err, connect.CodeInvalidArgument, "contextual_tuples: contextual tuple 1: ")
}
