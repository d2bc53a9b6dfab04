package tuples

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
)

// ValidationError says why a tuple may not be written.
type ValidationError struct {
	Tuple Tuple
	// Pos is "FILE:LINE" when the tuple came from a file, else "".
	Pos string
	Msg string
}

// Is makes a ValidationError match errkind.ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == errkind.ErrInvalid }

func (e *ValidationError) Error() string {
	if e.Pos != "" {
		return fmt.Sprintf("%s: %s: %s", e.Pos, e.Tuple, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Tuple, e.Msg)
}

// Validate checks a tuple, with the payload it carries, against a schema
// before it is written: the ids and names must be well formed, the type
// and relation must exist, the relation must be stored, and the subject
// must be one the relation allows, with the tuple's condition and expiry
// (see ValidateWithPayload).
func Validate(t Tuple, s *schema.Schema) error {
	return ValidateWithPayload(t, t.Payload, s)
}

// ValidateWithPayload is Validate for a tuple carrying a payload: the
// relation must allow the subject with that condition (or without one)
// and, when the tuple expires, with expiration; the stored context may
// name only the condition's parameters, each with a value of its type.
// An expiry already past is accepted: the tuple is invisible at once.
func ValidateWithPayload(t Tuple, p Payload, s *schema.Schema) error {
	if s == nil {
		return fmt.Errorf("%s: %w", t, ErrNoSchema)
	}
	if msg := checkSyntax(t); msg != "" {
		return &ValidationError{Tuple: t, Msg: msg}
	}
	fail := func(format string, args ...any) error {
		return &ValidationError{Tuple: t, Msg: fmt.Sprintf(format, args...)}
	}
	typ, err := s.ResolveType(t.ObjectType)
	if err != nil {
		return fail("%v", err)
	}
	rel, err := typ.ResolveRelation(t.Relation)
	if err != nil {
		return fail("%v", err)
	}
	if !rel.Stored {
		return fail("relation %s is computed and holds no tuples; write to one of its stored relations (%s)", rel, storedNames(typ))
	}
	st, err := s.ResolveType(t.SubjectType)
	if err != nil {
		return fail("unknown subject type %q%s", t.SubjectType, didYouMean(err))
	}
	var sr *schema.Relation
	if t.SubjectRelation != "" {
		if sr, err = st.ResolveRelation(t.SubjectRelation); err != nil {
			return fail("%v", err)
		}
	}
	wild := t.SubjectID == Wildcard
	what := t.SubjectType
	switch {
	case wild:
		what = t.SubjectType + ":*"
	case sr != nil:
		what = t.SubjectType + "#" + t.SubjectRelation
	}
	if !rel.Allows(st, sr, wild) {
		return fail("relation %s does not allow subject %s; it allows %s", rel, what, rel.AllowedString())
	}
	var cond *schema.Condition
	if p.Condition != "" {
		if cond = s.Condition(p.Condition); cond == nil {
			return fail("unknown condition %q%s", p.Condition, suggest(p.Condition, s.ConditionNames()))
		}
	} else if p.Context != "" {
		return fail("the tuple has a context but no condition; write [CONDITION:{...}]")
	}
	expiring := !p.Expires.IsZero()
	if !rel.AllowsTuple(st, sr, wild, p.Condition, expiring) {
		form := what
		switch {
		case p.Condition != "" && expiring:
			form += " with " + p.Condition + " and expiration"
		case p.Condition != "":
			form += " with " + p.Condition
		case expiring:
			form += " with expiration"
		}
		hint := ""
		if p.Condition == "" && rel.AllowsTuple(st, sr, wild, conditionOf(rel, st, sr, wild), expiring) {
			hint = fmt.Sprintf("; add the condition: [%s]", conditionOf(rel, st, sr, wild))
		}
		return fail("relation %s does not allow subject %s; it allows %s%s", rel, form, rel.AllowedString(), hint)
	}
	if cond != nil && p.Context != "" {
		ctx, err := DecodePayloadContext(p)
		if err != nil {
			return fail("context: %v", err)
		}
		if err := cond.Program.CheckStored(ctx); err != nil {
			return fail("%v", err)
		}
	}
	return nil
}

// conditionOf returns a condition the relation requires for this subject
// form, or "".
func conditionOf(rel *schema.Relation, st *schema.Type, sr *schema.Relation, wild bool) string {
	for _, a := range rel.Allowed {
		if a.Type == st && a.Relation == sr && a.Wildcard == wild && a.Condition != nil {
			return a.Condition.Name
		}
	}
	return ""
}

// checkSyntax checks names and ids of a tuple built in code rather than
// parsed, so that nothing malformed reaches a store.
func checkSyntax(t Tuple) string {
	var p parser
	check := func(s, what string) bool {
		p.in = s
		_, ok := p.name(0, len(s), what)
		return ok
	}
	if !check(t.ObjectType, "type") || !check(t.Relation, "relation") || !check(t.SubjectType, "subject type") ||
		(t.SubjectRelation != "" && !check(t.SubjectRelation, "subject relation")) {
		var pe *ParseError
		errors.As(p.err, &pe)
		return pe.Msg
	}
	if msg, _ := checkID(t.ObjectID); msg != "" {
		return "object " + msg
	}
	if t.ObjectID == Wildcard {
		return "the wildcard `*` is allowed only as a subject id"
	}
	if msg, _ := checkID(t.SubjectID); msg != "" {
		return "subject " + msg
	}
	if t.SubjectID == Wildcard && t.SubjectRelation != "" {
		return "a wildcard subject takes no relation"
	}
	return ""
}

func storedNames(t *schema.Type) string {
	var names []string
	for _, r := range t.Relations {
		if r.Stored {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return "none on " + t.Name
	}
	return strings.Join(names, ", ")
}

// suggest formats schema.Closest's suggestion among candidates.
func suggest(name string, candidates []string) string {
	if best := schema.Closest(name, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// didYouMean is the suggestion of a *schema.NameError for a message.
func didYouMean(err error) string {
	var ne *schema.NameError
	if errors.As(err, &ne) && ne.Suggestion != "" {
		return fmt.Sprintf("; did you mean %q?", ne.Suggestion)
	}
	return ""
}
