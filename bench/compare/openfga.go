package main

import (
	"context"
	"fmt"
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

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

type openfgaEngine struct {
	backend string
	dir     string
	ds      storage.OpenFGADatastore
	srv     *server.Server
	store   string
	model   string
}

func newOpenFGA(ctx context.Context, backend string) (*openfgaEngine, error) {
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
	e.srv = srv
	st, err := srv.CreateStore(ctx, &openfgav1.CreateStoreRequest{Name: "casebook"})
	if err != nil {
		return nil, fmt.Errorf("openfga create store: %w", err)
	}
	e.store = st.GetId()
	m, err := transformer.TransformDSLToProto(openfgaModel)
	if err != nil {
		return nil, fmt.Errorf("openfga model: %w", err)
	}
	wm, err := srv.WriteAuthorizationModel(ctx, &openfgav1.WriteAuthorizationModelRequest{
		StoreId: e.store, TypeDefinitions: m.GetTypeDefinitions(), SchemaVersion: m.GetSchemaVersion(), Conditions: m.GetConditions()})
	if err != nil {
		return nil, fmt.Errorf("openfga write model: %w", err)
	}
	e.model = wm.GetAuthorizationModelId()
	return e, nil
}

func (e *openfgaEngine) Name() string { return "openfga-" + e.backend }

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
		if _, err := e.srv.Write(ctx, &openfgav1.WriteRequest{StoreId: e.store, AuthorizationModelId: e.model,
			Writes: &openfgav1.WriteRequestWrites{TupleKeys: keys}}); err != nil {
			return fmt.Errorf("openfga write at tuple %d: %w", i, err)
		}
	}
	return nil
}

func (e *openfgaEngine) Check(ctx context.Context, q gen.Query) (bool, error) {
	r, err := e.srv.Check(ctx, &openfgav1.CheckRequest{StoreId: e.store, AuthorizationModelId: e.model,
		TupleKey: &openfgav1.CheckRequestTupleKey{Object: q.Object.Type + ":" + q.Object.ID, Relation: q.Relation, User: fgaSubject(q.Subject)}})
	if err != nil {
		return false, err
	}
	return r.GetAllowed(), nil
}

func (e *openfgaEngine) Resources(ctx context.Context, q gen.Query) ([]string, error) {
	r, err := e.srv.ListObjects(ctx, &openfgav1.ListObjectsRequest{StoreId: e.store, AuthorizationModelId: e.model,
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
	r, err := e.srv.ListUsers(ctx, &openfgav1.ListUsersRequest{StoreId: e.store, AuthorizationModelId: e.model,
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
	e.srv.Close()
	e.ds.Close()
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}
