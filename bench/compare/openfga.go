package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	openfgav1 "github.com/openfga/api/proto/openfga/v1"
	"github.com/openfga/language/pkg/go/transformer"
	"github.com/openfga/openfga/pkg/server"
	"github.com/openfga/openfga/pkg/storage"
	"github.com/openfga/openfga/pkg/storage/memory"
	"github.com/openfga/openfga/pkg/storage/migrate"
	"github.com/openfga/openfga/pkg/storage/sqlcommon"
	"github.com/openfga/openfga/pkg/storage/sqlite"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

type openfgaEngine struct {
	backend string
	dir     string
	ds      storage.OpenFGADatastore
	srv     *server.Server
	// api is srv itself, or a gRPC client of it on 127.0.0.1.
	api   fgaAPI
	grpc  *grpc.Server
	conn  *grpc.ClientConn
	store string
	model string
}

// With loopback its gRPC service is served on 127.0.0.1 and asked through
// a gRPC client instead of called directly.
func newOpenFGA(ctx context.Context, model, backend string, loopback bool) (*openfgaEngine, error) {
	e := &openfgaEngine{backend: backend}
	switch backend {
	case "memory":
		e.ds = memory.New()
	case "sqlite":
		dir, err := os.MkdirTemp("", "openfga-compare-")
		if err != nil {
			return nil, err
		}
		e.dir = dir
		uri := "file:" + filepath.Join(dir, "openfga.db")
		// Without Timeout and PingTimeout the migration retries forever
		// when the database cannot be reached.
		if err := migrate.RunMigrations(migrate.MigrationConfig{Engine: "sqlite", URI: uri, Timeout: time.Minute, PingTimeout: 10 * time.Second}); err != nil {
			return nil, fmt.Errorf("openfga sqlite migrations: %w", err)
		}
		ds, err := sqlite.New(uri, sqlcommon.NewConfig())
		if err != nil {
			return nil, fmt.Errorf("openfga sqlite: %w", err)
		}
		e.ds = ds
	default:
		return nil, fmt.Errorf("openfga backend %q: use memory or sqlite", backend)
	}
	srv, err := server.NewServerWithOpts(
		server.WithDatastore(e.ds),
		server.WithListObjectsMaxResults(1_000_000),
		server.WithListObjectsDeadline(time.Minute),
		server.WithListUsersMaxResults(1_000_000),
		server.WithListUsersDeadline(time.Minute),
		server.WithRequestTimeout(time.Minute),
	)
	if err != nil {
		return nil, fmt.Errorf("openfga server: %w", err)
	}
	e.srv, e.api = srv, srv
	if loopback {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		e.grpc = grpc.NewServer()
		openfgav1.RegisterOpenFGAServiceServer(e.grpc, srv)
		go e.grpc.Serve(ln)
		if e.conn, err = grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return nil, err
		}
		e.api = fgaClient{openfgav1.NewOpenFGAServiceClient(e.conn)}
	}
	st, err := e.api.CreateStore(ctx, &openfgav1.CreateStoreRequest{Name: "compare"})
	if err != nil {
		return nil, fmt.Errorf("openfga create store: %w", err)
	}
	e.store = st.GetId()
	m, err := transformer.TransformDSLToProto(model)
	if err != nil {
		return nil, fmt.Errorf("openfga model: %w", err)
	}
	wm, err := e.api.WriteAuthorizationModel(ctx, &openfgav1.WriteAuthorizationModelRequest{
		StoreId: e.store, TypeDefinitions: m.GetTypeDefinitions(), SchemaVersion: m.GetSchemaVersion(), Conditions: m.GetConditions()})
	if err != nil {
		return nil, fmt.Errorf("openfga write model: %w", err)
	}
	e.model = wm.GetAuthorizationModelId()
	return e, nil
}

func (e *openfgaEngine) Name() string {
	if e.grpc != nil {
		return "openfga-" + e.backend + "-grpc"
	}
	return "openfga-" + e.backend
}

func (e *openfgaEngine) Settings() string {
	return e.backend + " datastore, defaults: check query cache off, check iterator cache off"
}

func fgaSubject(s tuples.Subject) string {
	out := s.Type + ":" + s.ID
	if s.Relation != "" {
		out += "#" + s.Relation
	}
	return out
}

func (e *openfgaEngine) Load(ctx context.Context, ts []tuples.Tuple) error {
	const batch = 100 // OpenFGA's default limit of tuples per write
	for i := 0; i < len(ts); i += batch {
		var keys []*openfgav1.TupleKey
		for _, t := range ts[i:min(i+batch, len(ts))] {
			keys = append(keys, &openfgav1.TupleKey{Object: t.ObjectType + ":" + t.ObjectID, Relation: t.Relation,
				User: fgaSubject(tuples.Subject{Type: t.SubjectType, ID: t.SubjectID, Relation: t.SubjectRelation})})
		}
		if _, err := e.api.Write(ctx, &openfgav1.WriteRequest{StoreId: e.store, AuthorizationModelId: e.model,
			Writes: &openfgav1.WriteRequestWrites{TupleKeys: keys}}); err != nil {
			return fmt.Errorf("openfga write at tuple %d: %w", i, err)
		}
	}
	return nil
}

func (e *openfgaEngine) Check(ctx context.Context, q gen.Query) (bool, error) {
	r, err := e.api.Check(ctx, &openfgav1.CheckRequest{StoreId: e.store, AuthorizationModelId: e.model,
		TupleKey: &openfgav1.CheckRequestTupleKey{Object: q.Object.Type + ":" + q.Object.ID, Relation: q.Relation, User: fgaSubject(q.Subject)}})
	if err != nil {
		return false, err
	}
	return r.GetAllowed(), nil
}

func (e *openfgaEngine) Resources(ctx context.Context, q gen.Query) ([]string, error) {
	r, err := e.api.ListObjects(ctx, &openfgav1.ListObjectsRequest{StoreId: e.store, AuthorizationModelId: e.model,
		Type: q.Type, Relation: q.Relation, User: fgaSubject(q.Subject)})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(r.GetObjects()))
	for _, o := range r.GetObjects() {
		ids = append(ids, strings.TrimPrefix(o, q.Type+":"))
	}
	return ids, nil
}

func (e *openfgaEngine) Subjects(ctx context.Context, q gen.Query) ([]string, error) {
	r, err := e.api.ListUsers(ctx, &openfgav1.ListUsersRequest{StoreId: e.store, AuthorizationModelId: e.model,
		Object: &openfgav1.Object{Type: q.Object.Type, Id: q.Object.ID}, Relation: q.Relation,
		UserFilters: []*openfgav1.UserTypeFilter{{Type: q.Type}}})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range r.GetUsers() {
		switch {
		case u.GetObject() != nil:
			ids = append(ids, u.GetObject().GetId())
		case u.GetWildcard() != nil:
			ids = append(ids, "*")
		}
	}
	return ids, nil
}

func (e *openfgaEngine) Close() {
	if e.grpc != nil {
		e.conn.Close()
		e.grpc.Stop()
	}
	e.srv.Close()
	e.ds.Close()
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// fgaAPI is the part of OpenFGA's service the comparison calls.
type fgaAPI interface {
	CreateStore(context.Context, *openfgav1.CreateStoreRequest) (*openfgav1.CreateStoreResponse, error)
	WriteAuthorizationModel(context.Context, *openfgav1.WriteAuthorizationModelRequest) (*openfgav1.WriteAuthorizationModelResponse, error)
	Write(context.Context, *openfgav1.WriteRequest) (*openfgav1.WriteResponse, error)
	Check(context.Context, *openfgav1.CheckRequest) (*openfgav1.CheckResponse, error)
	ListObjects(context.Context, *openfgav1.ListObjectsRequest) (*openfgav1.ListObjectsResponse, error)
	ListUsers(context.Context, *openfgav1.ListUsersRequest) (*openfgav1.ListUsersResponse, error)
}

// fgaClient is fgaAPI over a gRPC connection.
type fgaClient struct {
	c openfgav1.OpenFGAServiceClient
}

func (f fgaClient) CreateStore(ctx context.Context, r *openfgav1.CreateStoreRequest) (*openfgav1.CreateStoreResponse, error) {
	return f.c.CreateStore(ctx, r)
}

func (f fgaClient) WriteAuthorizationModel(ctx context.Context, r *openfgav1.WriteAuthorizationModelRequest) (*openfgav1.WriteAuthorizationModelResponse, error) {
	return f.c.WriteAuthorizationModel(ctx, r)
}

func (f fgaClient) Write(ctx context.Context, r *openfgav1.WriteRequest) (*openfgav1.WriteResponse, error) {
	return f.c.Write(ctx, r)
}

func (f fgaClient) Check(ctx context.Context, r *openfgav1.CheckRequest) (*openfgav1.CheckResponse, error) {
	return f.c.Check(ctx, r)
}

func (f fgaClient) ListObjects(ctx context.Context, r *openfgav1.ListObjectsRequest) (*openfgav1.ListObjectsResponse, error) {
	return f.c.ListObjects(ctx, r)
}

func (f fgaClient) ListUsers(ctx context.Context, r *openfgav1.ListUsersRequest) (*openfgav1.ListUsersResponse, error) {
	return f.c.ListUsers(ctx, r)
}
