package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func newLookupCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lookup",
		Short: "List the objects a subject reaches, or the subjects of a relation",
		Long: `lookup resources lists the objects on which a subject holds a relation;
lookup subjects lists who holds a relation on an object.`,
		Example: `  docket lookup resources user:alice case#viewer
  docket lookup subjects case:1#viewer --type user`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLookupResourcesCmd(e), newLookupSubjectsCmd(e))
	return cmd
}

// resourcesOptions are the flags of lookup resources.
type resourcesOptions struct {
	limit    int
	cursor   string
	with     []string
	at       revisionValue
	cond     conditionFlags
	maxDepth int
}

func newLookupResourcesCmd(e *env) *cobra.Command {
	var o resourcesOptions
	cmd := &cobra.Command{
		Use:   "resources SUBJECT TYPE#RELATION",
		Short: "List the objects of a type on which a subject holds a relation",
		Long: `List, in order of id, every object of TYPE on which SUBJECT holds RELATION,
including objects granted to everyone through a wildcard. With --limit N at
most N are printed; when more remain, the cursor to continue from is printed
on stderr (and as next_cursor in JSON), so a result is never cut short
silently. --with adds contextual tuples for this lookup only, as for check.

Tuples may carry conditions and expiries. --context (or --context-file) gives
the conditions' parameters, as for check; an object on which the subject holds
the relation only if parameters neither gives allow it is printed with
"conditional (missing ...)" after it, in its place in the order (JSON: in the
conditional list, with missing). --now sets the clock that decides which
tuples have expired.

Exit status: 0 when every object printed is a member for certain, 3 when some
is conditional, 2 on error.`,
		Example: `  docket lookup resources user:alice case#viewer
  docket lookup resources team:east#member case#viewer
  docket lookup resources user:alice case#viewer --limit 100
  docket lookup resources user:alice case#viewer --limit 100 --cursor CURSOR
  docket lookup resources user:carol case#viewer --with case:9#assignee@user:carol
  docket lookup resources user:bob case#viewer --context '{"now":"2027-01-20T00:00:00Z"}'`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: e.completeArgs(shapeSubject, shapeTypeRelation),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runLookupResources(cmd.Context(), &o, args[0], args[1])
		},
	}
	cmd.Flags().IntVar(&o.limit, "limit", 0, "print at most N objects (0 = all)")
	cmd.Flags().StringVar(&o.cursor, "cursor", "", "continue after the page that printed this cursor")
	addWithFlag(cmd, &o.with, "this lookup")
	addMaxDepthFlag(cmd, &o.maxDepth)
	addAtFlag(cmd, &o.at)
	addConditionFlags(cmd, &o.cond)
	return cmd
}

// runLookupResources prints the objects of typeRel ("TYPE#RELATION") on
// which subjArg holds the relation, a page at a time.
func (e *env) runLookupResources(ctx context.Context, o *resourcesOptions, subjArg, typeRel string) error {
	if o.limit < 0 {
		return withHint("use 0 for no limit", "--limit %d: must not be negative", o.limit)
	}
	subj, err := parseSubjectArg("argument 1", subjArg)
	if err != nil {
		return err
	}
	typ, rel, err := parseTypeRelation("argument 2", typeRel)
	if err != nil {
		return err
	}
	ctx, reqCtx, err := o.cond.apply(ctx)
	if err != nil {
		return err
	}
	r, err := e.reader(ctx, o.at.rev)
	if err != nil {
		return err
	}
	if err := checkNames(r.Schema(), fmt.Sprintf("argument 2 %q", typeRel), tuples.Object{Type: typ}, rel, nil); err != nil {
		return err
	}
	if err := checkNames(r.Schema(), fmt.Sprintf("argument 1 %q", subjArg), tuples.Object{Type: subj.Type}, subj.Relation, nil); err != nil {
		return err
	}
	ctxTuples, err := contextualTuples(o.with, r.Schema())
	if err != nil {
		return err
	}
	// conditionalResource is one conditional member, in JSON.
	type conditionalResource struct {
		Resource string   `json:"resource"`
		Missing  []string `json:"missing"`
	}
	var found []string
	var conditional []conditionalResource
	next, err := r.LookupResourceResults(ctx, query.ResourcesRequest{
		Subject: subj, Type: typ, Relation: rel, Limit: o.limit, Cursor: o.cursor, With: ctxTuples, MaxDepth: o.maxDepth, Context: reqCtx,
	}, func(res check.ResourceResult) bool {
		if res.Conditional {
			conditional = append(conditional, conditionalResource{res.Object.String(), nonNil(res.Missing)})
		} else {
			found = append(found, res.Object.String())
		}
		if !e.json() {
			line := res.Object.String()
			if res.Conditional {
				line += " " + describeMissing(res.Missing)
			}
			fmt.Fprintln(e.stdout, line)
		}
		return true
	})
	if err != nil {
		return err
	}
	if e.json() {
		if err := writeJSON(e.stdout, struct {
			Revision    tuples.Revision       `json:"revision"`
			Resources   []string              `json:"resources"`
			Conditional []conditionalResource `json:"conditional"`
			NextCursor  string                `json:"next_cursor,omitempty"`
		}{r.Revision(), nonNil(found), nonNil(conditional), next}); err != nil {
			return err
		}
	} else if next != "" {
		fmt.Fprintf(e.stderr, "more resources: continue with --cursor %s\n", next)
	}
	if len(conditional) > 0 {
		return exitStatus(exitConditional)
	}
	return nil
}

// subjectsOptions are the flags of lookup subjects.
type subjectsOptions struct {
	typ      string
	with     []string
	at       revisionValue
	cond     conditionFlags
	maxDepth int
	limit    int
	cursor   string
}

func newLookupSubjectsCmd(e *env) *cobra.Command {
	var o subjectsOptions
	cmd := &cobra.Command{
		Use:   "subjects OBJECT#RELATION [--type TYPE|TYPE#RELATION]",
		Short: "List who holds a relation on an object",
		Long: `List the subjects that hold RELATION on OBJECT, with groups expanded down to
their members. A granted wildcard prints as TYPE:* followed by the subjects
an exclusion still leaves out: user:* - {user:mallory}.

--type user lists only subjects of type user; --type team#member lists the
subject sets team:ID#member that are reached. --with adds contextual tuples
for this lookup only, as for check.

Tuples may carry conditions and expiries. --context (or --context-file) gives
the conditions' parameters, as for check; a subject that holds the relation
only if parameters neither gives allow it is printed with "conditional
(missing ...)" after it (JSON: in the conditional list, with missing). A
conditional wildcard prints as TYPE:* with the subjects it leaves out, then
"conditional (missing ...)". --now sets the clock that decides which tuples
have expired.

Exit status: 0 when every subject printed is a member for certain, 3 when some
is conditional, 2 on error.`,
		Example: `  docket lookup subjects case:1#viewer
  docket lookup subjects case:1#viewer --type user
  docket lookup subjects case:1#viewer --type team#member --output json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeArgs(shapeObjectRelation),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runLookupSubjects(cmd.Context(), &o, args[0])
		},
	}
	cmd.Flags().StringVar(&o.typ, "type", "", "only subjects of TYPE, or only subject sets TYPE#RELATION")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "print at most N subjects (0 = all)")
	cmd.Flags().StringVar(&o.cursor, "cursor", "", "continue after the page that printed this cursor")
	addWithFlag(cmd, &o.with, "this lookup")
	addMaxDepthFlag(cmd, &o.maxDepth)
	addAtFlag(cmd, &o.at)
	addConditionFlags(cmd, &o.cond)
	return cmd
}

// runLookupSubjects prints who holds the relation of objRel
// ("OBJECT#RELATION"), a page at a time.
func (e *env) runLookupSubjects(ctx context.Context, o *subjectsOptions, objRel string) error {
	if o.limit < 0 {
		return withHint("use 0 for no limit", "--limit %d: must not be negative", o.limit)
	}
	after, err := decodeSubjectCursor(o.cursor)
	if err != nil {
		return err
	}
	ctx, reqCtx, err := o.cond.apply(ctx)
	if err != nil {
		return err
	}
	r, obj, rel, err := e.objectRelationAt(ctx, o.at.rev, objRel)
	if err != nil {
		return err
	}
	ctxTuples, err := contextualTuples(o.with, r.Schema())
	if err != nil {
		return err
	}
	req := query.SubjectsRequest{Object: obj, Relation: rel, With: ctxTuples, MaxDepth: o.maxDepth, Context: reqCtx}
	if o.typ != "" {
		req.Type, req.SubjectRelation, _ = strings.Cut(o.typ, "#")
		if err := checkNames(r.Schema(), "--type "+o.typ, tuples.Object{Type: req.Type}, req.SubjectRelation, nil); err != nil {
			return err
		}
	}
	res, err := r.LookupSubjectResults(ctx, req)
	if err != nil {
		return err
	}
	// Pages follow the subjects' text order. Each page runs the whole
	// lookup: the cursor saves printing, not the walk.
	slices.SortFunc(res, func(a, b check.SubjectResult) int { return strings.Compare(a.Subject.String(), b.Subject.String()) })
	if after != "" {
		i, _ := slices.BinarySearchFunc(res, after, func(r check.SubjectResult, key string) int {
			if c := strings.Compare(r.Subject.String(), key); c != 0 {
				return c
			}
			return -1 // the cursor's own subject was printed: start after it
		})
		res = res[i:]
	}
	next := ""
	if o.limit > 0 && len(res) > o.limit {
		res = res[:o.limit]
		next = encodeSubjectCursor(res[o.limit-1].Subject.String())
	}
	var certain, conditional []check.SubjectResult
	for _, s := range res {
		if s.Conditional {
			conditional = append(conditional, s)
		} else {
			certain = append(certain, s)
		}
	}
	if e.json() {
		if err := writeJSON(e.stdout, struct {
			Revision    tuples.Revision       `json:"revision"`
			Subjects    []check.SubjectResult `json:"subjects"`
			Conditional []check.SubjectResult `json:"conditional"`
			NextCursor  string                `json:"next_cursor,omitempty"`
		}{r.Revision(), nonNil(certain), nonNil(conditional), next}); err != nil {
			return err
		}
	} else {
		for _, s := range res {
			line := s.String()
			if s.Conditional {
				line += " " + describeMissing(s.Missing)
			}
			fmt.Fprintln(e.stdout, line)
		}
		if next != "" {
			fmt.Fprintf(e.stderr, "more subjects: continue with --cursor %s\n", next)
		}
	}
	if len(conditional) > 0 {
		return exitStatus(exitConditional)
	}
	return nil
}

const subjectCursorPrefix = "s1:"

func encodeSubjectCursor(subject string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(subjectCursorPrefix + subject))
}

func decodeSubjectCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), subjectCursorPrefix) {
		return "", withHint("pass back exactly the cursor a previous lookup subjects printed", "invalid cursor %q", c)
	}
	return strings.TrimPrefix(string(b), subjectCursorPrefix), nil
}

// nonNil makes an empty result print as [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
