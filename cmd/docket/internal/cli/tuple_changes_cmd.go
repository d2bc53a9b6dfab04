package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// tupleChangesOptions are the flags of tuple changes; sinceSet says
// --since was given.
type tupleChangesOptions struct {
	since    revisionValue
	sinceSet bool
	limit    int
}

func newTupleChangesCmd(e *env) *cobra.Command {
	o := tupleChangesOptions{since: revisionValue{zero: "from where the log starts"}}
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
			o.sinceSet = cmd.Flags().Changed("since")
			return e.runTupleChanges(cmd.Context(), &o)
		},
	}
	cmd.Flags().Var(&o.since, "since", "print changes committed after this revision (default: from where the log starts)")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "stop after about N changes, at a revision boundary (0 = no limit)")
	return cmd
}

// runTupleChanges prints the change log after --since, a page at a time.
func (e *env) runTupleChanges(ctx context.Context, o *tupleChangesOptions) error {
	if o.limit < 0 {
		return withHint("use 0 for no limit", "--limit %d: must not be negative", o.limit)
	}
	snap, err := e.snapshot(ctx, 0)
	if err != nil {
		return err
	}
	if o.since.rev > snap.Revision() {
		return withHint(fmt.Sprintf("the latest is %d", snap.Revision()),
			"--since %d: revision not written yet", o.since.rev)
	}
	svc := e.service()
	changes, err := svc.Changes(ctx, o.since.rev, o.limit)
	var trimmed *store.TrimmedError
	if errors.As(err, &trimmed) && !o.sinceSet {
		// Without --since, "from the start" is from where the
		// log starts now.
		o.since.rev = trimmed.From - 1
		changes, err = svc.Changes(ctx, o.since.rev, o.limit)
	}
	if errors.Is(err, tuples.ErrChangesTrimmed) {
		return withHint("the log was trimmed ('docket tuple trim-changes'); ask from where it starts, or read the tuples themselves with 'docket tuple export'",
			"%v", err)
	}
	if err != nil {
		return fmt.Errorf("read changes after revision %d: %w", o.since.rev, err)
	}
	// More may follow only when the page was cut at the o.limit.
	var next tuples.Revision
	if o.limit > 0 && len(changes) >= o.limit && changes[len(changes)-1].Revision < snap.Revision() {
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
			out[i] = changeJSON{c.Revision, changeKind(c.Kind), c.Tuple.Text()}
		}
		v := map[string]any{"revision": snap.Revision(), "changes": out}
		if next > 0 {
			v["next_since"] = next
		}
		return writeJSON(e.stdout, v)
	}
	for _, c := range changes {
		if _, err := fmt.Fprintf(e.stdout, "%d %s %s\n", c.Revision, changeKind(c.Kind), c.Tuple.Text()); err != nil {
			return err
		}
	}
	if next > 0 {
		fmt.Fprintf(e.stderr, "more after revision %d: docket tuple changes --since %d\n", next, next)
	}
	return nil
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
			return e.runTrimChanges(cmd.Context(), before.rev)
		},
	}
	cmd.Flags().Var(&before, "before", "keep the change log from this revision on")
	return cmd
}

// runTrimChanges drops the change log of the revisions below before.
func (e *env) runTrimChanges(ctx context.Context, before tuples.Revision) error {
	if before == 0 {
		return withHint("give the first revision to keep, e.g. --before 5000", "--before is required")
	}
	snap, err := e.snapshot(ctx, 0)
	if err != nil {
		return err
	}
	if before > snap.Revision() {
		return withHint(fmt.Sprintf("the latest is %d", snap.Revision()), "--before %d: revision not written yet", before)
	}
	svc := e.service()
	n, err := svc.TrimChanges(ctx, before)
	if err != nil {
		return err
	}
	if e.json() {
		latest, err := svc.Reader(ctx, 0)
		if err != nil {
			return err
		}
		defer latest.Close()
		return writeJSON(e.stdout, map[string]any{"revision": latest.Revision(), "dropped": n, "before": before})
	}
	_, err = fmt.Fprintf(e.stdout, "dropped %d change%s of revisions before %d\n", n, plural(n), before)
	return err
}

func newTupleGCCmd(e *env) *cobra.Command {
	var before string
	cmd := &cobra.Command{
		Use:   "gc [--before RFC3339]",
		Short: "Delete expired tuples, to reclaim space",
		Long: `Delete every tuple whose expiry is at or before --before (default: now), in
one revision. Expired tuples are invisible to every read already, so no answer
at a clock at or after --before changes; the change log records the deletes,
and snapshots of earlier revisions keep the tuples, as they keep every deleted
tuple. Until collected, an expired tuple still answers a read with an earlier
--now. With nothing to delete it writes no revision.`,
		Example: `  docket tuple gc
  docket tuple gc --before 2027-01-01T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			at := time.Now()
			if before != "" {
				t, err := tuples.ParseTime(before)
				if err != nil {
					return withHint("write --before 2027-01-15T00:00:00Z (RFC 3339, UTC or with an offset)", "--before: %v", err)
				}
				at = t
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			c, ok := s.(store.Collector)
			if !ok {
				return withHint("run it where the database is, without --server", "this store does not collect expired tuples")
			}
			rev, n, err := c.CollectExpired(ctx, at)
			if err != nil {
				return err
			}
			if e.json() {
				return writeJSON(e.stdout, map[string]any{"revision": rev, "deleted": n, "before": tuples.FormatExpiry(at)})
			}
			_, err = fmt.Fprintf(e.stdout, "deleted %d expired tuple%s (expired at or before %s) at revision %d\n", n, plural(n), tuples.FormatExpiry(at), rev)
			return err
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "delete tuples expired at or before this RFC 3339 time (default: now)")
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
