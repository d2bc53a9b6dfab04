package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/store/postgres"
	"github.com/docketdb/docket/tuples"
)

type docketEngine struct {
	backend string
	dir     string
	store   store.Store
	snap    tuples.Snapshot
	chk     *check.Checker
	// cacheSize as in check.Options: -1 off, 0 default.
	cacheSize int
	// perQuery opens a snapshot per query at the loaded revision, as a
	// server's request does: a SQL datastore's snapshot keeps the rows
	// it read, so one snapshot for the whole run would answer later
	// queries from memory.
	perQuery bool
}

func newDocket(ctx context.Context, shape, backend string, cacheSize int, pgURI string) (*docketEngine, error) {
	e := &docketEngine{backend: backend, cacheSize: cacheSize, chk: check.New(check.Options{CacheSize: cacheSize})}
	var err error
	switch backend {
	case "memory":
		e.store, err = memory.New()
	case "postgres":
		if pgURI == "" {
			return nil, errors.New("docket postgres: no -postgres URI (run.sh starts a server and passes one)")
		}
		// A schema of its own in SpiceDB's database, dropped on Close.
		e.store, err = postgres.OpenScratch(ctx, pgURI)
		e.perQuery = true
	default:
		if e.dir, err = os.MkdirTemp("", "docket-compare-"); err != nil {
			return nil, err
		}
		e.store, err = badger.Open(e.dir, badger.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("open docket %s store: %w", backend, err)
	}
	text, err := gen.Schema(shape)
	if err != nil {
		return nil, err
	}
	if _, err := e.store.WriteSchema(ctx, shape+".rebac", []byte(text)); err != nil {
		return nil, fmt.Errorf("docket schema: %w", err)
	}
	return e, nil
}

func (e *docketEngine) Name() string { return "docket-" + e.backend }

func (e *docketEngine) Settings() string {
	if e.cacheSize < 0 {
		return e.backend + " store, checker cache off (every check walks the graph)"
	}
	return fmt.Sprintf("%s store, checker cache on (%d entries)", e.backend, max(e.cacheSize, check.DefaultCacheSize))
}

func (e *docketEngine) Load(ctx context.Context, ts []tuples.Tuple) error {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	if _, err := e.store.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{Format: tuples.FormatText, Name: "dataset"}); err != nil {
		return fmt.Errorf("docket import: %w", err)
	}
	if e.snap != nil {
		e.snap.Close()
	}
	// Queries are timed with the membership index in memory built, as a
	// serving process has it (where the store keeps one).
	if _, err := store.WaitMemIndex(ctx, e.store); err != nil {
		return fmt.Errorf("docket membership index in memory: %w", err)
	}
	snap, err := e.store.Snapshot(ctx, 0)
	e.snap = snap
	return err
}

// snapshot returns the snapshot a query reads and its release.
func (e *docketEngine) snapshot(ctx context.Context) (tuples.Snapshot, func(), error) {
	if !e.perQuery {
		return e.snap, func() {}, nil
	}
	sn, err := e.store.Snapshot(ctx, e.snap.Revision())
	if err != nil {
		return nil, nil, err
	}
	return sn, func() { sn.Close() }, nil
}

func (e *docketEngine) Check(ctx context.Context, q gen.Query) (bool, error) {
	sn, done, err := e.snapshot(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	r, err := e.chk.Check(ctx, sn, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
	return r.Allowed, err
}

func (e *docketEngine) Resources(ctx context.Context, q gen.Query) ([]string, error) {
	sn, done, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var ids []string
	_, err = e.chk.LookupResources(ctx, sn, check.ResourceQuery{Subject: q.Subject, Type: q.Type, Relation: q.Relation},
		func(o tuples.Object) bool { ids = append(ids, o.ID); return true })
	return ids, err
}

func (e *docketEngine) Subjects(ctx context.Context, q gen.Query) ([]string, error) {
	sn, done, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rs, err := e.chk.LookupSubjects(ctx, sn, check.SubjectQuery{Object: q.Object, Relation: q.Relation, Type: q.Type})
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		// A wildcard is compared as "*" alone: the peers report the
		// subjects it excludes differently or not at all.
		ids = append(ids, r.Subject.ID)
	}
	return ids, err
}

func (e *docketEngine) Close() {
	if e.snap != nil {
		e.snap.Close()
	}
	e.store.Close()
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}
