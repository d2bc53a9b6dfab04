package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func newCheckCmd(e *env) *cobra.Command {
	var (
		explain  bool
		with     []string
		at       revisionValue
		maxDepth int
	)
	cmd := &cobra.Command{
		Use:   "check OBJECT#RELATION@SUBJECT...",
		Short: "Ask whether subjects hold relations on objects",
		Long: `Answer each check: does SUBJECT hold RELATION on OBJECT? A single check prints
"allowed" or "denied"; several print one "QUERY allowed|denied" line each.
With --explain, each answer is followed by why: the chain of relations and
tuples that grants it, or the branches that failed and the deny-list entry
that removed the subject.

--with adds contextual tuples, treated as stored for these checks only and
never written. --at answers as of an earlier revision.

Exit status: 0 when every check is allowed, 1 when any is denied, 2 on error.`,
		Example: `  docket check case:1#viewer@user:alice
  docket check --explain case:1#viewer@user:bob
  docket check case:1#viewer@user:alice case:1#editor@user:alice
  docket check case:1#viewer@user:carol --with case:1#assignee@user:carol
  docket check case:1#viewer@team:east#member --at 12
  if docket check case:1#editor@user:alice >/dev/null; then echo may edit; fi`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: e.completeArgs(shapeTuple),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			snap, err := e.snapshot(ctx, at.rev)
			if err != nil {
				return err
			}
			sch := snap.Schema()
			var ctxTuples []tuples.Tuple
			for _, w := range with {
				t, err := tuples.Parse(w)
				if err != nil {
					return argParseError("--with", w, err, "write OBJECT#RELATION@SUBJECT, e.g. case:1#deny_list@user:bob")
				}
				if err := tuples.Validate(t, sch); err != nil {
					return fmt.Errorf("--with: %w", err)
				}
				ctxTuples = append(ctxTuples, t)
			}
			qs := make([]check.Query, len(args))
			for i, a := range args {
				t, err := tuples.Parse(a)
				if err != nil {
					return argParseError(ordinal(i), a, err, "write OBJECT#RELATION@SUBJECT, e.g. case:1#viewer@user:alice")
				}
				subj := t.Subject()
				if err := checkNames(sch, fmt.Sprintf("%s %q", ordinal(i), a), t.Object(), t.Relation, &subj); err != nil {
					return err
				}
				qs[i] = check.Query{Object: t.Object(), Relation: t.Relation, Subject: subj, Explain: explain, Context: ctxTuples}
			}
			checker := check.New(check.Options{MaxDepth: maxDepth, CacheSize: -1})
			results, err := checker.CheckBatch(ctx, snap, qs)
			if err != nil {
				var de *check.DepthError
				if errors.As(err, &de) {
					msg, _, _ := strings.Cut(de.Error(), "; ")
					return withHint("raise --max-depth, or look for an unintended chain of nested groups", "%s", msg)
				}
				return err
			}
			denied := false
			type jsonResult struct {
				Query       string             `json:"query"`
				Allowed     bool               `json:"allowed"`
				Explanation *check.Explanation `json:"explanation,omitempty"`
			}
			out := make([]jsonResult, len(results))
			for i, r := range results {
				denied = denied || !r.Allowed
				out[i] = jsonResult{Query: qs[i].String(), Allowed: r.Allowed, Explanation: r.Explanation}
				if e.json() {
					continue
				}
				verdict := "denied"
				if r.Allowed {
					verdict = "allowed"
				}
				if len(results) > 1 {
					verdict = qs[i].String() + " " + verdict
				}
				fmt.Fprintln(e.stdout, verdict)
				if r.Explanation != nil {
					for _, l := range strings.Split(r.Explanation.String(), "\n") {
						fmt.Fprintln(e.stdout, "  "+l)
					}
				}
			}
			if e.json() {
				if err := writeJSON(e.stdout, map[string]any{"revision": snap.Revision(), "results": out}); err != nil {
					return err
				}
			}
			if denied {
				return exitStatus(exitNo)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&explain, "explain", false, "explain each answer")
	cmd.Flags().Var((*tupleList)(&with), "with", "contextual tuple for these checks only (repeatable)")
	addMaxDepthFlag(cmd, &maxDepth)
	addAtFlag(cmd, &at)
	return cmd
}

// tupleList is a repeatable flag of tuples, kept as text until a schema is
// at hand to check them against.
type tupleList []string

func (l *tupleList) String() string { return strings.Join(*l, ",") }

func (l *tupleList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func (l *tupleList) Type() string { return "TUPLE" }

func addMaxDepthFlag(cmd *cobra.Command, depth *int) {
	cmd.Flags().IntVar(depth, "max-depth", check.DefaultMaxDepth, "deepest chain of relations a walk may follow; deeper is an error")
}
