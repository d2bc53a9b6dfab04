package schema

import (
	"fmt"
	"strings"

	"github.com/docketdb/docket/errkind"
)

// NameError says that a name given in a request, a tuple or a query is
// not in the schema: which name, on which type for a relation, the names
// that do exist and the nearest of them when it is a plausible typo. It
// matches errkind.ErrUnknownName under errors.Is. Callers phrase it for
// their readers from its fields; Error is the plain form.
type NameError struct {
	// Relation is set for a relation name, clear for a type name.
	Relation bool
	Name     string
	// Type is the type a relation was looked up on.
	Type string
	// Known are the names that exist (the schema's types, or the type's
	// relations); Suggestion is the nearest of them, "" when none is near.
	Known      []string
	Suggestion string
}

func (e *NameError) Error() string {
	var s string
	if e.Relation {
		s = fmt.Sprintf("type %s has no relation %q", e.Type, e.Name)
	} else {
		s = fmt.Sprintf("unknown type %q", e.Name)
	}
	if e.Suggestion != "" {
		s += fmt.Sprintf("; did you mean %q?", e.Suggestion)
	}
	return s
}

// Is makes a NameError match errkind.ErrUnknownName.
func (e *NameError) Is(target error) bool { return target == errkind.ErrUnknownName }

// KnownList is Known joined for a message: "a, b, c".
func (e *NameError) KnownList() string { return strings.Join(e.Known, ", ") }

// ResolveType returns the type called name or a *NameError.
func (s *Schema) ResolveType(name string) (*Type, error) {
	if t := s.Type(name); t != nil {
		return t, nil
	}
	known := s.TypeNames()
	return nil, &NameError{Name: name, Known: known, Suggestion: Closest(name, known)}
}

// ResolveRelation returns the relation name of t or a *NameError.
func (t *Type) ResolveRelation(name string) (*Relation, error) {
	if r := t.Relation(name); r != nil {
		return r, nil
	}
	known := t.RelationNames()
	return nil, &NameError{Relation: true, Name: name, Type: t.Name, Known: known, Suggestion: Closest(name, known)}
}

// ResolveRelation returns relation rel of type typ, or the *NameError of
// whichever name is unknown.
func (s *Schema) ResolveRelation(typ, rel string) (*Relation, error) {
	t, err := s.ResolveType(typ)
	if err != nil {
		return nil, err
	}
	return t.ResolveRelation(rel)
}
