package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/tuples"
)

// docketServerEngine is `docket serve` in this process: the store of a
// docketEngine served on 127.0.0.1, asked through the Go client over gRPC
// (h2c), as an application on the same machine would.
type docketServerEngine struct {
	*docketEngine
	c      *client.Client
	cancel context.CancelFunc
	done   chan error
}

func newDocketServer(ctx context.Context, shape, backend string, cacheSize int, pgURI string) (*docketServerEngine, error) {
	d, err := newDocket(ctx, shape, backend, cacheSize, pgURI)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(server.Options{Store: d.store, StoreID: server.NewStoreID(), Checker: check.New(check.Options{CacheSize: cacheSize})})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	e := &docketServerEngine{docketEngine: d, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(sctx, ln, "", "", 5*time.Second) }()
	if e.c, err = client.New("http://"+ln.Addr().String(), client.Options{GRPC: true}); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *docketServerEngine) Name() string { return "docket-" + e.backend + "-grpc" }

func (e *docketServerEngine) Settings() string {
	return e.docketEngine.Settings() + "; docket serve on 127.0.0.1, Go client over gRPC (h2c)"
}

func pbObject(o tuples.Object) *pb.ObjectRef { return &pb.ObjectRef{Type: o.Type, Id: o.ID} }

func pbSubject(s tuples.Subject) *pb.SubjectRef {
	return &pb.SubjectRef{Type: s.Type, Id: s.ID, Relation: s.Relation}
}

func (e *docketServerEngine) Check(ctx context.Context, q gen.Query) (bool, error) {
	r, err := e.c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Object: pbObject(q.Object), Relation: q.Relation, Subject: pbSubject(q.Subject)}))
	if err != nil {
		return false, err
	}
	return r.Msg.Allowed, nil
}

func (e *docketServerEngine) Resources(ctx context.Context, q gen.Query) ([]string, error) {
	st, err := e.c.LookupResources(ctx, connect.NewRequest(&pb.LookupResourcesRequest{Subject: pbSubject(q.Subject), ResourceType: q.Type, Relation: q.Relation}))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var ids []string
	for st.Receive() {
		ids = append(ids, st.Msg().Object.Id)
	}
	return ids, st.Err()
}

func (e *docketServerEngine) Subjects(ctx context.Context, q gen.Query) ([]string, error) {
	st, err := e.c.LookupSubjects(ctx, connect.NewRequest(&pb.LookupSubjectsRequest{Object: pbObject(q.Object), Relation: q.Relation, SubjectType: q.Type}))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var ids []string
	for st.Receive() {
		ids = append(ids, st.Msg().Subject.Id)
	}
	return ids, st.Err()
}

func (e *docketServerEngine) Close() {
	e.cancel()
	if err := <-e.done; err != nil {
		fmt.Println("docket serve:", err)
	}
	e.docketEngine.Close()
}
