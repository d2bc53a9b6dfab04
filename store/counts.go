package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Counts of nesting relations (schema.Relation.NestingCounted): for each,
// how many subject sets of the relation on its own type are stored, in
// how many groups and of how many groups (tuples.NestingCounts). Where
// the membership index does not answer (a group over its bound, a
// relation whose memberships carry conditions, an index not built, a
// query with contextual tuples) the checker searches both ways between a
// group and a subject's groups, and the counts tell it before it reads
// which way one step costs less: in a team tree a step down reads a
// team's several children, a step up a team's one parent.
//
// They are per relation, not per group: one entry per relation and
// write, derived here inside the write's transaction like the index, and
// read once per snapshot. Counts per group would be exact for skewed
// trees but cost a read and a write of two counters per subject set
// written, and, to be used, a read per group of each step, about what
// the scan they would predict costs.

// CountChange sets (or, with Delete, removes) the counts of one
// relation.
type CountChange struct {
	Delete         bool
	Type, Relation string
	Counts         tuples.NestingCounts
}

// CountReads are the count reads of a backend's reader, at its revision.
type CountReads interface {
	tuples.NestingCounter
	// NestingCountRelations lists the relations whose counts are kept.
	NestingCountRelations(ctx context.Context) ([]IndexedRelation, error)
}

// CountTxn is what a Txn of a backend that keeps counts implements.
type CountTxn interface {
	CountReads
	// WriteNestingCounts stages count changes in the transaction, at
	// most one per relation.
	WriteNestingCounts(ctx context.Context, changes []CountChange) error
}

// CountLoader is what a Loader of a backend that keeps counts
// implements: the count changes of a bulk load are derived before its
// Commit, from the revision it builds on (Base), and committed with it.
type CountLoader interface {
	Base(ctx context.Context) (Reader, error)
	WriteNestingCounts(ctx context.Context, changes []CountChange) error
}

// isEdge reports whether t is a subject set of typ#rel on typ#rel.
func isEdge(t *tuples.Tuple, typ, rel string) bool {
	return t.ObjectType == typ && t.Relation == rel && t.SubjectType == typ && t.SubjectRelation == rel
}

// countChanges derives the count changes of changes, planned against r
// (the revision they build on), for every counted relation of sch whose
// counts are kept.
func countChanges(ctx context.Context, r tuples.Reads, cr CountReads, sch *schema.Schema, changes []tuples.Change) ([]CountChange, error) {
	if sch == nil {
		return nil, nil
	}
	var out []CountChange
	for _, rel := range sch.Relations {
		if !rel.NestingCounted() {
			continue
		}
		typ := rel.Type.Name
		touched := false
		for i := range changes {
			if isEdge(&changes[i].Tuple, typ, rel.Name) {
				touched = true
				break
			}
		}
		if !touched {
			continue
		}
		cur, kept, err := cr.NestingCounts(ctx, typ, rel.Name)
		if err != nil {
			return nil, fmt.Errorf("read the counts of %s: %w", rel, err)
		}
		if !kept {
			continue
		}
		added, removed := map[edge]bool{}, map[edge]bool{}
		for i := range changes {
			t := &changes[i].Tuple
			if !isEdge(t, typ, rel.Name) {
				continue
			}
			e := edge{parent: t.ObjectID, child: t.SubjectID}
			had, err := r.Has(ctx, t.Object(), t.Relation, t.Subject())
			if err != nil {
				return nil, err
			}
			delete(added, e)
			delete(removed, e)
			switch {
			case changes[i].Kind == tuples.ChangeWrite && !had:
				added[e] = true
			case changes[i].Kind == tuples.ChangeDelete && had:
				removed[e] = true
			}
		}
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		d, err := countDelta(ctx, r, typ, rel.Name, added, removed)
		if err != nil {
			return nil, fmt.Errorf("count the subject sets of %s: %w", rel, err)
		}
		next := tuples.NestingCounts{Sets: cur.Sets + d.Sets, Parents: cur.Parents + d.Parents, Children: cur.Children + d.Children}
		if next != cur {
			out = append(out, CountChange{Type: typ, Relation: rel.Name, Counts: next})
		}
	}
	return out, nil
}

// countDelta is how the counts change when the edges added are stored
// and those removed deleted, over r: a group counts as a parent while it
// stores any subject set, as a child while any group stores it, so only
// the groups of changed edges can change either, and each needs at most
// a read of its first subject set (or group) that the batch keeps.
func countDelta(ctx context.Context, r tuples.Reads, typ, rel string, added, removed map[edge]bool) (tuples.NestingCounts, error) {
	d := tuples.NestingCounts{Sets: int64(len(added) - len(removed))}
	gains := map[string]bool{}   // parent -> gains a child
	adopted := map[string]bool{} // child -> gains a parent
	parents, children := map[string]bool{}, map[string]bool{}
	for e := range added {
		gains[e.parent], adopted[e.child] = true, true
		parents[e.parent], children[e.child] = true, true
	}
	for e := range removed {
		parents[e.parent], children[e.child] = true, true
	}
	step := func(before, after bool) int64 {
		switch {
		case after && !before:
			return 1
		case before && !after:
			return -1
		}
		return 0
	}
	f := tuples.SubjectFilter{Sets: true, Type: typ, Relation: rel}
	for p := range parents {
		before, after := false, gains[p]
		for c, err := range r.Subjects(ctx, tuples.Object{Type: typ, ID: p}, rel, f) {
			if err != nil {
				return d, err
			}
			before = true
			if !removed[edge{parent: p, child: c.ID}] {
				after = true
				break
			}
		}
		d.Parents += step(before, after)
	}
	for c := range children {
		before, after := false, adopted[c]
		for p, err := range r.Reverse(ctx, tuples.Subject{Type: typ, ID: c, Relation: rel}, typ, rel) {
			if err != nil {
				return d, err
			}
			before = true
			if !removed[edge{parent: p.ID, child: c}] {
				after = true
				break
			}
		}
		d.Children += step(before, after)
	}
	return d, nil
}

// buildCounts counts the subject sets of typ#rel stored in r.
func buildCounts(ctx context.Context, r tuples.Reads, typ, rel string) (tuples.NestingCounts, error) {
	var c tuples.NestingCounts
	parents, children := map[string]bool{}, map[string]bool{}
	f := tuples.Filter{ObjectType: typ, Relation: rel, SubjectType: typ, SubjectRelation: rel}
	cursor := ""
	for {
		ts, next, err := r.Read(ctx, f, cursor, 10000)
		if err != nil {
			return c, err
		}
		for _, t := range ts {
			parents[t.ObjectID], children[t.SubjectID] = true, true
		}
		c.Sets += int64(len(ts))
		if next == "" {
			break
		}
		cursor = next
	}
	c.Parents, c.Children = int64(len(parents)), int64(len(children))
	return c, nil
}

// maintainCounts stages, in tx, the count changes of changes, when the
// backend keeps counts.
func maintainCounts(ctx context.Context, tx Txn, sch *schema.Schema, changes []tuples.Change) error {
	ct, ok := tx.(CountTxn)
	if !ok {
		return nil
	}
	out, err := countChanges(ctx, tx, ct, sch, changes)
	if err != nil || len(out) == 0 {
		return err
	}
	return ct.WriteNestingCounts(ctx, out)
}

// loadCounts hands a bulk load the count changes of its edges, derived
// from the revision it builds on.
func loadCounts(ctx context.Context, ld Loader, sch *schema.Schema, edges []tuples.Change) error {
	cl, ok := ld.(CountLoader)
	if !ok || len(edges) == 0 {
		return nil
	}
	base, err := cl.Base(ctx)
	if err != nil {
		return err
	}
	defer base.Close()
	cr, ok := base.(CountReads)
	if !ok {
		return nil
	}
	out, err := countChanges(ctx, base, cr, sch, edges)
	if err != nil || len(out) == 0 {
		return err
	}
	return cl.WriteNestingCounts(ctx, out)
}

// missingCounts builds the counts of every counted relation of sch whose
// counts are not kept, from the tuples of r; and, with drop, removes the
// counts kept of relations sch does not count.
func missingCounts(ctx context.Context, r tuples.Reads, cr CountReads, sch *schema.Schema, drop bool) ([]CountChange, error) {
	var out []CountChange
	for _, rel := range sch.Relations {
		if !rel.NestingCounted() {
			continue
		}
		_, kept, err := cr.NestingCounts(ctx, rel.Type.Name, rel.Name)
		if err != nil {
			return nil, err
		}
		if kept {
			continue
		}
		c, err := buildCounts(ctx, r, rel.Type.Name, rel.Name)
		if err != nil {
			return nil, fmt.Errorf("count the subject sets of %s: %w", rel, err)
		}
		out = append(out, CountChange{Type: rel.Type.Name, Relation: rel.Name, Counts: c})
	}
	if !drop {
		return out, nil
	}
	kept, err := cr.NestingCountRelations(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range kept {
		if rel := sch.Relation(k.Type, k.Relation); rel == nil || !rel.NestingCounted() {
			out = append(out, CountChange{Delete: true, Type: k.Type, Relation: k.Relation})
		}
	}
	return out, nil
}

// schemaCountChanges stages the count changes of a schema change: a
// relation that becomes counted is counted from its tuples, one that
// stops being counted (no longer nesting, or its subject sets may now
// expire) loses its counts.
func schemaCountChanges(ctx context.Context, tx Txn, next *schema.Schema) error {
	ct, ok := tx.(CountTxn)
	if !ok {
		return nil
	}
	out, err := missingCounts(ctx, tx, ct, next, true)
	if err != nil || len(out) == 0 {
		return err
	}
	return ct.WriteNestingCounts(ctx, out)
}

// verifyCounts compares the counts stored at r's revision with those its
// tuples make, and describes each difference.
func verifyCounts(ctx context.Context, r Reader, sch *schema.Schema) ([]string, error) {
	cr, ok := r.(CountReads)
	if !ok || sch == nil {
		return nil, nil
	}
	kept, err := cr.NestingCountRelations(ctx)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, k := range kept {
		name := k.Type + "#" + k.Relation
		rel := sch.Relation(k.Type, k.Relation)
		if rel == nil || !rel.NestingCounted() {
			problems = append(problems, fmt.Sprintf("counts of %s: kept, but the schema does not count the relation", name))
			continue
		}
		got, _, err := cr.NestingCounts(ctx, k.Type, k.Relation)
		if err != nil {
			return nil, err
		}
		want, err := buildCounts(ctx, r, k.Type, k.Relation)
		if err != nil {
			return nil, err
		}
		if got != want {
			problems = append(problems, fmt.Sprintf("counts of %s: %d subject sets, %d groups storing any, %d groups stored in any; the tuples make %d, %d and %d",
				name, got.Sets, got.Parents, got.Children, want.Sets, want.Parents, want.Children))
		}
	}
	return problems, nil
}

// CountCache keeps, for one reader, the counts it has read: a reader's
// revision never changes, so neither do they. The zero value is ready.
type CountCache struct {
	mu sync.Mutex
	m  map[[2]string]cachedCounts
}

type cachedCounts struct {
	c    tuples.NestingCounts
	kept bool
}

// Get returns typ#rel's counts from the cache, or from read (which says
// whether the counts are kept at all), remembering what read returned.
func (c *CountCache) Get(typ, rel string, read func() (tuples.NestingCounts, bool, error)) (tuples.NestingCounts, bool, error) {
	k := [2]string{typ, rel}
	c.mu.Lock()
	r, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return r.c, r.kept, nil
	}
	n, kept, err := read()
	if err != nil {
		return tuples.NestingCounts{}, false, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[[2]string]cachedCounts)
	}
	c.m[k] = cachedCounts{n, kept}
	c.mu.Unlock()
	return n, kept, nil
}
