package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/tuples"
)

// TestHealthReflectionMetrics: gRPC health answers SERVING, reflection
// lists the services (what grpcurl needs), and /metrics counts requests.
func TestHealthReflectionMetrics(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, fixture...)
	req, _ := http.NewRequest("POST", ts.url+"/grpc.health.v1.Health/Check", strings.NewReader(`{"service":"docket.v1.DocketService"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+readKey)
	res, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "SERVING") {
		t.Errorf("health: %d %s", res.StatusCode, b)
	}

	rc := grpcreflect.NewClient(&http.Client{Transport: h2cTransport()}, ts.url, connect.WithGRPC(),
		connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc { return next })))
	stream := rc.NewStream(context.Background(), grpcreflect.WithRequestHeaders(http.Header{"Authorization": {"Bearer " + readKey}}))
	names, err := stream.ListServices()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	_, _ = stream.Close()
	found := map[string]bool{}
	for _, n := range names {
		found[string(n)] = true
	}
	if !found["docket.v1.DocketService"] || !found["grpc.health.v1.Health"] {
		t.Errorf("reflection lists %v", names)
	}

	if _, _, err := ts.ro.Check(context.Background(), "record:record-1", "read", "user:bob", nil); err != nil {
		t.Fatal(err)
	}
	// Through team:east: the checker reads carol's teams from the store's
	// membership index, which the server's snapshots pass on.
	if allowed, _, err := ts.ro.Check(context.Background(), "record:record-3", "read", "user:carol", nil); err != nil || !allowed {
		t.Fatalf("carol through team:east: %v, %v", allowed, err)
	}
	res, err = ts.http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`docket_requests_total{method="/docket.v1.DocketService/Check",outcome="ok"}`,
		`docket_request_duration_seconds_bucket{method="/docket.v1.DocketService/Check"`,
		`docket_store_reads_total{kind="has"}`, "docket_checker_cache_misses_total", "docket_checker_nested_fallbacks_total", "docket_store_revision 2",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(string(b), "docket_checker_nested_indexed_total") || strings.Contains(string(b), "docket_checker_nested_indexed_total 0\n") {
		t.Errorf("/metrics counts no membership read from the index:\n%s", grepLines(string(b), "nested"))
	}
	// Random paths do not make series of their own.
	_, _ = ts.http.Get(ts.url + "/no/such/path/" + server.NewStoreID())
	res, _ = ts.http.Get(ts.url + "/metrics")
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(b), "/no/such/path") || !strings.Contains(string(b), `method="other"`) {
		t.Error("an unknown path got a series of its own")
	}
}

func h2cTransport() *http.Transport {
	t := &http.Transport{}
	t.Protocols = new(http.Protocols)
	t.Protocols.SetUnencryptedHTTP2(true)
	return t
}

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRequestLog: one JSON line per request with method, outcome,
// duration and request id; never the key.
func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, func(o *server.Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	ts.seed(t, fixture...)
	_, _, _ = ts.ro.Check(context.Background(), "recrd:1", "read", "user:bob", nil)
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if m["method"] == "/docket.v1.DocketService/Check" && m["outcome"] == "invalid_argument" && m["duration"] != nil && m["request_id"] != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line for the failed check:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), readKey) || strings.Contains(logs.String(), writeKey) {
		t.Error("a key was logged")
	}
}

// TestWatchTrimmed: a watch from a revision the change log no longer
// holds is refused, saying so.
func TestWatchTrimmed(t *testing.T) {
	ts := startServer(t)
	first := ts.seed(t, "record:a#owner@user:a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	last, err := ts.rw.Touch(ctx, "record:b#owner@user:a")
	if err != nil {
		t.Fatal(err)
	}
	// The trim is a revision of its own: trimming below it drops the
	// log of the touch too.
	for _, before := range []uint64{last.Number, last.Number + 1} {
		if _, err := ts.store.TrimChanges(ctx, tuples.Revision(before)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := ts.ro.Watch(ctx, connect.NewRequest(&pb.WatchRequest{After: first.Token}))
	if err == nil {
		for st.Receive() {
		}
		err = st.Err()
	}
	wantCode(t, "watch before the trim", err, connect.CodeFailedPrecondition, "trimmed")
}

// TestAbandonedStreams: clients that walk away from a lookup or an export
// part way leave nothing running on the server.
func TestAbandonedStreams(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("abandon", func(t *testing.T) {
		ts := startServer(t)
		var many []string
		for i := range 3000 {
			many = append(many, "record:r"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+"-"+strconv.Itoa(i)+"#reader@user:bob")
		}
		ts.seed(t, many...)
		for range 5 {
			ctx, cancel := context.WithCancel(context.Background())
			st, err := ts.grpc.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Subject: user("bob"), ResourceType: "record", Relation: "read"}))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10 && st.Receive(); i++ {
			}
			cancel()
			st.Close()
			ctx, cancel = context.WithCancel(context.Background())
			ex, err := ts.rw.Export(ctx, connect.NewRequest(&pb.ExportRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			ex.Receive()
			cancel()
			ex.Close()
		}
		// The server still answers.
		if ok, _, err := ts.ro.Check(context.Background(), "record:ra-0", "read", "user:bob", nil); err != nil || !ok {
			t.Fatalf("after abandoned streams: %v %v", ok, err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+4 {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}

// TestTLS: with a certificate the port speaks TLS, to the Go client over
// https and to gRPC.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)

	ts := startServer(t) // for its store
	srv, err := server.New(server.Options{Store: ts.store, StoreID: server.NewStoreID()})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, certFile, keyFile, 5*time.Second) }()
	defer func() { cancel(); <-done }()
	pool := x509.NewCertPool()
	pool.AddCert(&x509.Certificate{Raw: der})
	parsed, _ := x509.ParseCertificate(der)
	pool.AddCert(parsed)
	url := "https://" + ln.Addr().String()
	for _, grpc := range []bool{false, true} {
		c, err := client.New(url, client.Options{GRPC: grpc, TLS: &tls.Config{RootCAs: pool}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: testSchema})); err != nil {
			t.Fatalf("over TLS (grpc %v): %v", grpc, err)
		}
	}
	plain, _ := client.New("http://"+ln.Addr().String(), client.Options{})
	if _, err := plain.Stats(ctx, connect.NewRequest(&pb.StatsRequest{})); err == nil {
		t.Error("cleartext accepted on a TLS port")
	}
}

// TestNativeLimits: requests over a limit are refused with
// ResourceExhausted and a message naming the limit.
func TestNativeLimits(t *testing.T) {
	ts := startServer(t, func(o *server.Options) {
		o.Limits = server.Limits{MaxRequestBytes: 8 << 10, MaxBatch: 5, MaxContextTuples: 2, MaxWriteOps: 10, MaxPageSize: 10}
	})
	ts.seed(t, fixture...)
	ctx := context.Background()
	item := &pb.CheckBatchItem{Object: obj("record", "record-1"), Relation: "read", Subject: user("bob")}
	_, err := ts.rw.CheckBatch(ctx, connect.NewRequest(&pb.CheckBatchRequest{Items: []*pb.CheckBatchItem{item, item, item, item, item, item}}))
	wantCode(t, "batch over the limit", err, connect.CodeResourceExhausted, "at most 5")
	_, err = ts.rw.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: obj("record", "record-1"), Relation: "read", Subject: user("bob"),
		ContextualTuples: []*pb.Tuple{tup("record:a#reader@user:a"), tup("record:b#reader@user:a"), tup("record:c#reader@user:a")}}))
	wantCode(t, "contextual tuples over the limit", err, connect.CodeResourceExhausted, "at most 2")
	var ops []*pb.WriteOp
	for i := range 11 {
		ops = append(ops, &pb.WriteOp{Kind: pb.WriteOp_KIND_TOUCH, Tuple: tup("record:w" + strconv.Itoa(i) + "#owner@user:a")})
	}
	_, err = ts.rw.Write(ctx, connect.NewRequest(&pb.WriteRequest{Ops: ops}))
	wantCode(t, "write over the limit", err, connect.CodeResourceExhausted, "at most 10")
	_, err = ts.rw.Read(ctx, connect.NewRequest(&pb.ReadRequest{Limit: 11}))
	wantCode(t, "page over the limit", err, connect.CodeResourceExhausted, "at most 10")
	_, err = ts.rw.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: testSchema + "//" + strings.Repeat("x", 9<<10)}))
	wantCode(t, "body over the limit", err, connect.CodeResourceExhausted)
	if _, _, err := ts.ro.Check(ctx, "record:record-1", "read", "user:bob", nil); err != nil {
		t.Fatalf("after refusals: %v", err)
	}
}

// grepLines returns the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
