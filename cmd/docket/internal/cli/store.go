package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// noSchemaHint is added to every error caused by a store without a schema.
const noSchemaHint = "write one first with 'docket schema write FILE'"

// openStore opens the store the global flags name, once per run: Badger at
// --db, or an empty in-memory store with --memory. A store injected by a
// test (e.shared) is used as is and left open. A Badger database that does
// not exist is an error: only createStore makes one, so a mistyped --db
// never leaves an empty database behind.
func (e *env) openStore() (store.Store, error) { return e.open(false) }

// createStore is openStore for `schema write`, the command that starts a
// database: it creates the Badger directory when it is missing.
func (e *env) createStore() (store.Store, error) { return e.open(true) }

func (e *env) open(create bool) (store.Store, error) {
	if e.shared != nil {
		return e.shared, nil
	}
	if e.opened != nil {
		return e.opened, nil
	}
	var (
		s   store.Store
		err error
	)
	if e.server == "" && e.consistency != "" {
		return nil, withHint("add --server URL, or drop --consistency", "--consistency applies to client mode only")
	}
	if e.server != "" {
		r, err := e.remoteStore()
		if err != nil {
			return nil, err
		}
		e.opened = r
		return r, nil
	}
	if e.datastore != "" {
		if e.memory {
			return nil, withHint("drop one of them", "--datastore and --memory contradict each other")
		}
		s, err = e.openDatastore()
		if err != nil {
			return nil, err
		}
		e.opened = s
		return s, nil
	}
	if e.memory {
		s, err = e.openMemory()
	} else {
		if !create {
			if err := e.existingDatabase(); err != nil {
				return nil, err
			}
		}
		// A command-line run is short: a small block cache starts faster
		// and leaves memory to whatever else runs on the machine. A
		// server sets its own (serveCacheMB).
		cacheMB := 64
		if e.cacheMB > 0 {
			cacheMB = e.cacheMB
		}
		opts := badger.Options{BlockCacheMB: cacheMB, ReadOnly: e.readOnly}
		s, err = e.openBadger(opts)
		if errors.Is(err, store.ErrNotWritable) && !create && !e.readOnly {
			// Read-only media, a snapshot, another user's files: what can
			// be read is read, and a write says why it cannot be.
			opts.ReadOnly = true
			if s, err = e.openBadger(opts); err == nil {
				e.readOnlyWhy = "its directory is not writable"
			}
		}
	}
	if err != nil {
		if errors.Is(err, tuples.ErrLocked) {
			return nil, withHint("stop it, or choose another database with --db (or --memory)",
				"database at %s is in use by another docket process", e.dbPath)
		}
		return nil, err
	}
	e.opened = s
	return s, nil
}

// openMemory returns an empty in-memory store, holding the membership
// index in memory as e.memIndex says (off when unset).
func (e *env) openMemory() (store.Store, error) {
	// A command that answers one request and exits holds no index in
	// memory: its build (a read of every nesting relation's tuples) would
	// cost more than the request. docket serve sets e.memIndex.
	o := store.Options{MemIndex: store.MemIndexOff}
	if e.memIndex != nil {
		o = *e.memIndex
	}
	b, err := memory.NewBackend(memory.Options{})
	if err != nil {
		return nil, err
	}
	return store.New(b, o), nil
}

// openBadger opens the Badger store at --db, holding the membership index
// in memory as e.memIndex says (off when unset).
func (e *env) openBadger(opts badger.Options) (store.Store, error) {
	// A command that answers one request and exits holds no index in
	// memory: its build (a read of every nesting relation's tuples) would
	// cost more than the request. docket serve sets e.memIndex.
	o := store.Options{MemIndex: store.MemIndexOff}
	if e.memIndex != nil {
		o = *e.memIndex
	}
	b, err := badger.OpenBackend(e.dbPath, opts)
	if err != nil {
		return nil, err
	}
	return store.New(b, o), nil
}

// existingDatabase refuses a --db that holds no database, before
// anything is created there: a read or a write to a path that is not
// yet a database must leave it as it was.
func (e *env) existingDatabase() error {
	const hint = "start one with 'docket schema write FILE', or point --db (or $DOCKET_DB) at an existing database"
	fi, err := os.Stat(e.dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(hint, "no database at %s (no schema written yet)", e.dbPath)
	}
	if err != nil || !fi.IsDir() {
		return nil // badger.Open says what is wrong with it
	}
	entries, err := os.ReadDir(e.dbPath)
	if err == nil && len(entries) == 0 {
		return withHint(hint, "no database at %s (the directory is empty)", e.dbPath)
	}
	return nil
}

// closeStore closes the snapshots this run opened, then the store it
// opened, if any.
func (e *env) closeStore() error {
	for _, sn := range e.snaps {
		sn.Close()
	}
	e.snaps = nil
	if e.opened == nil {
		return nil
	}
	s := e.opened
	e.opened = nil
	if err := s.Close(); err != nil {
		return fmt.Errorf("close database at %s: %w", e.dbPath, err)
	}
	return nil
}

// snapshot opens the store and returns a read view at rev (0 = latest)
// that holds a schema. It stays open until the run ends.
func (e *env) snapshot(ctx context.Context, rev tuples.Revision) (tuples.Snapshot, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	snap, err := e.openSnapshot(ctx, s, rev)
	if err != nil {
		if errors.Is(err, tuples.ErrRevisionGone) {
			return nil, withHint("use a later revision, or 0 for the latest", "revision %d: %v", rev, err)
		}
		if errors.Is(err, tuples.ErrFutureRevision) {
			hint := "use 0 for the latest"
			if latest, lerr := s.Snapshot(ctx, 0); lerr == nil {
				hint = fmt.Sprintf("the latest is %d; use 0 for the latest", latest.Revision())
				latest.Close()
			}
			return nil, withHint(hint, "revision %d is not written yet", rev)
		}
		return nil, err
	}
	if snap.Schema() == nil {
		return nil, e.noSchema(snap.Revision())
	}
	return snap, nil
}

// reader opens the store and returns the query layer's reader at rev (0 =
// latest), with the errors and hints of snapshot. It stays open until the
// run ends.
func (e *env) reader(ctx context.Context, rev tuples.Revision) (*query.Reader, error) {
	snap, err := e.snapshot(ctx, rev)
	if err != nil {
		return nil, err
	}
	return e.service().ReaderOn(snap), nil
}

// service is the query layer on the store this run opened, which the
// caller has opened: a command runs one query, so the checker keeps no
// cache.
func (e *env) service() *query.Service {
	if e.svc == nil || e.svc.Store() != e.current() {
		e.svc = query.New(e.current(), query.Options{CacheSize: -1})
	}
	return e.svc
}

// current is the store this run uses, once opened.
func (e *env) current() store.Store {
	if e.shared != nil {
		return e.shared
	}
	return e.opened
}

// openSnapshot opens a snapshot of s that the run closes when it ends.
func (e *env) openSnapshot(ctx context.Context, s store.Store, rev tuples.Revision) (tuples.Snapshot, error) {
	snap, err := s.Snapshot(ctx, rev)
	if err != nil {
		return nil, err
	}
	e.snaps = append(e.snaps, snap)
	return snap, nil
}

func (e *env) noSchema(rev tuples.Revision) error {
	where := "database at " + e.dbPath
	switch {
	case e.server != "":
		where = "store of the server at " + e.server
	case e.datastore != "":
		where = "datastore"
	case e.memory || e.shared != nil:
		where = "in-memory store"
	}
	if rev > 0 {
		where += fmt.Sprintf(" at revision %d", rev)
	}
	return withHint(noSchemaHint, "no schema written to the %s", where)
}

// hintFor adds the advice an operator needs to errors whose cause the
// store or checker reports in general terms.
func hintFor(err error) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, tuples.ErrNoSchema), errors.Is(err, check.ErrNoSchema):
		return &cliError{msg: err.Error(), hint: noSchemaHint, err: err}
	case errors.Is(err, tuples.ErrLocked):
		return &cliError{msg: err.Error(), hint: "stop the other process, or choose another database with --db", err: err}
	}
	return err
}

// revisionValue is a --at flag: a revision number, 0 meaning the latest
// (zero, when set, says what 0 means instead: --since, --before).
type revisionValue struct {
	rev  tuples.Revision
	zero string
}

func (r *revisionValue) String() string { return strconv.FormatUint(uint64(r.rev), 10) }

func (r *revisionValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if r.zero == "" {
			return fmt.Errorf("must be a revision number (0 = latest)")
		}
		if r.zero == "-" {
			return fmt.Errorf("must be a revision number")
		}
		return fmt.Errorf("must be a revision number (0 = %s)", r.zero)
	}
	r.rev = tuples.Revision(n)
	return nil
}

func (r *revisionValue) Type() string { return "REVISION" }

func addAtFlag(cmd *cobra.Command, r *revisionValue) {
	cmd.Flags().Var(r, "at", "read at this revision (as printed by writes; 0 = latest)")
}
