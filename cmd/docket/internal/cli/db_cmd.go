package cli

import (
	"context"
	"fmt"

	"github.com/docketdb/docket/store/badger"
	"github.com/spf13/cobra"
)

func newDBCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Look after the database itself",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDBVerifyCmd(e), newDBIndexCmd(e))
	return cmd
}

func newDBVerifyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Read the whole database and report any damage",
		Long: `Read every table of the database at --db and check every block against its
checksum, and every record of its memtable and value logs against its own; check that every tuple's forward key has its reverse key and back,
that every tuple fits the schema, that the change log, replayed, agrees
with the tuples of the latest revision, and that the membership index of
nested groups is what the tuples make it. Each problem is printed on a line of
its own; the exit status is 0 when none is found, 1 when some are, 2 when
the database cannot be read at all.

It writes nothing, unless the database was not closed cleanly: then it is
opened writable once, which undoes an interrupted write, as any open does.
Run it after restoring a backup, after a crash, or on a schedule.`,
		Example: `  docket db verify
  docket --db /srv/docket.db db verify -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runDBVerify(cmd.Context())

		},
	}
}

// runDBVerify checks the whole database and reports what is wrong.
func (e *env) runDBVerify(ctx context.Context) error {
	if e.memory {
		return withHint("point --db at a database", "--memory: an in-memory store has nothing to verify")
	}
	if err := e.existingDatabase(); err != nil {
		return err
	}
	r, err := badger.Verify(ctx, e.dbPath)
	if err != nil {
		return err
	}
	if e.json() {
		problems := r.Problems
		if problems == nil {
			problems = []string{}
		}
		if err := writeJSON(e.stdout, map[string]any{
			"revision": r.Revision, "tables": r.Tables, "logs": r.Logs, "tuples": r.Tuples,
			"changes": r.Changes, "changes_from": r.LogFrom, "ok": len(r.Problems) == 0, "problems": problems,
			"tables_only": r.TablesOnly,
		}); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(e.stdout, p)
		}
		status := "ok"
		if n := len(r.Problems); n > 0 {
			status = fmt.Sprintf("%d problem%s found; restore a backup or re-import an export", n, plural(n))
		}
		if r.TablesOnly {
			fmt.Fprintf(e.stdout, "database at %s: %d tables and %d logs checked, tuples not read: %s\n", e.dbPath, r.Tables, r.Logs, status)
		} else {
			fmt.Fprintf(e.stdout, "database at %s, revision %d: %d tables, %d logs, %d tuples, %d changes checked: %s\n",
				e.dbPath, r.Revision, r.Tables, r.Logs, r.Tuples, r.Changes, status)
		}
	}
	if len(r.Problems) > 0 {
		return exitStatus(exitNo)
	}
	return nil
}
