package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func addSchemaStoreCommands(parent *cobra.Command, e *env) {
	parent.AddCommand(newSchemaWriteCmd(e), newSchemaShowCmd(e))
}

func newSchemaWriteCmd(e *env) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "write FILE",
		Short: "Validate a schema file and store it as the database's schema",
		Long: `Validate a schema file and store its canonical form as the schema of the
database, at a new revision. Warnings are printed but do not stop the write.
What changed is listed a line each: + added, - removed, ~ changed (with the
old definition); comments and declaration order do not count. Writing the
schema already stored (comments included) makes no revision.

A change that would leave stored tuples invalid (a relation removed or made
computed, a subject type no longer allowed) is refused, naming example
tuples in the way; delete those tuples first.

With --dry-run nothing is written (and no database is created): the changes
are listed and the stored tuples checked, and the exit status says whether
the write would be accepted (0) or refused (1).`,
		Example: `  docket schema write casebook.rebac
  docket schema write --dry-run casebook.rebac
  docket --db /var/lib/docket schema write casebook.rebac`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runSchemaWrite(cmd.Context(), args[0], dryRun)

		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the changes and check the stored tuples, but write nothing")
	return cmd
}

// runSchemaWrite stores the schema file at path, or with dryRun says what storing it would change.
func (e *env) runSchemaWrite(ctx context.Context, path string, dryRun bool) error {
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
	if dryRun {
		return e.schemaDryRun(ctx, next)
	}
	s, err := e.createStore()
	if err != nil {
		return err
	}
	var old *schema.Schema
	if snap, err := e.openSnapshot(ctx, s, 0); err == nil {
		old = snap.Schema()
		// Writing the stored schema again, as a deploy script
		// does on every run, changes nothing: no revision.
		if old != nil && old.Text() == next.Text() {
			return e.printSchemaWrite(fmt.Sprintf("schema unchanged at revision %d", snap.Revision()),
				snap.Revision(), next, nil, false)
		}
	}
	rev, err := s.WriteSchema(ctx, path, src)
	if err != nil {
		return orphanError(ctx, s, next, err)
	}
	return e.printSchemaWrite(fmt.Sprintf("schema written at revision %d", rev), rev, next, schema.Diff(old, next), old == nil)
}

// schemaDryRun reports what writing next would change, and whether the
// stored tuples would let it, without writing or creating anything.
func (e *env) schemaDryRun(ctx context.Context, next *schema.Schema) error {
	var (
		old  *schema.Schema
		snap tuples.Snapshot
	)
	if e.memory || e.shared != nil || dbExists(e.dbPath) {
		s, err := e.openStore()
		if err != nil {
			return err
		}
		if snap, err = e.openSnapshot(ctx, s, 0); err != nil {
			return err
		}
		old = snap.Schema()
	}
	var rev tuples.Revision
	if snap != nil {
		rev = snap.Revision()
	}
	if old != nil {
		found, err := query.Orphans(ctx, snap, next, 5)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			return &negative{err: withHint("delete them first, or keep what they need in the schema",
				"would be refused: stored tuples the new schema does not accept include %s", strings.Join(found, ", "))}
		}
	}
	return e.printSchemaWrite("dry run: the schema would be accepted; nothing written", rev, next, schema.Diff(old, next), old == nil)
}

func dbExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// printSchemaWrite reports a schema write, or a dry run of one, with what
// changed; first says no schema was stored before.
func (e *env) printSchemaWrite(headline string, rev tuples.Revision, next *schema.Schema, diff []schema.Difference, first bool) error {
	if e.json() {
		type changeJSON struct {
			Kind      string `json:"kind"`
			Type      string `json:"type,omitempty"`
			Relation  string `json:"relation,omitempty"`
			Condition string `json:"condition,omitempty"`
			Old       string `json:"old,omitempty"`
			New       string `json:"new,omitempty"`
		}
		changes := make([]changeJSON, len(diff))
		for i, d := range diff {
			changes[i] = changeJSON{d.Kind.String(), d.Type, d.Relation, d.Condition, strings.TrimSpace(d.Old), strings.TrimSpace(d.New)}
		}
		return writeJSON(e.stdout, map[string]any{"revision": rev, "types": len(next.Types), "changes": changes})
	}
	if first {
		// Everything is new: the schema itself is the list.
		_, err := fmt.Fprintf(e.stdout, "%s (%d types)\n", headline, len(next.Types))
		return err
	}
	fmt.Fprintf(e.stdout, "%s (%d types, %d change%s)\n", headline, len(next.Types), len(diff), plural(len(diff)))
	for _, d := range diff {
		fmt.Fprintln(e.stdout, "  "+d.String())
	}
	return nil
}

// orphanError adds to a refused schema write up to five of the stored
// tuples that the new schema would no longer accept, so the operator sees
// exactly what stands in the way.
func orphanError(ctx context.Context, s store.Store, next *schema.Schema, werr error) error {
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		return werr
	}
	defer snap.Close()
	if snap.Schema() == nil {
		return werr
	}
	found, err := query.Orphans(ctx, snap, next, 5)
	if err != nil || len(found) == 0 {
		return werr
	}
	return fmt.Errorf("%w\ntuples in the way include: %s", werr, strings.Join(found, ", "))
}

func newSchemaShowCmd(e *env) *cobra.Command {
	var at revisionValue
	var expanded bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the stored schema",
		Long: `Print the schema stored in the database, in canonical form, as of the latest revision or --at REVISION.
With --expanded, every ...NAME is replaced by the relations of partial NAME and
the partials are left out: each type as the checker sees it.`,
		Example: `  docket schema show
  docket schema show --at 3
  docket schema show --expanded
  docket schema show --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			snap, err := e.snapshot(cmd.Context(), at.rev)
			if err != nil {
				return err
			}
			text := snap.Schema().Text()
			if expanded {
				text = snap.Schema().ExpandedText()
			}
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"revision": snap.Revision(), "schema": text,
					"conditions": conditionsJSON(snap.Schema())})
			}
			_, err = fmt.Fprint(e.stdout, text)
			return err
		},
	}
	addAtFlag(cmd, &at)
	cmd.Flags().BoolVar(&expanded, "expanded", false, "print partials expanded into the types that include them")
	return cmd
}

type conditionJSON struct {
	Name       string      `json:"name"`
	Params     []paramJSON `json:"parameters"`
	Expression string      `json:"expression"`
}

type paramJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// conditionsJSON lists the schema's conditions for `schema show --output json`.
func conditionsJSON(s *schema.Schema) []conditionJSON {
	out := make([]conditionJSON, 0, len(s.Conditions))
	for _, c := range s.Conditions {
		cj := conditionJSON{Name: c.Name, Expression: strings.TrimSpace(c.Program.Expr()), Params: []paramJSON{}}
		for _, p := range c.Params() {
			cj.Params = append(cj.Params, paramJSON{Name: p.Name, Type: p.Type.String()})
		}
		out = append(out, cj)
	}
	return out
}
