package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// WriteSchema compiles text and stores its canonical form as a new
// revision. It is refused, with every reason, when tuples already stored
// would become invalid: their relation removed or made computed, or their
// subject form no longer allowed.
func (s *store) WriteSchema(ctx context.Context, filename string, text []byte) (tuples.Revision, error) {
	next, err := schema.Load(filename, text)
	if err != nil {
		return 0, fmt.Errorf("schema not written: %w", err)
	}
	canonical := next.Text()
	c, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
		cur, err := s.schemaOf(ctx, tx)
		if err != nil {
			return err
		}
		if cur != nil {
			if err := compatible(ctx, tx, cur, next); err != nil {
				return err
			}
		}
		tx.SetSchema(canonical)
		return schemaIndexChanges(ctx, s.index, tx, next)
	})
	if err != nil {
		return 0, err
	}
	// Compile the canonical text now, as a reopened store would, so that
	// positions in diagnostics do not depend on history; an error
	// surfaces on the next read instead.
	_, _ = s.compile(SchemaText{Revision: c.Revision, Text: canonical})
	return c.Revision, nil
}

// compatible checks that every tuple stored under old stays valid under
// next. Only relations whose accepted subjects shrink are scanned.
func compatible(ctx context.Context, cur tuples.Reads, old, next *schema.Schema) error {
	var errs []error
	for _, r := range old.Relations {
		if !r.Stored {
			continue
		}
		nr := next.Relation(r.Type.Name, r.Name)
		if nr == nil || !nr.Stored {
			f := tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name}
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
		if err := payloadsStayValid(ctx, cur, r, nr, next); err != nil {
			errs = append(errs, err)
		}
		for _, a := range r.Allowed {
			// A form `with NAME` admits only tuples carrying that
			// condition; those, and every tuple carrying a payload, are
			// checked by payloadsStayValid. Here: plain tuples.
			if a.Condition != nil || allowedIn(nr, next, a) {
				continue
			}
			f := tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name, SubjectType: a.Type.Name}
			var keep func(tuples.Tuple) bool
			switch {
			case a.Wildcard:
				f.SubjectID = tuples.Wildcard
			case a.Relation != nil:
				f.SubjectRelation = a.Relation.Name
			default:
				keep = func(t tuples.Tuple) bool { return t.SubjectRelation == "" && t.SubjectID != tuples.Wildcard }
			}
			plain := func(t tuples.Tuple) bool { return t.Payload.IsZero() && (keep == nil || keep(t)) }
			n, err := count(ctx, cur, f, plain)
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

// payloadsStayValid checks the tuples of r that carry a condition or an
// expiry against next, when next changes what r allows or the parameters
// of a condition r names: a condition dropped or renamed, a parameter's
// type changed, `with expiration` removed. The reads are raw (the write
// transaction carries no clock), so expired tuples not yet collected are
// checked too: a request clock before their expiry still sees them.
func payloadsStayValid(ctx context.Context, cur tuples.Reads, r, nr *schema.Relation, next *schema.Schema) error {
	conditional := false
	for _, a := range r.Allowed {
		if a.Condition != nil || a.Expiration {
			conditional = true
		}
	}
	if !conditional || samePayloadForms(r, nr, next) {
		return nil
	}
	f := tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name}
	n, first, cursor := 0, error(nil), ""
	for {
		ts, nextCursor, err := cur.Read(ctx, f, cursor, 10000)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.Payload.IsZero() {
				continue
			}
			if err := tuples.Validate(t, next); err != nil {
				if n++; first == nil {
					first = err
				}
			}
		}
		if nextCursor == "" {
			break
		}
		cursor = nextCursor
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("relation %s: %d tuples with a condition or expiry would no longer be valid, the first: %v; delete or rewrite them first (%s lists them)",
		r, n, first, readCommand(f))
}

// samePayloadForms reports whether nr allows exactly the subject forms r
// does, and every condition they name keeps its parameters and types.
func samePayloadForms(r, nr *schema.Relation, next *schema.Schema) bool {
	if r.AllowedString() != nr.AllowedString() {
		return false
	}
	for _, a := range r.Allowed {
		if a.Condition == nil {
			continue
		}
		nc := next.Condition(a.Condition.Name)
		if nc == nil || nc.Signature() != a.Condition.Signature() {
			return false
		}
	}
	return true
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
func count(ctx context.Context, snap tuples.Reads, f tuples.Filter, keep func(tuples.Tuple) bool) (int, error) {
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
func deleteCommand(f tuples.Filter) string { return "docket tuple delete " + filterFlags(f) }
func readCommand(f tuples.Filter) string   { return "docket tuple read " + filterFlags(f) }

func filterFlags(f tuples.Filter) string {
	var parts []string
	for _, p := range [][2]string{
		{"object-type", f.ObjectType}, {"object-id", f.ObjectID}, {"relation", f.Relation},
		{"subject-type", f.SubjectType}, {"subject-id", f.SubjectID}, {"subject-relation", f.SubjectRelation},
	} {
		if p[1] != "" {
			v := p[1]
			if v == tuples.Wildcard {
				v = "'*'" // quoted for the shell
			}
			parts = append(parts, "--"+p[0]+" "+v)
		}
	}
	return strings.Join(parts, " ")
}
