package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func addSchemaStoreCommands(parent *cobra.Command, e *env) {
	parent.AddCommand(newSchemaWriteCmd(e), newSchemaShowCmd(e))
}

func newSchemaWriteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "write FILE",
		Short: "Validate a schema file and store it as the database's schema",
		Long: `Validate a schema file and store its canonical form as the schema of the
database, at a new revision. Warnings are printed but do not stop the write.

A change that would leave stored tuples invalid (a relation removed or made
computed, a subject type no longer allowed) is refused, naming the relations
and example tuples affected; delete those tuples first.`,
		Example: `  docket schema write casebook.rebac
  docket --db /var/lib/docket schema write casebook.rebac`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path := args[0]
			src, err := os.ReadFile(path)
			if err != nil {
				return fileError(path, err)
			}
			next, err := schema.Load(path, src)
			if err != nil {
				return &negative{err: err}
			}
			for _, w := range next.Warnings {
				fmt.Fprintln(e.stderr, w.String())
			}
			s, err := e.createStore()
			if err != nil {
				return err
			}
			rev, err := s.WriteSchema(ctx, path, src)
			if err != nil {
				return orphanError(ctx, s, next, err)
			}
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"revision": rev, "types": len(next.Types)})
			}
			_, err = fmt.Fprintf(e.stdout, "schema written at revision %d (%d types)\n", rev, len(next.Types))
			return err
		},
	}
}

// orphanError adds to a refused schema write up to five of the stored
// tuples that the new schema would no longer accept, so the operator sees
// exactly what stands in the way.
func orphanError(ctx context.Context, s tuples.Store, next *schema.Schema, werr error) error {
	snap, err := s.Snapshot(ctx, 0)
	if err != nil || snap.Schema() == nil {
		return werr
	}
	const show = 5
	var found []string
	for _, r := range snap.Schema().Relations {
		if !r.Stored || len(found) == show {
			continue
		}
		cursor := ""
		for len(found) < show {
			ts, nextCursor, err := snap.Read(ctx, tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name}, cursor, 1000)
			if err != nil {
				return werr
			}
			for _, t := range ts {
				if tuples.Validate(t, next) != nil && len(found) < show {
					found = append(found, t.String())
				}
			}
			if nextCursor == "" {
				break
			}
			cursor = nextCursor
		}
	}
	if len(found) == 0 {
		return werr
	}
	return fmt.Errorf("%w\ntuples in the way include: %s", werr, strings.Join(found, ", "))
}

func newSchemaShowCmd(e *env) *cobra.Command {
	var at revisionValue
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the stored schema",
		Long:  `Print the schema stored in the database, in canonical form, as of the latest revision or --at REVISION.`,
		Example: `  docket schema show
  docket schema show --at 3
  docket schema show --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			snap, err := e.snapshot(cmd.Context(), at.rev)
			if err != nil {
				return err
			}
			text := snap.Schema().Text()
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"revision": snap.Revision(), "schema": text})
			}
			_, err = fmt.Fprint(e.stdout, text)
			return err
		},
	}
	addAtFlag(cmd, &at)
	return cmd
}
