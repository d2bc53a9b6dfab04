package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// checkNames reports a type or relation a query names that the schema does
// not have, with the names it does have as the hint. what says where the
// name was given ("argument 2").
func checkNames(s *schema.Schema, what string, obj tuples.Object, relation string, subj *tuples.Subject) error {
	t, err := s.ResolveType(obj.Type)
	if err != nil {
		return nameError(what, err)
	}
	if relation != "" {
		if _, err := t.ResolveRelation(relation); err != nil {
			return nameError(what, err)
		}
	}
	if subj == nil {
		return nil
	}
	st, err := s.ResolveType(subj.Type)
	if err != nil {
		return nameError(what, err)
	}
	if subj.Relation != "" {
		if _, err := st.ResolveRelation(subj.Relation); err != nil {
			return nameError(what, err)
		}
	}
	return nil
}

// nameError phrases a *schema.NameError for the command line: the name,
// then as the hint the nearest name and every name there is.
func nameError(what string, err error) error {
	var ne *schema.NameError
	if !errors.As(err, &ne) {
		return fmt.Errorf("%s: %w", what, err)
	}
	listed := "types in the schema"
	msg := fmt.Sprintf("%s: unknown type %q", what, ne.Name)
	if ne.Relation {
		listed = "relations of " + ne.Type
		msg = fmt.Sprintf("%s: type %s has no relation %q", what, ne.Type, ne.Name)
		if len(ne.Known) == 0 {
			return &cliError{msg: msg, hint: "it declares none; a subject set needs a type with relations", err: err}
		}
	}
	hint := listed + ": " + ne.KnownList()
	if ne.Suggestion != "" {
		hint = fmt.Sprintf("did you mean %q? (%s)", ne.Suggestion, hint)
	}
	return &cliError{msg: msg, hint: hint, err: err}
}

// objectRelationAt reads the OBJECT#RELATION argument of expand and
// lookup subjects and checks its names against the schema of the snapshot
// at rev, whose reader it returns.
func (e *env) objectRelationAt(ctx context.Context, rev tuples.Revision, arg string) (*query.Reader, tuples.Object, string, error) {
	obj, rel, err := parseObjectRelation("argument 1", arg)
	if err != nil {
		return nil, obj, "", err
	}
	r, err := e.reader(ctx, rev)
	if err != nil {
		return nil, obj, "", err
	}
	if err := checkNames(r.Schema(), fmt.Sprintf("argument 1 %q", arg), obj, rel, nil); err != nil {
		return nil, obj, "", err
	}
	return r, obj, rel, nil
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
