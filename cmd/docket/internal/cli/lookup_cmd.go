package cli

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/check"
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

func newLookupResourcesCmd(e *env) *cobra.Command {
	var (
		limit    int
		cursor   string
		with     []string
		at       revisionValue
		maxDepth int
	)
	cmd := &cobra.Command{
		Use:   "resources SUBJECT TYPE#RELATION",
		Short: "List the objects of a type on which a subject holds a relation",
		Long: `List, in order of id, every object of TYPE on which SUBJECT holds RELATION,
including objects granted to everyone through a wildcard. With --limit N at
most N are printed; when more remain, the cursor to continue from is printed
on stderr (and as next_cursor in JSON), so a result is never cut short
silently. --with adds contextual tuples for this lookup only, as for check.`,
		Example: `  docket lookup resources user:alice case#viewer
  docket lookup resources team:east#member case#viewer
  docket lookup resources user:alice case#viewer --limit 100
  docket lookup resources user:alice case#viewer --limit 100 --cursor CURSOR
  docket lookup resources user:carol case#viewer --with case:9#assignee@user:carol`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: e.completeArgs(shapeSubject, shapeTypeRelation),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if limit < 0 {
				return withHint("use 0 for no limit", "--limit %d: must not be negative", limit)
			}
			subj, err := parseSubjectArg("argument 1", args[0])
			if err != nil {
				return err
			}
			typ, rel, err := parseTypeRelation("argument 2", args[1])
			if err != nil {
				return err
			}
			snap, err := e.snapshot(ctx, at.rev)
			if err != nil {
				return err
			}
			if err := checkNames(snap.Schema(), fmt.Sprintf("argument 2 %q", args[1]), tuples.Object{Type: typ}, rel, nil); err != nil {
				return err
			}
			if err := checkNames(snap.Schema(), fmt.Sprintf("argument 1 %q", args[0]), tuples.Object{Type: subj.Type}, subj.Relation, nil); err != nil {
				return err
			}
			ctxTuples, err := contextualTuples(with, snap.Schema())
			if err != nil {
				return err
			}
			var found []string
			checker := check.New(check.Options{MaxDepth: maxDepth, CacheSize: -1})
			next, err := checker.LookupResources(ctx, snap, check.ResourceQuery{
				Subject: subj, Type: typ, Relation: rel, Limit: limit, Cursor: cursor, Context: ctxTuples,
			}, func(o tuples.Object) bool {
				if !e.json() {
					fmt.Fprintln(e.stdout, o.String())
				}
				found = append(found, o.String())
				return true
			})
			if err != nil {
				return err
			}
			if e.json() {
				return writeJSON(e.stdout, struct {
					Revision   tuples.Revision `json:"revision"`
					Resources  []string        `json:"resources"`
					NextCursor string          `json:"next_cursor,omitempty"`
				}{snap.Revision(), nonNil(found), next})
			}
			if next != "" {
				fmt.Fprintf(e.stderr, "more resources: continue with --cursor %s\n", next)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most N objects (0 = all)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor")
	addWithFlag(cmd, &with, "this lookup")
	addMaxDepthFlag(cmd, &maxDepth)
	addAtFlag(cmd, &at)
	return cmd
}

func newLookupSubjectsCmd(e *env) *cobra.Command {
	var (
		typ      string
		with     []string
		at       revisionValue
		maxDepth int
		limit    int
		cursor   string
	)
	cmd := &cobra.Command{
		Use:   "subjects OBJECT#RELATION [--type TYPE|TYPE#RELATION]",
		Short: "List who holds a relation on an object",
		Long: `List the subjects that hold RELATION on OBJECT, with groups expanded down to
their members. A granted wildcard prints as TYPE:* followed by the subjects
an exclusion still leaves out: user:* - {user:mallory}.

--type user lists only subjects of type user; --type team#member lists the
subject sets team:ID#member that are reached. --with adds contextual tuples
for this lookup only, as for check.`,
		Example: `  docket lookup subjects case:1#viewer
  docket lookup subjects case:1#viewer --type user
  docket lookup subjects case:1#viewer --type team#member --output json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeArgs(shapeObjectRelation),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			snap, obj, rel, err := e.objectRelationAt(ctx, at.rev, args[0])
			if err != nil {
				return err
			}
			ctxTuples, err := contextualTuples(with, snap.Schema())
			if err != nil {
				return err
			}
			q := check.SubjectQuery{Object: obj, Relation: rel, Context: ctxTuples}
			if typ != "" {
				q.Type, q.SubjectRelation, _ = strings.Cut(typ, "#")
				if err := checkNames(snap.Schema(), "--type "+typ, tuples.Object{Type: q.Type}, q.SubjectRelation, nil); err != nil {
					return err
				}
			}
			if limit < 0 {
				return withHint("use 0 for no limit", "--limit %d: must not be negative", limit)
			}
			after, err := decodeSubjectCursor(cursor)
			if err != nil {
				return err
			}
			checker := check.New(check.Options{MaxDepth: maxDepth, CacheSize: -1})
			res, err := checker.LookupSubjects(ctx, snap, q)
			if err != nil {
				return err
			}
			// Pages follow the subjects' text order. Each page runs the
			// whole lookup: the cursor saves printing, not the walk.
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
			if limit > 0 && len(res) > limit {
				res = res[:limit]
				next = encodeSubjectCursor(res[limit-1].Subject.String())
			}
			if e.json() {
				return writeJSON(e.stdout, struct {
					Revision   tuples.Revision       `json:"revision"`
					Subjects   []check.SubjectResult `json:"subjects"`
					NextCursor string                `json:"next_cursor,omitempty"`
				}{snap.Revision(), nonNil(res), next})
			}
			for _, r := range res {
				fmt.Fprintln(e.stdout, r.String())
			}
			if next != "" {
				fmt.Fprintf(e.stderr, "more subjects: continue with --cursor %s\n", next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "only subjects of TYPE, or only subject sets TYPE#RELATION")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most N subjects (0 = all)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor")
	addWithFlag(cmd, &with, "this lookup")
	addMaxDepthFlag(cmd, &maxDepth)
	addAtFlag(cmd, &at)
	return cmd
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
