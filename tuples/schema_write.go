package tuples

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
)

// WriteSchema compiles text and stores its canonical form as a new
// revision. It is refused, with every reason, when tuples already stored
// would become invalid: their relation removed or made computed, or their
// subject form no longer allowed.
func (s *store) WriteSchema(ctx context.Context, filename string, text []byte) (Revision, error) {
	next, err := schema.Load(filename, text)
	if err != nil {
		return 0, fmt.Errorf("schema not written: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		return 0, err
	}
	defer snap.Close()
	cur := snap.(*snapshot)
	if cur.schema != nil {
		if err := compatible(ctx, cur, next); err != nil {
			return 0, err
		}
	}
	canonical := next.Text()
	rev, err := s.eng.apply(ctx, &commit{schema: canonical})
	if err != nil {
		return 0, err
	}
	// Keep the schema compiled from the canonical text, as a reopened
	// store would, so positions in diagnostics do not depend on history.
	compiled, err := schema.Load(fmt.Sprintf("schema@%d", rev), []byte(canonical))
	if err != nil {
		compiled = nil // compiled lazily; the error then surfaces on read
	}
	s.smu.Lock()
	s.schemas = append(s.schemas, schemaVersion{rev: rev, text: canonical, compiled: compiled})
	s.smu.Unlock()
	return rev, nil
}

// compatible checks that every tuple stored under old stays valid under
// next. Only relations whose accepted subjects shrink are scanned.
func compatible(ctx context.Context, cur *snapshot, next *schema.Schema) error {
	var errs []error
	for _, r := range cur.schema.Relations {
		if !r.Stored {
			continue
		}
		nr := next.Relation(r.Type.Name, r.Name)
		if nr == nil || !nr.Stored {
			f := Filter{ObjectType: r.Type.Name, Relation: r.Name}
			n, err := count(ctx, cur, f, nil)
			if err != nil {
				return err
			}
			if n > 0 {
				what := "removed"
				if nr != nil {
					what = "made computed"
				}
				errs = append(errs, fmt.Errorf("relation %s would be %s, but %d tuples use it; delete them first: %s", r, what, n, deleteCommand(f)))
			}
			continue
		}
		for _, a := range r.Allowed {
			// A form `with NAME` admits only tuples carrying that
			// condition, and the stores keep no tuple payloads yet: every
			// stored tuple is plain, and is accounted for by the plain
			// forms.
			if a.Condition != nil || allowedIn(nr, next, a) {
				continue
			}
			f := Filter{ObjectType: r.Type.Name, Relation: r.Name, SubjectType: a.Type.Name}
			var keep func(Tuple) bool
			switch {
			case a.Wildcard:
				f.SubjectID = Wildcard
			case a.Relation != nil:
				f.SubjectRelation = a.Relation.Name
			default:
				keep = func(t Tuple) bool { return t.SubjectRelation == "" && t.SubjectID != Wildcard }
			}
			n, err := count(ctx, cur, f, keep)
			if err != nil {
				return err
			}
			if n > 0 {
				how := "delete them first: " + deleteCommand(f)
				if keep != nil {
					// No filter tells plain subjects from the subject sets
					// and wildcard of their type.
					how = "delete them first (" + readCommand(f) + " lists them, with any subject sets and wildcard of " + a.Type.Name + ")"
				}
				errs = append(errs, fmt.Errorf("relation %s would no longer allow %s, but %d tuples use it; %s, or keep %s allowed", r, a, n, how, a))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("schema not written: %w", errors.Join(errs...))
	}
	return nil
}

// allowedIn reports whether nr (of schema next) accepts the subject form a
// of the old schema, matching by name.
func allowedIn(nr *schema.Relation, next *schema.Schema, a schema.Allowed) bool {
	t := next.Type(a.Type.Name)
	if t == nil {
		return false
	}
	var rel *schema.Relation
	if a.Relation != nil {
		if rel = t.Relation(a.Relation.Name); rel == nil {
			return false
		}
	}
	// Stored tuples are plain (no condition, no expiry): the new relation
	// must accept them as they are.
	return nr.AllowsTuple(t, rel, a.Wildcard, "", false)
}

// count pages through the tuples matching f (and keep, when set).
func count(ctx context.Context, snap Snapshot, f Filter, keep func(Tuple) bool) (int, error) {
	n, cursor := 0, ""
	for {
		ts, next, err := snap.Read(ctx, f, cursor, 10000)
		if err != nil {
			return 0, err
		}
		for _, t := range ts {
			if keep == nil || keep(t) {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}

// deleteCommand and readCommand spell the command line that deletes or
// lists the tuples matching f.
func deleteCommand(f Filter) string { return "docket tuple delete " + filterFlags(f) }
func readCommand(f Filter) string   { return "docket tuple read " + filterFlags(f) }

func filterFlags(f Filter) string {
	var parts []string
	for _, p := range [][2]string{
		{"object-type", f.ObjectType}, {"object-id", f.ObjectID}, {"relation", f.Relation},
		{"subject-type", f.SubjectType}, {"subject-id", f.SubjectID}, {"subject-relation", f.SubjectRelation},
	} {
		if p[1] != "" {
			v := p[1]
			if v == Wildcard {
				v = "'*'" // quoted for the shell
			}
			parts = append(parts, "--"+p[0]+" "+v)
		}
	}
	return strings.Join(parts, " ")
}
