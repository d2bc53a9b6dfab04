package cli

import (
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/spf13/cobra"
)

// Shapes of positional arguments that shell completion knows how to fill
// from the stored schema: type and relation names (ids are not listed).
type argShape int

const (
	shapeTuple          argShape = iota // OBJECT#RELATION@SUBJECT
	shapeObjectRelation                 // OBJECT#RELATION
	shapeTypeRelation                   // TYPE#RELATION
	shapeSubject                        // TYPE:ID[#RELATION]
)

// completeArgs completes the positional arguments of a command; shapes[i]
// is the shape of argument i, the last one repeating.
func (e *env) completeArgs(shapes ...argShape) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		none := cobra.ShellCompDirectiveNoFileComp
		shape := shapes[len(shapes)-1]
		if len(args) < len(shapes) {
			shape = shapes[len(args)]
		}
		snap, err := e.snapshot(cmd.Context(), 0)
		if err != nil {
			return nil, none
		}
		return completeShape(snap.Schema(), shape, toComplete)
	}
}

func completeShape(s *schema.Schema, shape argShape, in string) ([]string, cobra.ShellCompDirective) {
	more := cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	done := cobra.ShellCompDirectiveNoFileComp
	switch shape {
	case shapeTypeRelation:
		typ, _, ok := strings.Cut(in, "#")
		if !ok {
			return withSuffix("", s.TypeNames(), "#"), more
		}
		return relationsOf(s, typ, typ+"#", ""), done
	case shapeSubject:
		return completeSubject(s, "", in)
	}
	obj, rest, ok := strings.Cut(in, "#")
	if !ok {
		if strings.Contains(in, ":") {
			return nil, done // an id: not listed
		}
		return withSuffix("", s.TypeNames(), ":"), more
	}
	typ, _, _ := strings.Cut(obj, ":")
	if shape == shapeObjectRelation {
		return relationsOf(s, typ, obj+"#", ""), done
	}
	if _, subj, ok := strings.Cut(rest, "@"); ok {
		return completeSubject(s, in[:len(in)-len(subj)], subj)
	}
	return relationsOf(s, typ, obj+"#", "@"), more
}

// completeSubject completes TYPE:ID[#RELATION] after prefix.
func completeSubject(s *schema.Schema, prefix, in string) ([]string, cobra.ShellCompDirective) {
	head, _, ok := strings.Cut(in, "#")
	if ok {
		typ, _, _ := strings.Cut(head, ":")
		return relationsOf(s, typ, prefix+head+"#", ""), cobra.ShellCompDirectiveNoFileComp
	}
	if strings.Contains(in, ":") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withSuffix(prefix, s.TypeNames(), ":"), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

func relationsOf(s *schema.Schema, typ, prefix, suffix string) []string {
	t := s.Type(typ)
	if t == nil {
		return nil
	}
	return withSuffix(prefix, t.RelationNames(), suffix)
}

func withSuffix(prefix string, names []string, suffix string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n + suffix
	}
	return out
}
