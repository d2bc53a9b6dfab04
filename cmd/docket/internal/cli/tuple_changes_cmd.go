package cli

import (
	"errors"
	"fmt"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func newTupleChangesCmd(e *env) *cobra.Command {
	var (
		since = revisionValue{zero: "from where the log starts"}
		limit int
	)
	cmd := &cobra.Command{
		Use:   "changes [--since REVISION] [--limit N]",
		Short: "Print the tuple writes and deletes committed after a revision",
		Long: `Print the change log: every tuple written or deleted after --since (default:
from where the log starts, which 'docket tuple trim-changes' moves), oldest first, one a line as REVISION write|delete TUPLE.
An auditor reads it to learn when access was granted or taken away; an
operator to copy recent changes elsewhere.

--limit stops after about N changes, always at the end of a revision, so a
revision is never split; the next page starts at --since of the last
revision printed, which is said on stderr (or as "next_since" in JSON).`,
		Example: `  docket tuple changes
  docket tuple changes --since 41
  docket tuple changes --since 41 --limit 1000 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if limit < 0 {
				return withHint("use 0 for no limit", "--limit %d: must not be negative", limit)
			}
			snap, err := e.snapshot(ctx, 0)
			if err != nil {
				return err
			}
			if since.rev > snap.Revision() {
				return withHint(fmt.Sprintf("the latest is %d", snap.Revision()),
					"--since %d: revision not written yet", since.rev)
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			changes, err := s.Changes(ctx, since.rev, limit)
			var trimmed *store.TrimmedError
			if errors.As(err, &trimmed) && !cmd.Flags().Changed("since") {
				// Without --since, "from the start" is from where the
				// log starts now.
				since.rev = trimmed.From - 1
				changes, err = s.Changes(ctx, since.rev, limit)
			}
			if errors.Is(err, tuples.ErrChangesTrimmed) {
				return withHint("the log was trimmed ('docket tuple trim-changes'); ask from where it starts, or read the tuples themselves with 'docket tuple export'",
					"%v", err)
			}
			if err != nil {
				return fmt.Errorf("read changes after revision %d: %w", since.rev, err)
			}
			// More may follow only when the page was cut at the limit.
			var next tuples.Revision
			if limit > 0 && len(changes) >= limit && changes[len(changes)-1].Revision < snap.Revision() {
				next = changes[len(changes)-1].Revision
			}
			if e.json() {
				type changeJSON struct {
					Revision tuples.Revision `json:"revision"`
					Kind     string          `json:"kind"`
					Tuple    string          `json:"tuple"`
				}
				out := make([]changeJSON, len(changes))
				for i, c := range changes {
					out[i] = changeJSON{c.Revision, changeKind(c.Kind), c.Tuple.String()}
				}
				v := map[string]any{"revision": snap.Revision(), "changes": out}
				if next > 0 {
					v["next_since"] = next
				}
				return writeJSON(e.stdout, v)
			}
			for _, c := range changes {
				if _, err := fmt.Fprintf(e.stdout, "%d %s %s\n", c.Revision, changeKind(c.Kind), c.Tuple); err != nil {
					return err
				}
			}
			if next > 0 {
				fmt.Fprintf(e.stderr, "more after revision %d: docket tuple changes --since %d\n", next, next)
			}
			return nil
		},
	}
	cmd.Flags().Var(&since, "since", "print changes committed after this revision (default: from where the log starts)")
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after about N changes, at a revision boundary (0 = no limit)")
	return cmd
}

func newTupleTrimChangesCmd(e *env) *cobra.Command {
	before := revisionValue{zero: "-"}
	cmd := &cobra.Command{
		Use:   "trim-changes --before REVISION",
		Short: "Drop the change log of revisions before one, to reclaim space",
		Long: `Drop the change log of every revision below --before. The log otherwise grows
with every write and is never dropped on its own. Tuples, snapshots and
--at reads are not affected, only 'docket tuple changes': asking it for
changes before the new start is an error from then on, never a silent gap.
The trim is a write of its own and makes a revision.`,
		Example: `  docket tuple trim-changes --before 5000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if before.rev == 0 {
				return withHint("give the first revision to keep, e.g. --before 5000", "--before is required")
			}
			snap, err := e.snapshot(ctx, 0)
			if err != nil {
				return err
			}
			if before.rev > snap.Revision() {
				return withHint(fmt.Sprintf("the latest is %d", snap.Revision()), "--before %d: revision not written yet", before.rev)
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			n, err := s.TrimChanges(ctx, before.rev)
			if err != nil {
				return err
			}
			if e.json() {
				latest, err := s.Snapshot(ctx, 0)
				if err != nil {
					return err
				}
				defer latest.Close()
				return writeJSON(e.stdout, map[string]any{"revision": latest.Revision(), "dropped": n, "before": before.rev})
			}
			_, err = fmt.Fprintf(e.stdout, "dropped %d change%s of revisions before %d\n", n, plural(n), before.rev)
			return err
		},
	}
	cmd.Flags().Var(&before, "before", "keep the change log from this revision on")
	return cmd
}

func changeKind(k tuples.ChangeKind) string {
	switch k {
	case tuples.ChangeWrite:
		return "write"
	case tuples.ChangeDelete:
		return "delete"
	}
	return fmt.Sprintf("change(%d)", int(k))
}
