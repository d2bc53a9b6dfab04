package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/postgres"
	"github.com/spf13/cobra"
)

// datastoreHint is the advice for a datastore that cannot be reached.
const datastoreHint = "check that the database is running and that --datastore (or $DOCKET_DATASTORE) names its host, port, user, password and database"

// openDatastore opens the SQL datastore at --datastore.
func (e *env) openDatastore() (store.Store, error) {
	b, err := e.openDatastoreBackend(context.Background(), postgres.Options{Migrate: e.migrate, Logger: nil})
	if err != nil {
		return nil, err
	}
	return store.New(b, store.Options{}), nil
}

func (e *env) openDatastoreBackend(ctx context.Context, opts postgres.Options) (*postgres.Backend, error) {
	b, err := postgres.OpenBackend(ctx, e.datastore, opts)
	if err != nil {
		return nil, datastoreError(err)
	}
	return b, nil
}

// datastoreError adds the advice an operator needs to a datastore's
// errors.
func datastoreError(err error) error {
	switch {
	case errors.Is(err, postgres.ErrUnavailable):
		return &cliError{msg: err.Error(), hint: datastoreHint, err: err}
	case errors.Is(err, postgres.ErrNotMigrated):
		return &cliError{msg: err.Error(), hint: "run 'docket datastore migrate --datastore URL' once, or start 'docket serve' with --migrate", err: err}
	case errors.Is(err, postgres.ErrNewerSchema):
		return &cliError{msg: err.Error(), hint: "run a docket at least as new as the one that migrated the datastore", err: err}
	}
	return err
}

func newDatastoreCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datastore",
		Short: "Manage the SQL datastore: migrate its tables, collect garbage",
		Long: `The SQL datastore keeps Docket's store in a PostgreSQL-compatible database
(--datastore postgres://USER:PASS@HOST:PORT/DB, or $DOCKET_DATASTORE), so that
several 'docket serve' processes share it. Its tables are versioned: migrate
creates or upgrades them, and every other command refuses tables of another
version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDatastoreMigrateCmd(e), newDatastoreGCCmd(e))
	return cmd
}

func (e *env) needDatastore() error {
	if e.datastore == "" {
		return withHint("add --datastore postgres://USER:PASS@HOST:PORT/DB (or set $DOCKET_DATASTORE)", "this command works on a SQL datastore, and none is given")
	}
	return nil
}

func newDatastoreMigrateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the datastore's tables to this docket's version",
		Long: `Apply, in order, the migrations the datastore's tables lack, each in a
transaction of its own: a failed migration leaves the previous version
whole. Running it again does nothing; running it from several processes at
once is safe. It refuses a datastore migrated by a newer docket.`,
		Example: `  docket datastore migrate --datastore postgres://docket:secret@db:5432/docket`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.needDatastore(); err != nil {
				return err
			}
			return runDatastoreMigrate(cmd.Context(), e)
		},
	}
}

func runDatastoreMigrate(ctx context.Context, e *env) error {
	pool, err := postgres.Pool(ctx, e.datastore)
	if err != nil {
		return datastoreError(err)
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return datastoreError(err)
	}
	v := postgres.SchemaVersion()
	if e.json() {
		if applied == nil {
			applied = []int{}
		}
		return writeJSON(e.stdout, map[string]any{"version": v, "applied": applied})
	}
	if len(applied) == 0 {
		fmt.Fprintf(e.stdout, "datastore already at version %d\n", v)
		return nil
	}
	vs := make([]string, len(applied))
	for i, a := range applied {
		vs[i] = fmt.Sprint(a)
	}
	fmt.Fprintf(e.stdout, "applied migration%s %s; datastore at version %d\n", plural(len(applied)), strings.Join(vs, ", "), v)
	return nil
}

func newDatastoreGCCmd(e *env) *cobra.Command {
	var window, grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Collect the datastore's garbage once",
		Long: `Remove the versions of tuples that no revision still held reads. A revision
stays readable for --window after the next one commits; rows are removed
--grace after the revision that uncovers them leaves the window, so that a
read another process began before then finishes. Each batch of rows is a
short transaction of its own, so writers never wait for a collection.
'docket serve' on a datastore collects in the background; this command is
for a datastore no server runs on, or to collect at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.needDatastore(); err != nil {
				return err
			}
			b, err := e.openDatastoreBackend(cmd.Context(), postgres.Options{GCWindow: window, SnapshotGrace: grace})
			if err != nil {
				return err
			}
			defer b.Close()
			r, err := b.CollectGarbage(cmd.Context())
			if err != nil {
				return datastoreError(err)
			}
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"horizon": r.Horizon, "tuples": r.Tuples, "revisions": r.Revisions, "schemas": r.Schemas})
			}
			fmt.Fprintf(e.stdout, "oldest revision held %d; removed %d tuple versions, %d revision records, %d schemas\n", r.Horizon, r.Tuples, r.Revisions, r.Schemas)
			return nil
		},
	}
	cmd.Flags().DurationVar(&window, "window", time.Hour, "how long a revision stays readable after the next one commits")
	cmd.Flags().DurationVar(&grace, "grace", time.Minute, "how long after a revision leaves the window its rows are removed")
	return cmd
}
