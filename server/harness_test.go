package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// The fixture of the AuthZEN certification scenario, as Docket relations:
// alice owns record-1 (read and write), bob reads it; record-2 is owned by
// bob.
const testSchema = `type user {}

type team {
  relation member: user | team#member
}

type record {
  relation owner: user
  relation reader: user | team#member | user:*
  relation banned: user
  relation read = (reader | owner) - banned
  relation write = owner
  relation delete = owner
}
`

const (
	writeKey = "rw-key-0123456789"
	readKey  = "ro-key-0123456789"
)

// testServer is a server on a real listener on 127.0.0.1.
type testServer struct {
	url    string
	store  store.Store
	srv    *server.Server
	rw, ro *client.Client // Connect protocol
	grpc   *client.Client // gRPC protocol, write key
	http   *http.Client   // plain HTTP/1.1, for Connect JSON and AuthZEN
}

type serverOpt func(*server.Options)

func startServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := server.ParseKeys("keys", []byte(writeKey+"\n"+readKey+" read\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := server.Options{Store: st, StoreID: server.NewStoreID(), Backend: "memory", Keys: keys, Version: "test", MetricsOnMain: true}
	for _, f := range opts {
		f(&o)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "", 5*time.Second) }()
	ts := &testServer{url: "http://" + ln.Addr().String(), store: st, srv: srv, http: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		ts.http.CloseIdleConnections()
		st.Close()
	})
	mk := func(key string, grpc bool) *client.Client {
		c, err := client.New(ts.url, client.Options{Token: key, GRPC: grpc})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ts.rw, ts.ro, ts.grpc = mk(writeKey, false), mk(readKey, false), mk(writeKey, true)
	return ts
}

// seed writes the schema and tuples through the API and returns the
// write's revision.
func (ts *testServer) seed(t *testing.T, tuplesText ...string) *pb.Revision {
	t.Helper()
	ctx := context.Background()
	if _, err := ts.rw.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Filename: "test.rebac", Text: testSchema})); err != nil {
		t.Fatalf("write schema: %v", err)
	}
	if len(tuplesText) == 0 {
		return nil
	}
	rev, err := ts.rw.Touch(ctx, tuplesText...)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return rev
}

var fixture = []string{
	"record:record-1#owner@user:alice",
	"record:record-1#reader@user:bob",
	"record:record-2#owner@user:bob",
	"record:record-3#reader@team:east#member",
	"team:east#member@user:carol",
	"team:east#member@user:dave",
	"record:record-3#banned@user:dave",
}

func wantCode(t *testing.T, what string, err error, code connect.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", what, code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("%s: code %v, want %v (%v)", what, got, code, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("%s: error %q lacks %q", what, err, c)
		}
	}
}

// reference answers a check in process at a revision, for comparing the
// server's answers with.
func reference(t *testing.T, st store.Store, rev uint64, q check.Query) bool {
	t.Helper()
	snap, err := st.Snapshot(context.Background(), tuples.Revision(rev))
	if err != nil {
		t.Fatalf("snapshot %d: %v", rev, err)
	}
	defer snap.Close()
	r, err := check.New(check.Options{CacheSize: -1}).Check(context.Background(), snap, q)
	if err != nil {
		t.Fatalf("reference check %s: %v", q, err)
	}
	return r.Allowed
}

func isCode(err error, code connect.Code) bool {
	var ce *connect.Error
	return errors.As(err, &ce) && ce.Code() == code
}
