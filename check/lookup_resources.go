package check

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// ResourceQuery asks for every object of Type on which Subject holds
// Relation.
type ResourceQuery struct {
	Subject        tuples.Subject
	Type, Relation string
	// Limit caps the objects yielded by one call (0 = all); a capped call
	// returns a cursor to continue from.
	Limit  int
	Cursor string
	// Context holds contextual tuples, treated as stored for this lookup
	// only, as for Query.Context.
	Context []tuples.Tuple
}

// LookupResources yields, in order of object id, the objects of q.Type on
// which q.Subject holds q.Relation. It returns a non-empty cursor when it
// stopped early (limit reached with more to come, or yield returned
// false); passing it back as q.Cursor continues after the last object
// yielded.
//
// Candidates come from walking the schema's reverse edges backwards from
// the subject; when any relation on the way holds an intersection or an
// exclusion, every candidate is confirmed with a check.
func (c *Checker) LookupResources(ctx context.Context, snap tuples.Snapshot, q ResourceQuery, yield func(tuples.Object) bool) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("lookup resources %s#%s for %s: %w", q.Type, q.Relation, q.Subject, err)
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return fail(err)
	}
	w, err := c.begin(ctx, snap, q.Context)
	if err != nil {
		return fail(err)
	}
	defer c.end(w)
	target := w.sch.Relation(q.Type, q.Relation)
	if target == nil {
		return fail(fmt.Errorf("unknown relation %s#%s", q.Type, q.Relation))
	}
	if w.sub, err = resolveSubject(w.sch, q.Subject); err != nil {
		return fail(err)
	}
	if !w.reaches(target) {
		return "", nil
	}
	ids, confirm, err := w.reverseWalk(target)
	if err != nil {
		return fail(err)
	}
	last, emitted := "", 0
	for _, id := range ids {
		if q.Cursor != "" && id <= after {
			continue
		}
		obj := tuples.Object{Type: target.Type.Name, ID: id}
		if confirm {
			v, err := w.top(obj, target)
			if err != nil {
				return fail(err)
			}
			if v != yes {
				continue
			}
		}
		if q.Limit > 0 && emitted == q.Limit {
			return encodeCursor(last), nil
		}
		if !yield(obj) {
			return encodeCursor(id), nil
		}
		last = id
		emitted++
	}
	return "", nil
}

const cursorPrefix = "r1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

func decodeCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return "", fmt.Errorf("invalid cursor %q: pass back exactly the cursor a previous lookup returned", s)
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

// pairKey is one (object, relation) reached by a walk.
type pairKey struct {
	obj tuples.Object
	rel int
}

// leadsTo marks the relations from which target can be reached along
// reverse edges: the only ones a reverse walk needs to enter.
func leadsTo(sch *schema.Schema, target *schema.Relation) []bool {
	lead := make([]bool, len(sch.Relations))
	lead[target.ID] = true
	for changed := true; changed; {
		changed = false
		for _, r := range sch.Relations {
			if lead[r.ID] {
				continue
			}
			for _, e := range r.Reverse {
				if lead[e.To.ID] {
					lead[r.ID], changed = true, true
					break
				}
			}
		}
	}
	return lead
}

// needsConfirm reports whether a relation that leads to the target holds
// an intersection or an exclusion: then reaching the target along reverse
// edges only makes an object a candidate.
func needsConfirm(sch *schema.Schema, lead []bool) bool {
	for _, r := range sch.Relations {
		if !lead[r.ID] || r.Stored {
			continue
		}
		if hasCondition(r.Rewrite) {
			return true
		}
		for _, e := range r.Reverse {
			if e.Conditional && lead[e.To.ID] {
				return true
			}
		}
	}
	return false
}

func hasCondition(n schema.Node) bool {
	switch n := n.(type) {
	case *schema.Intersect, *schema.Exclude:
		return true
	case *schema.Union:
		return slices.ContainsFunc(n.Children, hasCondition)
	case *schema.Arrow:
		return slices.ContainsFunc(n.Then, func(th schema.Node) bool { return th != nil && hasCondition(th) })
	}
	return false
}

// reverseWalk collects, sorted, the ids of objects of target's type that
// the query subject may reach, walking reverse edges from the tuples that
// name the subject.
func (w *walker) reverseWalk(target *schema.Relation) (ids []string, confirm bool, err error) {
	sch := w.sch
	lead := leadsTo(sch, target)
	confirm = needsConfirm(sch, lead)
	visited := map[pairKey]bool{}
	var queue []pairKey
	found := map[string]bool{}
	visit := func(obj tuples.Object, r *schema.Relation) {
		if !lead[r.ID] {
			return
		}
		k := pairKey{obj: obj, rel: r.ID}
		if visited[k] {
			return
		}
		visited[k] = true
		queue = append(queue, k)
		if r == target {
			found[obj.ID] = true
		}
	}
	reverse := func(subj tuples.Subject, r *schema.Relation, each func(tuples.Object)) error {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		for o, err := range w.snap.Reverse(w.ctx, subj, r.Type.Name, r.Name) {
			if err != nil {
				return fmt.Errorf("read reverse %s in %s: %w", subj, r, err)
			}
			each(o)
		}
		return nil
	}

	s := w.sub
	if s.kind == subjectSet {
		visit(tuples.Object{Type: s.Type, ID: s.ID}, s.rel)
	}
	wild := tuples.Subject{Type: s.Type, ID: tuples.Wildcard}
	for _, r := range sch.Relations {
		if !r.Stored || !lead[r.ID] {
			continue
		}
		var entries []tuples.Subject
		switch s.kind {
		case subjectPlain:
			if r.DirectTypes[s.typ.ID] {
				entries = append(entries, s.Subject)
			}
			if r.WildcardTypes[s.typ.ID] {
				entries = append(entries, wild)
			}
		case subjectWildcard:
			if r.WildcardTypes[s.typ.ID] {
				entries = append(entries, s.Subject)
			}
		case subjectSet:
			if r.Allows(s.typ, s.rel, false) {
				entries = append(entries, s.Subject)
			}
		}
		for _, e := range entries {
			if err := reverse(e, r, func(o tuples.Object) { visit(o, r) }); err != nil {
				return nil, false, err
			}
		}
	}

	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		from := sch.Relations[k.rel]
		for _, e := range from.Reverse {
			if !lead[e.To.ID] {
				continue
			}
			switch e.Kind {
			case schema.EdgeRewrite:
				visit(k.obj, e.To)
			case schema.EdgeSubjectSet:
				set := tuples.Subject{Type: k.obj.Type, ID: k.obj.ID, Relation: from.Name}
				if err := reverse(set, e.To, func(o tuples.Object) { visit(o, e.To) }); err != nil {
					return nil, false, err
				}
			case schema.EdgeArrow:
				cur := []tuples.Object{k.obj}
				for _, via := range e.Via {
					seen := map[tuples.Object]bool{}
					var next []tuples.Object
					for _, c := range cur {
						err := reverse(tuples.Subject{Type: c.Type, ID: c.ID}, via, func(o tuples.Object) {
							if !seen[o] {
								seen[o] = true
								next = append(next, o)
							}
						})
						if err != nil {
							return nil, false, err
						}
					}
					cur = next
				}
				for _, o := range cur {
					visit(o, e.To)
				}
			}
		}
	}
	ids = make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, confirm, nil
}
