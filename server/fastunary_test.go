package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// rawCall is one HTTP request, sent as is.
type rawCall struct {
	name    string
	method  string // POST unless set
	path    string
	header  map[string]string // Content-Type, Authorization (write key unless set), ...
	body    []byte
	noAuth  bool
	cutBody bool // announce more bytes than sent
}

// rawAnswer is what came back, with the headers that vary between two
// servers (Date) left out.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

func sendRaw(t *testing.T, hc *http.Client, base string, c rawCall) rawAnswer {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(c.body)
	if c.cutBody {
		body = io.MultiReader(bytes.NewReader(c.body), errReader{})
	}
	req, err := http.NewRequest(method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.cutBody {
		req.ContentLength = int64(len(c.body)) + 10
	}
	req.Header.Set("X-Request-ID", "req-"+strings.ReplaceAll(c.name, " ", "-"))
	if !c.noAuth {
		req.Header.Set("Authorization", "Bearer "+writeKey)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := hc.Do(req)
	if err != nil {
		if c.cutBody {
			return rawAnswer{}
		}
		t.Fatalf("%s: %v", c.name, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: read answer: %v", c.name, err)
	}
	res.Header.Del("Date")
	return rawAnswer{status: res.StatusCode, header: res.Header, body: b}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func protoBody(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastUnaryMatchesConnect sends the same requests to a server that
// answers Check and CheckBatch on its fast path and to one that sends
// everything through connect-go's handler, over the same store, and
// requires the same status, headers and body bytes from both, and the
// same request counts in their metrics.
func TestFastUnaryMatchesConnect(t *testing.T) {
	id := server.NewStoreID()
	limits := func(o *server.Options) {
		o.StoreID = id
		o.Limits.MaxRequestBytes = 8 << 10
		o.Limits.MaxBatch = 400
	}
	fast := startServer(t, limits)
	slow := startServer(t, limits, func(o *server.Options) {
		o.Store = fast.store
		server.WithoutFastUnary(o)
	})
	// No compression added by the transport: the calls choose their own
	// Accept-Encoding, and gzipped answers are compared as sent.
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(hc.CloseIdleConnections)

	const checkPath = "/docket.v1.DocketService/Check"
	const batchPath = "/docket.v1.DocketService/CheckBatch"
	protoCT := map[string]string{"Content-Type": "application/proto"}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	with := func(base map[string]string, kv ...string) map[string]string {
		h := map[string]string{}
		for k, v := range base {
			h[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	checkReq := func(obj, rel, subj string) *pb.CheckRequest {
		ot, oid, _ := strings.Cut(obj, ":")
		st, sid, _ := strings.Cut(subj, ":")
		return &pb.CheckRequest{Object: &pb.ObjectRef{Type: ot, Id: oid}, Relation: rel, Subject: &pb.SubjectRef{Type: st, Id: sid}}
	}
	allowedJSON := []byte(`{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"alice"}}`)

	compare := func(c rawCall) {
		t.Helper()
		a := sendRaw(t, hc, fast.url, c)
		b := sendRaw(t, hc, slow.url, c)
		if a.status != b.status {
			t.Errorf("%s: status %d on the fast path, %d through connect-go (bodies %q, %q)", c.name, a.status, b.status, a.body, b.body)
		}
		if !bytes.Equal(a.body, b.body) {
			t.Errorf("%s: body\n%q on the fast path,\n%q through connect-go", c.name, a.body, b.body)
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			seen := map[string]bool{}
			for _, h := range []http.Header{a.header, b.header} {
				for k := range h {
					if !seen[k] {
						seen[k] = true
						if !yield(k) {
							return
						}
					}
				}
			}
		}) {
			if !slices.Equal(a.header[k], b.header[k]) {
				t.Errorf("%s: header %s: %q on the fast path, %q through connect-go", c.name, k, a.header[k], b.header[k])
			}
		}
	}

	// Before the schema: FailedPrecondition.
	compare(rawCall{name: "no schema", path: checkPath, header: protoCT, body: protoBody(t, checkReq("record:record-1", "read", "user:alice"))})

	rev := fast.seed(t, fixture...)

	var big pb.CheckBatchRequest
	for i := range 300 {
		big.Items = append(big.Items, &pb.CheckBatchItem{Object: &pb.ObjectRef{Type: "record", Id: fmt.Sprintf("record-%d", i%4)}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "bob"}})
	}
	bigJSON := []byte(`{"items":[` + strings.Repeat(`{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"}},`, 299) +
		`{"object":{"type":"record","id":"record-3"},"relation":"read","subject":{"type":"user","id":"carol"}}]}`)
	var overBatch pb.CheckBatchRequest
	for range 401 {
		overBatch.Items = append(overBatch.Items, &pb.CheckBatchItem{Object: &pb.ObjectRef{Type: "record", Id: "r"}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "u"}})
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(allowedJSON)
	_ = zw.Close()
	withContext := checkReq("record:record-1", "read", "user:alice")
	withContext.Context, _ = structpb.NewStruct(map[string]any{"x": 1})
	unknownField := append(protoBody(t, checkReq("record:record-1", "read", "user:alice")), 0xa0, 0x3e, 0x01) // field 1000, varint 1
	future := &pb.CheckRequest{Object: &pb.ObjectRef{Type: "record", Id: "record-1"}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "alice"},
		Consistency: &pb.Consistency{Requirement: &pb.Consistency_AtLeastAsFresh{AtLeastAsFresh: rev.Token}}}
	other := &pb.CheckRequest{Object: &pb.ObjectRef{Type: "record", Id: "record-1"}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "alice"},
		Consistency: &pb.Consistency{Requirement: &pb.Consistency_AtExactSnapshot{AtExactSnapshot: "not-a-token"}}}

	calls := []rawCall{
		{name: "proto allowed", path: checkPath, header: protoCT, body: protoBody(t, checkReq("record:record-1", "read", "user:alice"))},
		{name: "proto denied", path: checkPath, header: protoCT, body: protoBody(t, checkReq("record:record-3", "read", "user:dave"))},
		{name: "proto through a team", path: checkPath, header: protoCT, body: protoBody(t, checkReq("record:record-3", "read", "user:carol"))},
		{name: "proto explain", path: checkPath, header: protoCT, body: protoBody(t, &pb.CheckRequest{Object: &pb.ObjectRef{Type: "record", Id: "record-3"}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "carol"}, Explain: true})},
		{name: "proto with a context", path: checkPath, header: protoCT, body: protoBody(t, withContext)},
		{name: "proto unknown field", path: checkPath, header: protoCT, body: unknownField},
		{name: "proto garbage", path: checkPath, header: protoCT, body: []byte{0xff, 0xff, 0xff}},
		{name: "proto empty body", path: checkPath, header: protoCT},
		{name: "proto at least as fresh", path: checkPath, header: protoCT, body: protoBody(t, future)},
		{name: "proto token of no store", path: checkPath, header: protoCT, body: protoBody(t, other)},
		{name: "json allowed", path: checkPath, header: jsonCT, body: allowedJSON},
		{name: "json unknown fields", path: checkPath, header: jsonCT, body: []byte(`{"object":{"type":"record","id":"record-1","colour":"red"},"relation":"read","subject":{"type":"user","id":"bob"},"bogus":[1,2]}`)},
		{name: "json unknown relation", path: checkPath, header: jsonCT, body: []byte(`{"object":{"type":"record","id":"record-1"},"relation":"raed","subject":{"type":"user","id":"bob"}}`)},
		{name: "json unknown type", path: checkPath, header: jsonCT, body: []byte(`{"object":{"type":"recrod","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"}}`)},
		{name: "json empty relation", path: checkPath, header: jsonCT, body: []byte(`{"object":{"type":"record","id":"record-1"},"subject":{"type":"user","id":"bob"}}`)},
		{name: "json bad", path: checkPath, header: jsonCT, body: []byte(`{"object":`)},
		{name: "json wrong type", path: checkPath, header: jsonCT, body: []byte(`{"relation":5}`)},
		{name: "json context not an object", path: checkPath, header: jsonCT, body: []byte(`{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"},"context":[1]}`)},
		{name: "json empty body", path: checkPath, header: jsonCT},
		{name: "json charset", path: checkPath, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, body: allowedJSON},
		{name: "no key", path: checkPath, header: jsonCT, body: allowedJSON, noAuth: true},
		{name: "no key, bad body", path: checkPath, header: jsonCT, body: []byte(`{`), noAuth: true},
		{name: "wrong key", path: checkPath, header: with(jsonCT, "Authorization", "Bearer nope"), body: allowedJSON},
		{name: "empty key", path: checkPath, header: with(jsonCT, "Authorization", "Bearer "), body: allowedJSON},
		{name: "basic auth", path: checkPath, header: with(jsonCT, "Authorization", "Basic eDp5"), body: allowedJSON},
		{name: "read key", path: checkPath, header: with(jsonCT, "Authorization", "Bearer "+readKey), body: allowedJSON},
		{name: "read key on a write", path: "/docket.v1.DocketService/Write", header: with(jsonCT, "Authorization", "Bearer "+readKey), body: []byte(`{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"record","id":"r"},"relation":"owner","subject":{"type":"user","id":"u"}}}]}`)},
		{name: "no such procedure", path: "/docket.v1.DocketService/Chek", header: jsonCT, body: allowedJSON},
		{name: "oversized body", path: checkPath, header: jsonCT, body: append(append([]byte(`{"relation":"`), bytes.Repeat([]byte("a"), 9<<10)...), `"}`...)},
		{name: "timeout", path: checkPath, header: with(jsonCT, "Connect-Timeout-Ms", "5000"), body: allowedJSON},
		{name: "timeout passed", path: checkPath, header: with(jsonCT, "Connect-Timeout-Ms", "0"), body: allowedJSON},
		{name: "timeout not a number", path: checkPath, header: with(jsonCT, "Connect-Timeout-Ms", "soon"), body: allowedJSON},
		{name: "timeout too long", path: checkPath, header: with(jsonCT, "Connect-Timeout-Ms", "12345678901"), body: allowedJSON},
		{name: "protocol version 1", path: checkPath, header: with(jsonCT, "Connect-Protocol-Version", "1"), body: allowedJSON},
		{name: "protocol version 2", path: checkPath, header: with(jsonCT, "Connect-Protocol-Version", "2"), body: allowedJSON},
		{name: "text/plain", path: checkPath, header: map[string]string{"Content-Type": "text/plain"}, body: allowedJSON},
		{name: "no content type", path: checkPath, body: allowedJSON},
		{name: "gzipped request", path: checkPath, header: with(jsonCT, "Content-Encoding", "gzip"), body: gz.Bytes()},
		{name: "unknown request encoding", path: checkPath, header: with(jsonCT, "Content-Encoding", "br"), body: allowedJSON},
		{name: "identity request encoding", path: checkPath, header: with(jsonCT, "Content-Encoding", "identity"), body: allowedJSON},
		{name: "small answer, gzip accepted", path: checkPath, header: with(jsonCT, "Accept-Encoding", "gzip"), body: allowedJSON},
		{name: "GET", method: http.MethodGet, path: checkPath},
		{name: "PUT", method: http.MethodPut, path: checkPath, header: jsonCT, body: allowedJSON},
		{name: "batch proto", path: batchPath, header: protoCT, body: protoBody(t, &big)},
		{name: "batch json, gzip accepted", path: batchPath, header: with(jsonCT, "Accept-Encoding", "br, gzip"), body: bigJSON},
		{name: "batch json, gzip refused", path: batchPath, header: with(jsonCT, "Accept-Encoding", "identity"), body: bigJSON},
		{name: "batch proto, gzip accepted", path: batchPath, header: with(protoCT, "Accept-Encoding", "gzip"), body: protoBody(t, &big)},
		{name: "batch with a bad item", path: batchPath, header: jsonCT, body: []byte(`{"items":[{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"}},{"object":{"type":"record","id":"record-1"},"relation":"nope","subject":{"type":"user","id":"bob"}}]}`)},
		{name: "batch over the limit", path: batchPath, header: protoCT, body: protoBody(t, &overBatch)},
		{name: "batch empty", path: batchPath, header: jsonCT, body: []byte(`{}`)},
		{name: "batch no key", path: batchPath, header: jsonCT, body: []byte(`{}`), noAuth: true},
	}
	for _, c := range calls {
		compare(c)
	}
	// Most of the calls above are the fast path's to answer (the others
	// are the handler's on both servers).
	if n, m := server.FastAnswers(fast.srv), server.FastAnswers(slow.srv); n < 25 || m != 0 {
		t.Errorf("the fast path answered %d calls on its server and %d on the other; want 25 or more and none", n, m)
	}

	// A body cut short is answered when the server sees it end, which
	// is why it stays out of the counts: as the client goes, the outcome
	// is canceled or invalid_argument depending on which it sees first.
	defer func() {
		for _, c := range []rawCall{
			{name: "body cut short", path: checkPath, header: jsonCT, body: allowedJSON[:20], cutBody: true},
			{name: "batch cut short", path: batchPath, header: protoCT, body: protoBody(t, &big)[:100], cutBody: true},
		} {
			sendRaw(t, hc, fast.url, c)
			sendRaw(t, hc, slow.url, c)
		}
	}()

	counts := func(ts *testServer) []string {
		a := sendRaw(t, hc, ts.url, rawCall{name: "metrics", method: http.MethodGet, path: "/metrics"})
		var lines []string
		for _, l := range strings.Split(string(a.body), "\n") {
			// The seed's writes went to the fast server alone.
			if strings.HasPrefix(l, "docket_requests_total{") && (strings.Contains(l, "DocketService/Check") || strings.Contains(l, `"other"`)) {
				lines = append(lines, l)
			}
		}
		return lines
	}
	if a, b := counts(fast), counts(slow); !slices.Equal(a, b) {
		t.Errorf("request counts differ:\nfast path:\n%s\nconnect-go:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	} else if len(a) < 8 {
		t.Errorf("too few request counts to compare: %q", a)
	}
}
