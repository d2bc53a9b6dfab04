package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store/memory"
	"google.golang.org/protobuf/proto"
)

const directKey = "direct-key-0123456789"

// directServer is a server on 127.0.0.1 with one key, a schema and a few
// tuples; it returns the URL, a count of the requests it answered and
// the HTTP server.
func directServer(t *testing.T) (string, *atomic.Int64, *http.Server) {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := server.ParseKeys("keys", []byte(directKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, StoreID: server.NewStoreID(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		srv.Handler().ServeHTTP(w, r)
	})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		hs.Close()
		st.Close()
	})
	url := "http://" + ln.Addr().String()
	c, err := New(url, Options{Token: directKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteSchema(context.Background(), connect.NewRequest(&pb.WriteSchemaRequest{Filename: "s.rebac", Text: "type user {}\ntype doc {\n  relation viewer: user\n}\n"})); err != nil {
		t.Fatal(err)
	}
	var ts []string
	for i := range 50 {
		ts = append(ts, fmt.Sprintf("doc:d%d#viewer@user:u%d", i, i%7))
	}
	if _, err := c.Touch(context.Background(), ts...); err != nil {
		t.Fatal(err)
	}
	return url, &requests, hs
}

// directClient is a client of url with the test key, and its direct
// calls.
func directClient(t *testing.T, url string) (*Client, *directService) {
	t.Helper()
	c, err := New(url, Options{Token: directKey})
	if err != nil {
		t.Fatal(err)
	}
	return c, direct(t, c)
}

func direct(t *testing.T, c *Client) *directService {
	t.Helper()
	d, ok := c.DocketServiceClient.(*directService)
	if !ok {
		t.Skip("calls do not go through h1Transport on this system")
	}
	return d
}

func checkOf(obj, rel, subj string) *pb.CheckRequest {
	o, _ := Object(obj)
	s, _ := Subject(subj)
	return &pb.CheckRequest{Object: o, Relation: rel, Subject: s}
}

// sameAnswer fails unless the direct call and connect-go's gave the same
// message, headers and trailers (Date and the request id aside), or the same error.
func sameAnswer[T any](t *testing.T, what string, a, b *connect.Response[T], aerr, berr error) {
	t.Helper()
	if (aerr == nil) != (berr == nil) {
		t.Fatalf("%s: error %v directly, %v through connect-go", what, aerr, berr)
	}
	if aerr != nil {
		var ae, be *connect.Error
		if !errors.As(aerr, &ae) || !errors.As(berr, &be) {
			t.Fatalf("%s: errors %T and %T, want *connect.Error", what, aerr, berr)
		}
		if ae.Error() != be.Error() || connect.IsWireError(ae) != connect.IsWireError(be) {
			t.Errorf("%s: error %q (wire %v) directly, %q (wire %v) through connect-go", what, ae, connect.IsWireError(ae), be, connect.IsWireError(be))
		}
		sameHeaders(t, what+": metadata", ae.Meta(), be.Meta())
		return
	}
	if !proto.Equal(any(a.Msg).(proto.Message), any(b.Msg).(proto.Message)) {
		t.Errorf("%s: answer %v directly, %v through connect-go", what, a.Msg, b.Msg)
	}
	sameHeaders(t, what+": headers", a.Header(), b.Header())
	sameHeaders(t, what+": trailers", a.Trailer(), b.Trailer())
}

// sameHeaders fails unless a and b hold the same (Date and the request
// id aside).
func sameHeaders(t *testing.T, what string, a, b http.Header) {
	t.Helper()
	x, y := a.Clone(), b.Clone()
	for _, k := range []string{"Date", "X-Request-Id"} {
		x.Del(k)
		y.Del(k)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(x)), slices.Sorted(maps.Keys(y))) {
		t.Errorf("%s: %v directly, %v through connect-go", what, x, y)
		return
	}
	for k := range x {
		if !slices.Equal(x[k], y[k]) {
			t.Errorf("%s: %s: %q directly, %q through connect-go", what, k, x[k], y[k])
		}
	}
}

// TestDirectCallsMatchConnect makes Check and CheckBatch directly and
// through connect-go and compares the answers and errors.
func TestDirectCallsMatchConnect(t *testing.T) {
	url, requests, _ := directServer(t)
	_, d := directClient(t, url)
	ctx := context.Background()

	checks := []struct {
		name string
		req  *pb.CheckRequest
		ctx  func() (context.Context, context.CancelFunc)
		hdr  bool // set a header of the caller's own
	}{
		{name: "allowed", req: checkOf("doc:d1", "viewer", "user:u1")},
		{name: "denied", req: checkOf("doc:d1", "viewer", "user:u2")},
		{name: "explained", req: func() *pb.CheckRequest { r := checkOf("doc:d3", "viewer", "user:u3"); r.Explain = true; return r }()},
		{name: "unknown relation", req: checkOf("doc:d1", "viewr", "user:u1")},
		{name: "unknown type", req: checkOf("dco:d1", "viewer", "user:u1")},
		{name: "empty", req: &pb.CheckRequest{}},
		{name: "with a deadline", req: checkOf("doc:d1", "viewer", "user:u1"), ctx: func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, time.Minute) }},
		{name: "a header of its own", req: checkOf("doc:d1", "viewer", "user:u1"), hdr: true},
		// Last: a call cancelled may still reach the server, after the
		// requests of the next case were counted.
		{name: "cancelled", req: checkOf("doc:d1", "viewer", "user:u1"), ctx: func() (context.Context, context.CancelFunc) {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c, cancel
		}},
	}
	for _, tc := range checks {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if tc.ctx != nil {
			cctx, cancel = tc.ctx()
		}
		ra, rb := connect.NewRequest(tc.req), connect.NewRequest(tc.req)
		if tc.hdr {
			ra.Header().Set("X-Request-ID", "mine")
			rb.Header().Set("X-Request-ID", "mine")
		}
		sent := requests.Load()
		a, aerr := d.Check(cctx, ra)
		if n := requests.Load() - sent; n > 1 {
			t.Errorf("%s: %d requests for one check", tc.name, n)
		}
		b, berr := d.DocketServiceClient.Check(cctx, rb)
		cancel()
		sameAnswer(t, tc.name, a, b, aerr, berr)
	}
	if n := d.answered.Load(); n != 4 {
		t.Errorf("%d checks answered directly, want 4 (allowed, denied, explained, with a deadline)", n)
	}

	// A batch whose answer is over the size the server compresses.
	var batch pb.CheckBatchRequest
	for i := range 5000 {
		batch.Items = append(batch.Items, &pb.CheckBatchItem{Object: &pb.ObjectRef{Type: "doc", Id: fmt.Sprintf("d%d", i%50)}, Relation: "viewer", Subject: &pb.SubjectRef{Type: "user", Id: fmt.Sprintf("u%d", i%7)}})
	}
	batch.Items = append(batch.Items, &pb.CheckBatchItem{Object: &pb.ObjectRef{Type: "doc", Id: "d1"}, Relation: "nope", Subject: &pb.SubjectRef{Type: "user", Id: "u1"}})
	before := d.answered.Load()
	a, aerr := d.CheckBatch(ctx, connect.NewRequest(&batch))
	b, berr := d.DocketServiceClient.CheckBatch(ctx, connect.NewRequest(&batch))
	sameAnswer(t, "batch", a, b, aerr, berr)
	if a != nil && a.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("the batch's answer came with Content-Encoding %q; the test wants a compressed one", a.Header().Get("Content-Encoding"))
	}
	if d.answered.Load() != before+1 {
		t.Error("the batch was not answered directly")
	}

	// A key the server does not know: connect-go's error, and the
	// connection is still good for the next call.
	bad, err := New(url, Options{Token: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	bd := direct(t, bad)
	_, aerr = bd.Check(ctx, connect.NewRequest(checkOf("doc:d1", "viewer", "user:u1")))
	_, berr = bd.DocketServiceClient.Check(ctx, connect.NewRequest(checkOf("doc:d1", "viewer", "user:u1")))
	sameAnswer[pb.CheckResponse](t, "wrong key", nil, nil, aerr, berr)
	if connect.CodeOf(aerr) != connect.CodeUnauthenticated {
		t.Errorf("wrong key: %v, want unauthenticated", aerr)
	}
}

// TestDirectCallsOneConnection: direct calls and connect-go's share the
// transport's connections, one at a time on one.
func TestDirectCallsOneConnection(t *testing.T) {
	url, _, _ := directServer(t)
	c, d := directClient(t, url)
	ctx := context.Background()
	for i := range 20 {
		if _, err := d.Check(ctx, connect.NewRequest(checkOf("doc:d1", "viewer", "user:u1"))); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if _, err := c.Stats(ctx, connect.NewRequest(&pb.StatsRequest{})); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.t.mu.Lock()
	idle := len(d.t.idle)
	d.t.mu.Unlock()
	if idle != 1 {
		t.Errorf("%d idle connections after calls one at a time, want 1", idle)
	}
}

// TestDirectCallServerGone: a server that went away is connect-go's
// error (unavailable), not a hang or a panic.
func TestDirectCallServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	_, d := directClient(t, url)
	_, err = d.Check(context.Background(), connect.NewRequest(checkOf("doc:d1", "viewer", "user:u1")))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("check of a closed port: %v, want unavailable", err)
	}
}

// TestDirectCallServerClosedIdle: a direct call takes an idle connection
// without asking whether the server closed it; when it had, the call is
// made again through connect-go on a new connection, and succeeds.
func TestDirectCallServerClosedIdle(t *testing.T) {
	url, requests, hs := directServer(t)
	_, d := directClient(t, url)
	ctx := context.Background()
	// A request each: connect-go sets headers on the request it sends.
	req := func() *connect.Request[pb.CheckRequest] {
		return connect.NewRequest(checkOf("doc:d1", "viewer", "user:u1"))
	}
	if _, err := d.Check(ctx, req()); err != nil {
		t.Fatal(err)
	}
	// The server ends its idle connections (as its idle timeout does).
	hs.SetKeepAlivesEnabled(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.t.mu.Lock()
		idle := d.t.idle
		d.t.mu.Unlock()
		if len(idle) == 1 && !alive(idle[0].nc) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the idle connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	hs.SetKeepAlivesEnabled(true)
	sent, answered := requests.Load(), d.answered.Load()
	res, err := d.Check(ctx, req())
	if err != nil {
		t.Fatalf("check after the server closed the idle connection: %v", err)
	}
	if !res.Msg.Allowed {
		t.Error("check after the server closed the idle connection: denied, want allowed")
	}
	if n := requests.Load() - sent; n != 1 {
		t.Errorf("%d requests reached the server, want 1", n)
	}
	if d.answered.Load() != answered {
		t.Error("answered directly on a closed connection")
	}
	// The next one goes directly again, on the new connection.
	if _, err := d.Check(ctx, req()); err != nil || d.answered.Load() != answered+1 {
		t.Errorf("the next check: %v, answered directly: %v", err, d.answered.Load() == answered+1)
	}
}

// TestDirectCallsConcurrent: direct calls from many goroutines at once
// each get their own answer (run with -race).
func TestDirectCallsConcurrent(t *testing.T) {
	url, _, _ := directServer(t)
	_, d := directClient(t, url)
	ctx := context.Background()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 40 {
				doc, user := fmt.Sprintf("doc:d%d", (g*40+i)%50), fmt.Sprintf("user:u%d", i%7)
				res, err := d.Check(ctx, connect.NewRequest(checkOf(doc, "viewer", user)))
				if err != nil {
					errs <- err
					return
				}
				// doc:dN's viewer is user:u(N%7).
				var n int
				fmt.Sscanf(doc, "doc:d%d", &n)
				if want := n%7 == i%7; res.Msg.Allowed != want {
					errs <- fmt.Errorf("%s viewer %s: %v, want %v", doc, user, res.Msg.Allowed, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := d.answered.Load(); n != 8*40 {
		t.Errorf("%d of %d checks answered directly", n, 8*40)
	}
}
