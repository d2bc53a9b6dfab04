package cli

import (
	"context"
	"errors"
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
		return unknownRelation(t, what, relation)
	}
	if subj == nil {
		return nil
	}
	st := s.Type(subj.Type)
	if st == nil {
		return unknownType(s, what, subj.Type)
	}
	if subj.Relation != "" && st.Relation(subj.Relation) == nil {
		return unknownRelation(st, what, subj.Relation)
	}
	return nil
}

func unknownType(s *schema.Schema, what, name string) error {
	names := s.TypeNames()
	return withHint(didYouMean(name, names, "types in the schema"), "%s: unknown type %q", what, name)
}

func unknownRelation(t *schema.Type, what, name string) error {
	names := t.RelationNames()
	if len(names) == 0 {
		return withHint("it declares none; a subject set needs a type with relations",
			"%s: type %s has no relation %q", what, t.Name, name)
	}
	return withHint(didYouMean(name, names, "relations of "+t.Name), "%s: type %s has no relation %q", what, t.Name, name)
}

// didYouMean suggests the nearest name when one is a plausible typo, and
// lists them all otherwise.
func didYouMean(name string, names []string, listed string) string {
	if near := schema.Closest(name, names); near != "" {
		return fmt.Sprintf("did you mean %q? (%s: %s)", near, listed, strings.Join(names, ", "))
	}
	return listed + ": " + strings.Join(names, ", ")
}

// objectRelationAt reads the OBJECT#RELATION argument of expand and
// lookup subjects and checks its names against the schema of the snapshot
// at rev, which it returns.
func (e *env) objectRelationAt(ctx context.Context, rev tuples.Revision, arg string) (tuples.Snapshot, tuples.Object, string, error) {
	obj, rel, err := parseObjectRelation("argument 1", arg)
	if err != nil {
		return nil, obj, "", err
	}
	snap, err := e.snapshot(ctx, rev)
	if err != nil {
		return nil, obj, "", err
	}
	if err := checkNames(snap.Schema(), fmt.Sprintf("argument 1 %q", arg), obj, rel, nil); err != nil {
		return nil, obj, "", err
	}
	return snap, obj, rel, nil
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
		return subj, argParseError(what, s, err, "write TYPE:ID, TYPE:ID#RELATION or TYPE:*, e.g. user:alice")
	}
	return subj, nil
}

// argParseError reports a malformed argument as `what "text": column N:
// message`, with hint unless the parser's message already ends in advice.
func argParseError(what, text string, err error, hint string) error {
	var pe *tuples.ParseError
	if !errors.As(err, &pe) {
		return withHint(hint, "%s %q: %v", what, text, err)
	}
	msg, own, ok := strings.Cut(pe.Msg, "; ")
	if ok {
		hint = own
	}
	return withHint(hint, "%s %q: column %d: %s", what, text, pe.Column, msg)
}

// ordinal names a positional argument for error messages.
func ordinal(i int) string { return fmt.Sprintf("argument %d", i+1) }
