package cli

import (
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// checkNames reports a type or relation a query names that the schema does
// not have, with the names it does have as the hint. what says where the
// name was given ("argument 2").
func checkNames(s *schema.Schema, what string, obj tuples.Object, relation string, subj *tuples.Subject) error {
	t := s.Type(obj.Type)
	if t == nil {
		return unknownType(s, what, obj.Type)
	}
	if relation != "" && t.Relation(relation) == nil {
		return withHint("relations of "+t.Name+": "+strings.Join(t.RelationNames(), ", "),
			"%s: type %s has no relation %q", what, t.Name, relation)
	}
	if subj == nil {
		return nil
	}
	st := s.Type(subj.Type)
	if st == nil {
		return unknownType(s, what, subj.Type)
	}
	if subj.Relation != "" && st.Relation(subj.Relation) == nil {
		return withHint("relations of "+st.Name+": "+strings.Join(st.RelationNames(), ", "),
			"%s: type %s has no relation %q", what, st.Name, subj.Relation)
	}
	return nil
}

func unknownType(s *schema.Schema, what, name string) error {
	return withHint("types in the schema: "+strings.Join(s.TypeNames(), ", "),
		"%s: unknown type %q", what, name)
}

// parseObjectRelation reads OBJECT#RELATION.
func parseObjectRelation(what, s string) (tuples.Object, string, error) {
	objText, rel, ok := strings.Cut(s, "#")
	if !ok || rel == "" {
		return tuples.Object{}, "", withHint("write TYPE:ID#RELATION, e.g. case:1#viewer",
			"%s: %q is not OBJECT#RELATION", what, s)
	}
	obj, err := tuples.ParseObject(objText)
	if err != nil {
		return tuples.Object{}, "", withHint("write TYPE:ID#RELATION, e.g. case:1#viewer", "%s: %v", what, err)
	}
	return obj, rel, nil
}

// parseTypeRelation reads TYPE#RELATION.
func parseTypeRelation(what, s string) (string, string, error) {
	typ, rel, ok := strings.Cut(s, "#")
	if !ok || typ == "" || rel == "" || strings.ContainsAny(typ, ":@") {
		return "", "", withHint("write TYPE#RELATION, e.g. case#viewer",
			"%s: %q is not TYPE#RELATION", what, s)
	}
	return typ, rel, nil
}

// parseSubjectArg reads a subject: TYPE:ID, TYPE:ID#RELATION or TYPE:*.
func parseSubjectArg(what, s string) (tuples.Subject, error) {
	subj, err := tuples.ParseSubject(s)
	if err != nil {
		return subj, withHint("write TYPE:ID, TYPE:ID#RELATION or TYPE:*, e.g. user:alice",
			"%s: %v", what, err)
	}
	return subj, nil
}

// ordinal names a positional argument for error messages.
func ordinal(i int) string { return fmt.Sprintf("argument %d", i+1) }
