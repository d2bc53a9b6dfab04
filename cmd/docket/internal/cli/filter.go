package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// filterFlags are the tuple filters shared by `tuple read` and
// `tuple delete`.
type filterFlags struct{ f tuples.Filter }

func (ff *filterFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&ff.f.ObjectType, "object-type", "", "only tuples whose object has this type")
	fs.StringVar(&ff.f.ObjectID, "object-id", "", "only tuples whose object has this id")
	fs.StringVar(&ff.f.Relation, "relation", "", "only tuples of this relation")
	fs.StringVar(&ff.f.SubjectType, "subject-type", "", "only tuples whose subject has this type")
	fs.StringVar(&ff.f.SubjectID, "subject-id", "", "only tuples whose subject has this id (* for wildcards)")
	fs.StringVar(&ff.f.SubjectRelation, "subject-relation", "", "only tuples whose subject is a subject set of this relation")
}

func (ff *filterFlags) empty() bool { return ff.f == tuples.Filter{} }

// parsePartial reads a partial tuple used as a filter:
// TYPE[:ID][#RELATION[@SUBJECT]] where SUBJECT is TYPE[:ID[#RELATION]].
// With no `#`, an `@` ends the object, so an object id holding `@` needs
// --object-id instead.
func parsePartial(s string) (tuples.Filter, error) {
	var f tuples.Filter
	bad := func(msg string) error {
		return withHint("write TYPE[:ID][#RELATION[@SUBJECT]], e.g. case:1#viewer or case#viewer@user:alice",
			"partial tuple %q: %s", s, msg)
	}
	objPart, rest := s, ""
	hasRel := false
	if i := strings.IndexByte(s, '#'); i >= 0 {
		objPart, rest, hasRel = s[:i], s[i+1:], true
	} else if i := strings.IndexByte(s, '@'); i >= 0 {
		objPart, rest = s[:i], "@"+s[i+1:]
	}
	typ, id, _ := strings.Cut(objPart, ":")
	if typ == "" {
		return f, bad("missing object type")
	}
	f.ObjectType, f.ObjectID = typ, id
	if strings.Contains(objPart, ":") && id == "" {
		return f, bad("empty object id after `:`")
	}
	subj := ""
	if hasRel {
		rel, after, hasSubj := strings.Cut(rest, "@")
		if rel == "" && !hasSubj {
			return f, bad("empty relation after `#`")
		}
		f.Relation = rel
		if hasSubj {
			subj = after
			if subj == "" {
				return f, bad("empty subject after `@`")
			}
		}
	} else if rest != "" {
		subj = rest[1:]
		if subj == "" {
			return f, bad("empty subject after `@`")
		}
	}
	if subj != "" {
		st, sidRel, _ := strings.Cut(subj, ":")
		if st == "" {
			return f, bad("missing subject type")
		}
		f.SubjectType = st
		sid, srel, _ := strings.Cut(sidRel, "#")
		f.SubjectID, f.SubjectRelation = sid, srel
	}
	return f, nil
}

// mergeFilter combines a partial tuple with the filter flags; a field set
// both ways must agree.
func mergeFilter(a, b tuples.Filter) (tuples.Filter, error) {
	pick := func(name, x, y string) (string, error) {
		if x != "" && y != "" && x != y {
			return "", withHint("give it once", "conflicting filters: %s is %q in the partial tuple and %q in --%s", name, x, y, name)
		}
		if x != "" {
			return x, nil
		}
		return y, nil
	}
	var out tuples.Filter
	var err error
	for _, p := range []struct {
		name      string
		dst       *string
		from, and string
	}{
		{"object-type", &out.ObjectType, a.ObjectType, b.ObjectType},
		{"object-id", &out.ObjectID, a.ObjectID, b.ObjectID},
		{"relation", &out.Relation, a.Relation, b.Relation},
		{"subject-type", &out.SubjectType, a.SubjectType, b.SubjectType},
		{"subject-id", &out.SubjectID, a.SubjectID, b.SubjectID},
		{"subject-relation", &out.SubjectRelation, a.SubjectRelation, b.SubjectRelation},
	} {
		if *p.dst, err = pick(p.name, p.from, p.and); err != nil {
			return out, err
		}
	}
	return out, nil
}

// describeFilter prints a filter the way an operator would type it.
func describeFilter(f tuples.Filter) string {
	var parts []string
	for _, p := range [][2]string{
		{"object-type", f.ObjectType}, {"object-id", f.ObjectID}, {"relation", f.Relation},
		{"subject-type", f.SubjectType}, {"subject-id", f.SubjectID}, {"subject-relation", f.SubjectRelation},
	} {
		if p[1] != "" {
			parts = append(parts, fmt.Sprintf("--%s %s", p[0], p[1]))
		}
	}
	return strings.Join(parts, " ")
}

// parseTupleArg parses a tuple given on the command line, naming the
// argument when it is malformed.
func parseTupleArg(i int, s string) (tuples.Tuple, error) {
	t, _, err := tuples.ParseWithPayload(s)
	if err != nil {
		return t, argParseError(ordinal(i), s, err, "write OBJECT#RELATION@SUBJECT, e.g. case:1#assignee@user:alice, optionally with [CONDITION:{JSON}] and [expiration:RFC3339]")
	}
	return t, nil
}

// jsonTuple is a tuple in the JSON-lines form of import and export.
type jsonTuple struct {
	Object     string          `json:"object"`
	Relation   string          `json:"relation"`
	Subject    string          `json:"subject"`
	Condition  string          `json:"condition,omitempty"`
	Context    json.RawMessage `json:"context,omitempty"`
	Expiration string          `json:"expiration,omitempty"`
}

func toJSONTuple(t tuples.Tuple) jsonTuple {
	j := jsonTuple{Object: t.Object().String(), Relation: t.Relation, Subject: t.Subject().String(), Condition: t.Payload.Condition}
	if t.Payload.Context != "" {
		j.Context = json.RawMessage(t.Payload.Context)
	}
	if !t.Payload.Expires.IsZero() {
		j.Expiration = tuples.FormatExpiry(t.Payload.Expires)
	}
	return j
}

// checkFilter refuses a filter naming a type or relation the schema does
// not have: it could only ever match nothing, which reads as "no access"
// (or, for a delete, as done) when it is a typo. what says where the
// filter was given.
func checkFilter(s *schema.Schema, what string, f tuples.Filter) error {
	var objType, subjType *schema.Type
	var err error
	if f.ObjectType != "" {
		if objType, err = s.ResolveType(f.ObjectType); err != nil {
			return nameError(what, err)
		}
	}
	if f.SubjectType != "" {
		if subjType, err = s.ResolveType(f.SubjectType); err != nil {
			return nameError(what, err)
		}
	}
	for _, r := range []struct {
		t    *schema.Type
		name string
	}{{objType, f.Relation}, {subjType, f.SubjectRelation}} {
		switch {
		case r.name == "":
		case r.t != nil:
			if _, err := r.t.ResolveRelation(r.name); err != nil {
				return nameError(what, err)
			}
		case !anyTypeHas(s, r.name):
			return withHint(didYouMean(r.name, allRelationNames(s), "relations in the schema"),
				"%s: no type has a relation %q", what, r.name)
		}
	}
	return nil
}

// didYouMean suggests the nearest name when one is a plausible typo, and
// lists them all otherwise.
func didYouMean(name string, names []string, listed string) string {
	if near := schema.Closest(name, names); near != "" {
		return fmt.Sprintf("did you mean %q? (%s: %s)", near, listed, strings.Join(names, ", "))
	}
	return listed + ": " + strings.Join(names, ", ")
}

func anyTypeHas(s *schema.Schema, relation string) bool {
	for _, t := range s.Types {
		if t.Relation(relation) != nil {
			return true
		}
	}
	return false
}

// allRelationNames lists each relation name of the schema once.
func allRelationNames(s *schema.Schema) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range s.Types {
		for _, n := range t.RelationNames() {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// filterWhat names a filter in errors: the partial tuple when one was
// given, else the flags.
func filterWhat(partial string, f tuples.Filter) string {
	if partial != "" {
		return fmt.Sprintf("filter %q", partial)
	}
	return "filter " + describeFilter(f)
}
