package cli

import (
	"context"
	"fmt"

	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// tupleReadOptions are the flags of tuple read.
type tupleReadOptions struct {
	ff      filterFlags
	partial string
	limit   int
	cursor  string
	at      revisionValue
}

func newTupleReadCmd(e *env) *cobra.Command {
	var o tupleReadOptions
	cmd := &cobra.Command{
		Use:   "read [PARTIAL_TUPLE] [--FILTER VALUE...]",
		Short: "List stored tuples matching a filter",
		Long: `List stored tuples, all of them or those matching a partial tuple
(TYPE[:ID][#RELATION[@SUBJECT]], where SUBJECT is TYPE[:ID[#RELATION]]) and
the filter flags. With --limit, at most N are printed and, when more remain,
the cursor to continue from is printed on stderr (and as next_cursor in JSON).`,
		Example: `  docket tuple read
  docket tuple read case:1
  docket tuple read case#viewer@user:alice
  docket tuple read --filter case#deny_list@user:mallory
  docket tuple read --subject-type team --limit 100
  docket tuple read --limit 100 --cursor CURSOR_FROM_PREVIOUS_PAGE`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runTupleRead(cmd.Context(), &o, args)
		},
	}
	o.ff.add(cmd)
	cmd.Flags().StringVar(&o.partial, "filter", "", "only tuples matching this partial tuple (as the argument)")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "print at most N tuples (0 = all)")
	cmd.Flags().StringVar(&o.cursor, "cursor", "", "continue after the page that printed this cursor")
	addAtFlag(cmd, &o.at)
	return cmd
}

// runTupleRead prints the tuples matching the partial tuple of args and
// the filter flags, a page at a time.
func (e *env) runTupleRead(ctx context.Context, o *tupleReadOptions, args []string) error {
	f := o.ff.f
	if o.partial != "" {
		args = append(args, o.partial)
	}
	if len(args) > 1 {
		return withHint("give the partial tuple once, as the argument or as --filter", "both a partial tuple argument and --filter given")
	}
	if len(args) == 1 {
		p, err := parsePartial(args[0])
		if err != nil {
			return err
		}
		if f, err = mergeFilter(p, o.ff.f); err != nil {
			return err
		}
	}
	if o.limit < 0 {
		return withHint("use 0 for no limit", "--limit %d: must not be negative", o.limit)
	}
	r, err := e.reader(ctx, o.at.rev)
	if err != nil {
		return err
	}
	what := ""
	if len(args) == 1 {
		what = args[0]
	}
	if err := checkFilter(r.Schema(), filterWhat(what, f), f); err != nil {
		return err
	}
	// Text streams page by page; only JSON, printed as one
	// document, keeps the tuples.
	var all []tuples.Tuple
	n, next := 0, o.cursor
	for {
		page := o.limit - n
		if o.limit == 0 || page > 10000 {
			page = 10000
		}
		ts, after, err := r.Read(ctx, f, next, page)
		if err != nil {
			return fmt.Errorf("read tuples: %w", err)
		}
		next, n = after, n+len(ts)
		if e.json() {
			all = append(all, ts...)
		} else {
			for _, t := range ts {
				fmt.Fprintln(e.stdout, t.Text())
			}
		}
		if next == "" || (o.limit > 0 && n >= o.limit) {
			break
		}
	}
	if e.json() {
		out := struct {
			Revision   tuples.Revision `json:"revision"`
			Tuples     []jsonTuple     `json:"tuples"`
			NextCursor string          `json:"next_cursor,omitempty"`
		}{Revision: r.Revision(), Tuples: make([]jsonTuple, len(all)), NextCursor: next}
		for i, t := range all {
			out.Tuples[i] = toJSONTuple(t)
		}
		return writeJSON(e.stdout, out)
	}
	if next != "" {
		fmt.Fprintf(e.stderr, "more tuples: continue with --cursor %s\n", next)
	}
	return nil
}

func newTupleExportCmd(e *env) *cobra.Command {
	var at revisionValue
	format := newChoice("text", "text", "jsonl")
	cmd := &cobra.Command{
		Use:   "export [--format text|jsonl]",
		Short: "Print every stored tuple, for backup or migration",
		Long: `Print every tuple stored at the latest revision (or --at REVISION), one a
line, in text or JSON-lines form; either can be read back by 'docket tuple
import'.`,
		Example: `  docket tuple export > backup.tuples
  docket tuple export --format jsonl > backup.jsonl
  docket --db old.db tuple export | docket --db new.db tuple import -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, err := e.snapshot(ctx, at.rev); err != nil {
				return err
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			f := tuples.FormatText
			if format.value == "jsonl" {
				f = tuples.FormatJSONL
			}
			if _, err := s.Export(ctx, e.stdout, at.rev, f); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().Var(&format, "format", "output format: text or jsonl")
	_ = cmd.RegisterFlagCompletionFunc("format", format.complete)
	addAtFlag(cmd, &at)
	return cmd
}
