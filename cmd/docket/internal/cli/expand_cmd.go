package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// expandOptions are the flags of expand.
type expandOptions struct {
	depth  int
	with   []string
	at     revisionValue
	format choice
	now    nowFlag
}

func newExpandCmd(e *env) *cobra.Command {
	o := expandOptions{format: newChoice("tree", "tree", "json", "dot")}
	format := &o.format
	cmd := &cobra.Command{
		Use:   "expand OBJECT#RELATION",
		Short: "Show the userset tree of a relation on an object",
		Long: `Show who holds RELATION on OBJECT as a tree: union, intersection and
exclusion nodes over leaves that are subjects or subject sets, each marked
with the relation or rule it came from.

By default subject sets (team:east#member) are leaves; --depth N expands them
into their own trees, N levels deep. Output is an indented tree, JSON, or
Graphviz dot (--output dot | dot -Tsvg > tree.svg). --with adds contextual
tuples for this expansion only, as for check: "who would see the case if
team west were on its access list?"`,
		Example: `  docket expand case:1#viewer
  docket expand case:1#viewer --depth 5
  docket expand case:1#viewer --output json
  docket expand case:1#viewer --depth 5 --output dot | dot -Tsvg > viewer.svg
  docket expand case:1#viewer --with case:1#access_list@team:west#member`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeArgs(shapeObjectRelation),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runExpand(cmd.Context(), &o, args[0])
		},
	}
	// This --output shadows the global one: a tree has three renderings.
	cmd.Flags().VarP(format, "output", "o", "output format: tree, json or dot")
	_ = cmd.RegisterFlagCompletionFunc("output", format.complete)
	cmd.Flags().IntVar(&o.depth, "depth", 0, "expand nested subject sets this many levels (0 = show them as leaves)")
	addWithFlag(cmd, &o.with, "this expansion")
	addAtFlag(cmd, &o.at)
	addNowFlag(cmd, &o.now)
	return cmd
}

// runExpand prints the tree of objRel ("OBJECT#RELATION").
func (e *env) runExpand(ctx context.Context, o *expandOptions, objRel string) error {
	if o.depth < 0 {
		return withHint("use 0 to show subject sets as leaves", "--depth %d: must not be negative", o.depth)
	}
	ctx, err := o.now.apply(ctx)
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
	tree, err := r.Expand(ctx, query.ExpandRequest{Object: obj, Relation: rel, With: ctxTuples,
		Options: expand.Options{Recursive: o.depth > 0, Depth: o.depth}})
	if err != nil {
		return err
	}
	switch o.format.value {
	case "json":
		return writeJSON(e.stdout, withRevision(tree, r.Revision()))
	case "dot":
		_, err = fmt.Fprint(e.stdout, expand.DOT(tree))
	default:
		_, err = fmt.Fprintln(e.stdout, tree.String())
	}
	return err
}

// withRevision adds "revision" beside the fields of v's JSON object, as
// every JSON output carries the revision it answers at, while the tree
// keeps the shape a reader of the tree expects.
func withRevision(v any, rev tuples.Revision) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return v
	}
	fields["revision"], _ = json.Marshal(rev)
	return fields
}
