package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// checkOptions are the flags of check.
type checkOptions struct {
	explain  bool
	with     []string
	file     string
	at       revisionValue
	maxDepth int
	cond     conditionFlags
}

func newCheckCmd(e *env) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check OBJECT#RELATION@SUBJECT... | -f FILE | -",
		Short: "Ask whether subjects hold relations on objects",
		Long: `Answer each check: does SUBJECT hold RELATION on OBJECT? A single check prints
"allowed" or "denied"; several print one "QUERY allowed|denied" line each.
With --explain, each answer is followed by why: the chain of relations and
tuples that grants it, or the branches that failed and the deny-list entry
that removed the subject.

Checks may also be read from a file (-f FILE) or standard input (-), one a
line in the tuple text form, with blank lines and // comments; a malformed
line is reported as FILE:LINE:COL and nothing is checked. All checks of a
run are answered at one revision.

--with adds contextual tuples, treated as stored for these checks only and
never written. --at answers as of an earlier revision.

Tuples may carry conditions and expiries. --context (or --context-file) gives
the conditions' parameters as a JSON object; a tuple's stored values win. An
answer that depends on parameters neither gives is "conditional (missing
...)": not allowed, and not denied either. --now sets the clock that decides
which tuples have expired.

Exit status: 0 when every check is allowed, 1 when any is denied, 3 when none
is denied but some is conditional, 2 on error.`,
		Example: `  docket check case:1#viewer@user:alice
  docket check --explain case:1#viewer@user:bob
  docket check case:1#viewer@user:alice case:1#editor@user:alice
  docket check case:1#viewer@user:carol --with case:1#assignee@user:carol
  docket check case:1#viewer@team:east#member --at 12
  docket check -f nightly-audit.checks
  if docket check case:1#editor@user:alice >/dev/null; then echo may edit; fi`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.file != "" && len(args) > 0:
				return fmt.Errorf("give either checks as arguments or -f %s, not both", o.file)
			case o.file == "" && len(args) == 0:
				return errors.New("requires at least 1 check, -f FILE, or - for standard input")
			}
			return nil
		},
		ValidArgsFunction: e.completeArgs(shapeTuple),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runCheck(cmd.Context(), &o, args)
		},
	}
	cmd.Flags().BoolVar(&o.explain, "explain", false, "explain each answer")
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "read checks from FILE, one a line (- for standard input)")
	addWithFlag(cmd, &o.with, "these checks")
	addMaxDepthFlag(cmd, &o.maxDepth)
	addAtFlag(cmd, &o.at)
	addConditionFlags(cmd, &o.cond)
	return cmd
}

// runCheck answers the checks of args, a file or standard input at one
// revision, prints them, and ends with exitNo when any is denied.
func (e *env) runCheck(ctx context.Context, o *checkOptions, args []string) error {
	file := o.file
	if len(args) == 1 && args[0] == "-" {
		file = "-"
	}
	var sources []querySource
	if file != "" {
		var err error
		if sources, err = e.readQueries(file); err != nil {
			return err
		}
	} else {
		for i, a := range args {
			sources = append(sources, querySource{text: a, what: ordinal(i)})
		}
	}
	ctx, reqCtx, err := o.cond.apply(ctx)
	if err != nil {
		return err
	}
	r, err := e.reader(ctx, o.at.rev)
	if err != nil {
		return err
	}
	sch := r.Schema()
	ctxTuples, err := contextualTuples(o.with, sch)
	if err != nil {
		return err
	}
	qs := make([]check.Query, 0, len(sources))
	var problems []error
	for _, src := range sources {
		q, err := src.query(sch)
		if err != nil {
			if problems = append(problems, err); len(problems) == maxProblems {
				break
			}
			continue
		}
		qs = append(qs, q)
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if len(qs) == 0 {
		return withHint("write one OBJECT#RELATION@SUBJECT a line", "%s: no checks in the file", file)
	}
	results, err := r.Check(ctx, query.CheckRequest{Checks: qs, Explain: o.explain, With: ctxTuples, MaxDepth: o.maxDepth, Context: reqCtx})
	if err != nil {
		var de *check.DepthError
		if errors.As(err, &de) {
			msg, _, _ := strings.Cut(de.Error(), "; ")
			return withHint("raise --max-depth, or look for an unintended chain of nested groups", "%s", msg)
		}
		return err
	}
	if e.json() {
		if err := writeJSON(e.stdout, map[string]any{"revision": r.Revision(), "results": results}); err != nil {
			return err
		}
	} else {
		for i, res := range results {
			verdict := "denied"
			switch {
			case res.Allowed:
				verdict = "allowed"
			case res.Conditional:
				verdict = describeMissing(res.Missing)
			}
			if !res.ValidUntil.IsZero() {
				verdict += " (until " + untilTime(res.ValidUntil) + ", when a tuple it rests on expires)"
			}
			if len(res.Excluded) > 0 {
				q := qs[i]
				verdict += fmt.Sprintf(" (the wildcard %s is granted, but not to every %s: exclusions still remove %s)",
					q.Subject, q.Subject.Type, strings.Join(res.Excluded, ", "))
			}
			if len(results) > 1 || file != "" {
				verdict = res.Query + " " + verdict
			}
			fmt.Fprintln(e.stdout, verdict)
			if res.Explanation != nil {
				for _, l := range strings.Split(res.Explanation.String(), "\n") {
					fmt.Fprintln(e.stdout, "  "+l)
				}
			}
		}
	}
	if query.IsDenied(results) {
		return exitStatus(exitNo)
	}
	if query.IsConditional(results) {
		return exitStatus(exitConditional)
	}
	return nil
}

// contextualTuples parses and checks the --with tuples against the schema.
func contextualTuples(with []string, sch *schema.Schema) ([]tuples.Tuple, error) {
	var out []tuples.Tuple
	for _, w := range with {
		t, err := tuples.Parse(w)
		if err != nil {
			return nil, argParseError("--with", w, err, "write OBJECT#RELATION@SUBJECT, e.g. case:1#deny_list@user:bob")
		}
		if err := tuples.Validate(t, sch); err != nil {
			return nil, fmt.Errorf("--with: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

func addWithFlag(cmd *cobra.Command, with *[]string, what string) {
	cmd.Flags().Var((*tupleList)(with), "with", "contextual tuple for "+what+" only, never written (repeatable)")
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
	*depth = check.DefaultMaxDepth
	cmd.Flags().Var((*positiveInt)(depth), "max-depth", "deepest chain of relations a walk may follow; deeper is an error")
}

// positiveInt is an int flag refused at parse time unless it is at least
// 1: a depth of 0 would fail every check that reads anything.
type positiveInt int

func (p *positiveInt) String() string { return strconv.Itoa(int(*p)) }

func (p *positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("must be a whole number of at least 1")
	}
	*p = positiveInt(n)
	return nil
}

func (p *positiveInt) Type() string { return "N" }

// maxProblems is how many bad checks one run reports before it stops.
const maxProblems = 20

// querySource is a check as written, with where it was written: "argument
// 2", or FILE:LINE and the column its text starts at.
type querySource struct {
	text   string
	what   string
	file   string
	line   int
	column int
}

// query parses and name-checks one check against the schema.
func (q querySource) query(sch *schema.Schema) (check.Query, error) {
	t, err := tuples.Parse(q.text)
	if err != nil {
		if q.file == "" {
			return check.Query{}, argParseError(q.what, q.text, err, "write OBJECT#RELATION@SUBJECT, e.g. case:1#viewer@user:alice")
		}
		var pe *tuples.ParseError
		if errors.As(err, &pe) {
			msg, hint, _ := strings.Cut(pe.Msg, "; ")
			return check.Query{}, withHint(hint, "%s:%d:%d: %s", q.file, q.line, q.column+pe.Column-1, msg)
		}
		return check.Query{}, fmt.Errorf("%s:%d: %w", q.file, q.line, err)
	}
	what := fmt.Sprintf("%s %q", q.what, q.text)
	if q.file != "" {
		what = fmt.Sprintf("%s:%d:%d", q.file, q.line, q.column)
	}
	subj := t.Subject()
	if err := checkNames(sch, what, t.Object(), t.Relation, &subj); err != nil {
		return check.Query{}, err
	}
	return check.Query{Object: t.Object(), Relation: t.Relation, Subject: subj}, nil
}

// readQueries reads a file of checks ("-" = standard input): one a line,
// blank lines and // comments (whole-line, or after whitespace) skipped.
func (e *env) readQueries(path string) ([]querySource, error) {
	var r io.Reader = e.stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fileError(path, err)
		}
		defer f.Close()
		r, name = f, path
	}
	var out []querySource
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		// Ids hold no whitespace, so whitespace then `//` starts a comment.
		if i := strings.Index(text, "//"); i > 0 && (text[i-1] == ' ' || text[i-1] == '\t') {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" || strings.HasPrefix(text, "//") {
			continue
		}
		col := len(raw) - len(strings.TrimLeft(raw, " \t")) + 1
		out = append(out, querySource{text: text, file: name, line: line, column: col})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}
