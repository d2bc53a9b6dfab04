package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

type spicedbEngine struct {
	backend string
	cancel  context.CancelFunc
	conn    *grpc.ClientConn
	perms   v1.PermissionsServiceClient
	token   *v1.ZedToken
	// dispatchCache: SpiceDB's dispatch cache is on.
	dispatchCache bool
	// loopback: served on 127.0.0.1 rather than an in-process network.
	loopback bool
}

// freePort finds a port on 127.0.0.1 that nothing listens on.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// newSpiceDB starts SpiceDB in this process on a buffered (in-memory)
// gRPC network, over its memdb datastore or PostgreSQL at pgURI.
// With loopback its gRPC server listens on 127.0.0.1 instead.
func newSpiceDB(ctx context.Context, schemaText, backend, pgURI string, loopback, dispatchCache bool) (*spicedbEngine, error) {
	e := &spicedbEngine{backend: backend, loopback: loopback, dispatchCache: dispatchCache}
	opts := []datastore.ConfigOption{datastore.DefaultDatastoreConfig().ToOption()}
	switch backend {
	case "memory":
		opts = append(opts, datastore.WithEngine(datastore.MemoryEngine))
	case "postgres":
		if pgURI == "" {
			return nil, errors.New("spicedb postgres: no -postgres URI (run.sh starts a server and passes one)")
		}
		if err := migration.Run(ctx, &migration.Config{DatastoreEngine: datastore.PostgresEngine, DatastoreURI: pgURI,
			Timeout: time.Minute, BatchSize: 1000}, "head"); err != nil {
			return nil, fmt.Errorf("spicedb postgres migrations: %w", err)
		}
		opts = append(opts, datastore.WithEngine(datastore.PostgresEngine), datastore.WithURI(pgURI))
	default:
		return nil, fmt.Errorf("spicedb backend %q: use memory or postgres", backend)
	}
	ds, err := datastore.NewDatastore(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("spicedb %s datastore: %w", backend, err)
	}
	grpcConfig := util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}
	if loopback {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		grpcConfig = util.GRPCServerConfig{Network: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", port), Enabled: true}
	}
	srv, err := server.NewConfigWithOptionsAndDefaults(
		server.WithGRPCServer(grpcConfig),
		server.WithGRPCAuthFunc(func(ctx context.Context) (context.Context, error) { return ctx, nil }),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchCacheConfig(server.CacheConfig{Enabled: dispatchCache, MaxCost: "30%", NumCounters: 10_000}),
		server.WithNamespaceCacheConfig(server.CacheConfig{Enabled: true, MaxCost: "32MiB", NumCounters: 1_000}),
		server.WithClusterDispatchCacheConfig(server.CacheConfig{Enabled: false}),
		server.WithDatastore(ds),
		server.WithEnableMemoryProtectionMiddleware(false),
		server.WithMaximumUpdatesPerWrite(1000),
	).Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("spicedb server: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go srv.Run(rctx)
	if loopback {
		e.conn, err = grpc.NewClient(grpcConfig.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		e.conn, err = srv.NewClient()
	}
	if err != nil {
		return nil, fmt.Errorf("spicedb client: %w", err)
	}
	e.perms = v1.NewPermissionsServiceClient(e.conn)
	if _, err := v1.NewSchemaServiceClient(e.conn).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schemaText}); err != nil {
		return nil, fmt.Errorf("spicedb schema: %w", err)
	}
	return e, nil
}

func (e *spicedbEngine) Name() string {
	if e.loopback {
		return "spicedb-" + e.backend + "-grpc"
	}
	return "spicedb-" + e.backend
}

func (e *spicedbEngine) Settings() string {
	cache := "dispatch cache on (30% of memory)"
	if !e.dispatchCache {
		cache = "dispatch cache off"
	}
	return e.backend + " datastore, " + cache + ", namespace cache on, at_least_as_fresh the last write"
}

func sdbSubject(s tuples.Subject) *v1.SubjectReference {
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: s.Type, ObjectId: s.ID}, OptionalRelation: s.Relation}
}

func (e *spicedbEngine) Load(ctx context.Context, ts []tuples.Tuple) error {
	const batch = 1000 // SpiceDB's default limit of updates per write
	for i := 0; i < len(ts); i += batch {
		var ups []*v1.RelationshipUpdate
		for _, t := range ts[i:min(i+batch, len(ts))] {
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: t.ObjectType, ObjectId: t.ObjectID}, Relation: t.Relation,
				Subject: sdbSubject(tuples.Subject{Type: t.SubjectType, ID: t.SubjectID, Relation: t.SubjectRelation})}})
		}
		r, err := e.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups})
		if err != nil {
			return fmt.Errorf("spicedb write at tuple %d: %w", i, err)
		}
		e.token = r.GetWrittenAt()
	}
	return nil
}

func (e *spicedbEngine) consistency() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: e.token}}
}

func (e *spicedbEngine) Check(ctx context.Context, q gen.Query) (bool, error) {
	r, err := e.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: e.consistency(),
		Resource:   &v1.ObjectReference{ObjectType: q.Object.Type, ObjectId: q.Object.ID},
		Permission: q.Relation, Subject: sdbSubject(q.Subject)})
	if err != nil {
		return false, err
	}
	return r.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
}

func (e *spicedbEngine) Resources(ctx context.Context, q gen.Query) ([]string, error) {
	st, err := e.perms.LookupResources(ctx, &v1.LookupResourcesRequest{Consistency: e.consistency(),
		ResourceObjectType: q.Type, Permission: q.Relation, Subject: sdbSubject(q.Subject)})
	if err != nil {
		return nil, err
	}
	var ids []string
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		if r.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, r.GetResourceObjectId())
		}
	}
}

func (e *spicedbEngine) Subjects(ctx context.Context, q gen.Query) ([]string, error) {
	st, err := e.perms.LookupSubjects(ctx, &v1.LookupSubjectsRequest{Consistency: e.consistency(),
		Resource:   &v1.ObjectReference{ObjectType: q.Object.Type, ObjectId: q.Object.ID},
		Permission: q.Relation, SubjectObjectType: q.Type})
	if err != nil {
		return nil, err
	}
	var ids []string
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		if r.GetSubject().GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, r.GetSubject().GetSubjectObjectId())
		}
	}
}

func (e *spicedbEngine) Close() {
	e.conn.Close()
	e.cancel()
}
