package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/spf13/cobra"
)

func newDBIndexCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Show or build the membership index of nested groups",
		Long: `The stores keep, for every relation whose groups nest (such as
'team#member: user | team#member') and whose subjects carry no condition or
expiry, a membership index: for each group, every group above it, written in
the same revision as the tuples. Checks read a subject's groups from it
instead of walking the groups level by level. A database written before the
index existed has none until it is built; a write that would have to
recompute more than 50,000 rows drops a relation's index, which the checker
then walks, until it is built again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDBIndexStatusCmd(e), newDBIndexBuildCmd(e))
	return cmd
}

func (e *env) indexer() (store.Indexer, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	ix, ok := s.(store.Indexer)
	if !ok {
		return nil, withHint("run it on the server's database with --db", "this store (client mode) does not report its membership index")
	}
	return ix, nil
}

func indexStatusJSON(st []store.IndexStatus) []map[string]any {
	out := []map[string]any{}
	for _, s := range st {
		m := map[string]any{
			"relation": s.Type + "#" + s.Relation, "maintained": s.Maintained,
			"groups": s.Groups, "entries": s.Entries, "overflowed": s.Overflowed,
		}
		if c := s.Counts; c != nil {
			m["counts"] = map[string]any{"subject_sets": c.Sets, "parents": c.Parents, "children": c.Children}
		}
		out = append(out, m)
	}
	return out
}

func newDBIndexStatusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Report the membership index of each nesting relation",
		Long: `For each relation the index applies to, at the latest revision: whether its
index is maintained, how many groups have a row, the entries of all rows, and
how many groups are above the bound (1,024 groups above a group) and so are
walked instead, and the relation's counts of subject sets that guide the walk
(built by 'docket db index build' where missing). Exit status 1 when some
index is not maintained.`,
		Example: `  docket db index status
  docket db index status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ix, err := e.indexer()
			if err != nil {
				return err
			}
			st, supported, err := ix.IndexStatus(cmd.Context(), 0)
			if err != nil {
				return err
			}
			missing := 0
			for _, s := range st {
				if !s.Maintained {
					missing++
				}
			}
			if e.json() {
				if err := writeJSON(e.stdout, map[string]any{"supported": supported, "relations": indexStatusJSON(st)}); err != nil {
					return err
				}
			} else {
				switch {
				case !supported:
					fmt.Fprintln(e.stdout, "this backend keeps no membership index; checks walk the groups")
				case len(st) == 0:
					fmt.Fprintln(e.stdout, "no relation of the schema nests: there is nothing to index")
				}
				for _, s := range st {
					if !s.Maintained {
						fmt.Fprintf(e.stdout, "%s#%s: not built; run 'docket db index build'\n", s.Type, s.Relation)
						continue
					}
					counts := "; no counts yet ('docket db index build' makes them)"
					if c := s.Counts; c != nil {
						counts = fmt.Sprintf("; %d subject sets in %d groups", c.Sets, c.Parents)
					}
					fmt.Fprintf(e.stdout, "%s#%s: maintained, %d groups with %d entries, %d over the bound%s\n", s.Type, s.Relation, s.Groups, s.Entries, s.Overflowed, counts)
				}
			}
			if missing > 0 {
				return exitStatus(exitNo)
			}
			return nil
		},
	}
}

func newDBIndexBuildCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Build the membership index where it is missing",
		Long: `Build the membership index of every nesting relation whose index is not
maintained, from the tuples of the latest revision, one revision per
relation: each is visible at once, whole, when its revision commits. If the
command is interrupted, the relations already built stay built and running it
again builds the rest; the relation it was building has no index until it is
built whole, so checks walk it meanwhile, and the run starts it over.
Relations whose index is maintained are left as they are. Each relation is
printed once built; on a terminal, stderr shows the subject sets read and
the rows computed as it goes.`,
		Example: `  docket db index build`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ix, err := e.indexer()
			if err != nil {
				return err
			}
			// How a build goes is drawn on stderr when it is a terminal;
			// each relation built is a line on stdout.
			var bar *indexBuildProgress
			if e.isTerminal(e.stderr) {
				bar = &indexBuildProgress{w: e.stderr}
			}
			progress := func(p store.IndexProgress) {
				if p.Built == nil {
					bar.show(p)
					return
				}
				bar.clear()
				if !e.json() {
					s := p.Built
					fmt.Fprintf(e.stdout, "%s#%s: built, %d entries, %d groups over the bound\n", s.Type, s.Relation, s.Entries, s.Overflowed)
				}
			}
			built, err := ix.BuildIndex(cmd.Context(), progress)
			bar.clear()
			if err != nil {
				return err
			}
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"built": indexStatusJSON(built)})
			}
			if len(built) == 0 {
				fmt.Fprintln(e.stdout, "every membership index is maintained: nothing to build")
			}
			return nil
		},
	}
}

// indexBuildProgress draws the build of one relation's index on one
// terminal line, at most ten times a second. A nil one draws nothing.
type indexBuildProgress struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (b *indexBuildProgress) show(p store.IndexProgress) {
	final := p.Groups > 0 && p.Rows == p.Groups
	if b == nil || !final && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	name := p.Type + "#" + p.Relation
	if p.Groups == 0 {
		fmt.Fprintf(b.w, "\r\033[K%s: reading subject sets, %d so far", name, p.Edges)
	} else {
		fmt.Fprintf(b.w, "\r\033[K%s: %d subject sets read; rows of %d of %d groups computed (%d%%)", name, p.Edges, p.Rows, p.Groups, 100*p.Rows/p.Groups)
	}
	b.drawn = true
}

func (b *indexBuildProgress) clear() {
	if b == nil || !b.drawn {
		return
	}
	fmt.Fprint(b.w, "\r\033[K")
	b.drawn = false
}
