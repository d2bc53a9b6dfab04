package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
	"google.golang.org/protobuf/proto"
)

// fuzzServer is a server without a listener: the fuzz targets feed its
// handler directly, many thousand requests a second.
func fuzzServer(f *testing.F) http.Handler { return fuzzServerOf(f, testSchema, authzenFixture) }

// fuzzServerOf is fuzzServer over another schema and tuples (text form,
// payloads and all).
func fuzzServerOf(f *testing.F, schemaText string, fixture []string) http.Handler {
	st, err := memory.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.WriteSchema(ctx, "test.rebac", []byte(schemaText)); err != nil {
		f.Fatal(err)
	}
	var b tuples.Batch
	for _, s := range fixture {
		t, _, err := tuples.ParseWithPayload(s)
		if err != nil {
			f.Fatal(err)
		}
		b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: t})
	}
	if _, err := st.Write(ctx, b); err != nil {
		f.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, StoreID: server.NewStoreID(), Limits: server.Limits{MaxRequestBytes: 1 << 16, MaxBatch: 100, MaxPageSize: 100}})
	if err != nil {
		f.Fatal(err)
	}
	return srv.Handler()
}

func post(h http.Handler, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// FuzzAuthZEN: whatever the body, every AuthZEN endpoint answers 200 with
// a JSON object or a 4xx with a message; never a 5xx, never a panic.
func FuzzAuthZEN(f *testing.F) {
	h := fuzzServer(f)
	for _, s := range []string{
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":{"time":"1985-10-26T01:22-07:00"}}`,
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"resource":{"type":"record","id":"1"}},{}]}`,
		`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"page":{"limit":1}}`,
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"},"page":{"token":"eyJyIjoyfQ"}}`,
		`{"subject":"alice"}`, `[]`, `null`, ``, `{"evaluations":null}`, `{"page":{"limit":1e99}}`,
	} {
		f.Add(s, 0)
	}
	paths := []string{"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/subject", "/access/v1/search/resource", "/access/v1/search/action"}
	f.Fuzz(func(t *testing.T, body string, which int) {
		path := paths[uint(which)%uint(len(paths))]
		w := post(h, path, "application/json", body)
		switch {
		case w.Code == 200:
			var v map[string]any
			if json.Unmarshal(w.Body.Bytes(), &v) != nil {
				t.Fatalf("%s %q: 200 with %q", path, body, w.Body.String())
			}
		case w.Code >= 500 || w.Code < 400:
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body.String())
		case strings.TrimSpace(w.Body.String()) == "":
			t.Fatalf("%s %q: %d without a message", path, body, w.Code)
		}
	})
}

// FuzzNativeJSON: the native API's JSON decoding, through Connect's
// unary JSON, answers every body with a result or a client error.
func FuzzNativeJSON(f *testing.F) {
	h := fuzzServer(f)
	for _, s := range []string{
		`{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"},"explain":true}`,
		`{"items":[{"object":{"type":"record","id":"record-1"},"relation":"read","subject":{"type":"user","id":"bob"}}],"consistency":{"atLeastAsFresh":"ZGsxOng6MQ"}}`,
		`{"ops":[{"kind":"KIND_DELETE","tuple":{"object":{"type":"record","id":"x"},"relation":"owner","subject":{"type":"user","id":"y"}}}]}`,
		`{"filter":{"objectType":"record"},"limit":3,"cursor":"cmQxOg"}`,
		`{"object":{"type":"record","id":"record-1"},"relation":"read","contextualTuples":[{}]}`,
		`{"consistency":{"atExactSnapshot":"!!"}}`, `{"context":{"a":[1,{"b":null}]}}`, `{`, `[]`, ``,
	} {
		f.Add(s, 0)
	}
	methods := []string{"Check", "CheckBatch", "Write", "Read", "Expand", "DeleteMatching", "WriteSchema", "ReadSchema"}
	f.Fuzz(func(t *testing.T, body string, which int) {
		m := methods[uint(which)%uint(len(methods))]
		w := post(h, "/docket.v1.DocketService/"+m, "application/json", body)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", m, body, w.Code, w.Body.String())
		}
	})
}

// FuzzNativeProto: Check and CheckBatch in Connect's unary protobuf (the
// calls the server answers on its fast path), whatever the bytes, answer
// with a result or a client error.
func FuzzNativeProto(f *testing.F) {
	h := fuzzServer(f)
	check := &pb.CheckRequest{Object: &pb.ObjectRef{Type: "record", Id: "record-1"}, Relation: "read", Subject: &pb.SubjectRef{Type: "user", Id: "bob"}, Explain: true}
	batch := &pb.CheckBatchRequest{Items: []*pb.CheckBatchItem{{Object: check.Object, Relation: "read", Subject: check.Subject}, {Object: check.Object, Relation: "nope"}}}
	for _, m := range []proto.Message{check, batch} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 0)
		f.Add(b, 1)
	}
	f.Add([]byte{0xff, 0xff}, 0)
	f.Add([]byte{}, 1)
	methods := []string{"Check", "CheckBatch"}
	f.Fuzz(func(t *testing.T, body []byte, which int) {
		m := methods[uint(which)%uint(len(methods))]
		w := post(h, "/docket.v1.DocketService/"+m, "application/proto", string(body))
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", m, body, w.Code, w.Body.String())
		}
	})
}

// FuzzConditionContexts: condition contexts, clocks and payloads in
// every JSON decoder that takes them (AuthZEN properties and context, the
// native API's context, now and tuple payloads) are answered with a
// result or a client error, never a 5xx.
func FuzzConditionContexts(f *testing.F) {
	h := fuzzServerOf(f, condSchema, condFixture)
	for _, s := range []string{
		`{"subject":{"type":"user","id":"eve","properties":{"level":3}},"action":{"name":"read"},"resource":{"type":"doc","id":"d2","properties":{"level":2}}}`,
		`{"subject":{"type":"user","id":"eve","properties":{"level":"x"}},"action":{"name":"read","properties":{"a":null}},"resource":{"type":"doc","id":"d2","properties":{"level":1e300}},"context":{"subject_level":[1]}}`,
		`{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"doc","id":"d1"},"context":{"client_ip":"10.0.0.1/8"}}`,
		`{"subject":{"type":"user","id":"eve"},"action":{"name":"read"},"evaluations":[{"resource":{"type":"doc","id":"d2","properties":{"level":9007199254740993}}},{}]}`,
		`{"object":{"type":"doc","id":"d1"},"relation":"read","subject":{"type":"user","id":"bob"},"context":{"client_ip":"10.1.1.1"},"now":"2029-01-01T00:00:00Z"}`,
		`{"object":{"type":"doc","id":"d1"},"relation":"read","subject":{"type":"user","id":"dan"},"context":{"now":"yesterday"},"now":"0001-01-01T00:00:00Z"}`,
		`{"items":[{"object":{"type":"doc","id":"d2"},"relation":"read","subject":{"type":"user","id":"eve"},"context":{"subject_level":1.5,"resource_level":-1}}],"now":"9999-12-31T23:59:59Z"}`,
		`{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"doc","id":"x"},"relation":"reader","subject":{"type":"user","id":"y"},"condition":"from_network","context":{"network":{"a":[]}},"expiration":"2030-01-01T00:00:00Z"}}]}`,
		`{"filter":{"objectType":"doc"},"now":"1970-01-01T00:00:00Z"}`,
		`{"context":{"":{"":[null,true,"",0]}}}`, `{"now":12}`, `{"context":[]}`,
	} {
		f.Add(s, 0)
	}
	paths := []string{"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/action",
		"/docket.v1.DocketService/Check", "/docket.v1.DocketService/CheckBatch", "/docket.v1.DocketService/Write", "/docket.v1.DocketService/Read"}
	f.Fuzz(func(t *testing.T, body string, which int) {
		path := paths[uint(which)%uint(len(paths))]
		w := post(h, path, "application/json", body)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body.String())
		}
	})
}

// FuzzKeysFile: ParseKeys never panics, and a file it accepts holds at
// least one key, each of which is then accepted for reading.
func FuzzKeysFile(f *testing.F) {
	for _, s := range []string{"k1\nk2 read\n", "# comment\n\nk write\n", "a b c\n", "", "k\nk\n", " k \r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		keys, err := server.ParseKeys("keys", []byte(data))
		if err != nil {
			return
		}
		if keys == nil {
			t.Fatal("no keys and no error")
		}
	})
}

// FuzzConsistencyToken: any token string is refused or read, through a
// real check, never a crash or an internal error.
func FuzzConsistencyToken(f *testing.F) {
	h := fuzzServer(f)
	for _, s := range []string{"", "ZGsxOng6MQ", "ZGsxOjox", "not base64!", "ZGsxOg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		b, _ := json.Marshal(map[string]any{
			"object": map[string]string{"type": "record", "id": "record-1"}, "relation": "read",
			"subject":     map[string]string{"type": "user", "id": "bob"},
			"consistency": map[string]string{"atExactSnapshot": token},
		})
		w := post(h, "/docket.v1.DocketService/Check", "application/json", string(b))
		if w.Code >= 500 {
			t.Fatalf("token %q: %d %s", token, w.Code, w.Body.String())
		}
	})
}
