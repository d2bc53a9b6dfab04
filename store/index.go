package store

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// The membership index of nesting relations (schema.Relation.GroupIndexed,
// such as `team#member: user | team#member`): for each group, every group
// above it, transitively, with the length of the shortest chain of subject
// sets between them (Zanzibar's GROUP2GROUP, read upwards). A subject's
// direct groups (MEMBER2GROUP) are the reverse tuple keys every backend
// already keeps, so "is u in team T" is a read of u's groups and of their
// rows. The index is derived from the tuples in the same transaction that
// writes them, here in the shared layer, through the optional methods of
// IndexTxn and IndexLoader: a backend that implements them keeps an index
// exactly in step with its tuples at every revision, and one that does not
// keeps none, its snapshots answering GroupsAbove with indexed false so
// that the checker walks.
//
// Bounds keep writes cheap whatever the shape. A group with more than
// Options.IndexBound groups above it, or a chain longer than
// MaxIndexChain, keeps an overflow marker instead of a row (the checker
// walks for subjects in it). A write whose nesting edges would make more
// than Options.IndexRecompute rows to recompute drops the relation's
// index in that same revision (the checker walks from then on) until it
// is built again (BuildIndex, `docket db index build`).

const (
	// DefaultIndexBound is Options.IndexBound's default.
	DefaultIndexBound = 1024
	// MaxIndexChain is the longest chain a row records.
	MaxIndexChain = 254
	// DefaultIndexRecompute is Options.IndexRecompute's default.
	DefaultIndexRecompute = 50_000
)

// indexLimits are a store's bounds of the index.
type indexLimits struct{ bound, recompute int }

// IndexChange is one change to the membership index, as a backend stores
// it. Group "" is the relation's state entry: present while the index of
// Type#Relation is maintained. Above "" is the overflow marker of Group.
type IndexChange struct {
	Delete         bool
	Type, Relation string
	Group, Above   string
	Chain          int
}

// IndexReads are the index reads of a backend's reader, at its revision.
type IndexReads interface {
	tuples.GroupIndex
	// GroupIndexState reports whether the index of typ#rel is maintained.
	GroupIndexState(ctx context.Context, typ, rel string) (bool, error)
	// GroupIndexRow reads group's row as stored, whatever the state, and
	// whether it holds the overflow marker instead.
	GroupIndexRow(ctx context.Context, typ, rel, group string) (row []tuples.GroupAbove, overflow bool, err error)
	// GroupIndexEntries iterates every stored entry of typ#rel (the
	// state entry excluded), in key order.
	GroupIndexEntries(ctx context.Context, typ, rel string) iter.Seq2[IndexChange, error]
	// GroupIndexRelations lists the relations whose index is maintained.
	GroupIndexRelations(ctx context.Context) ([]IndexedRelation, error)
}

// IndexedRelation names a relation whose index is maintained.
type IndexedRelation struct{ Type, Relation string }

// IndexTxn is what a Txn of a backend that keeps the index implements.
type IndexTxn interface {
	IndexReads
	// WriteGroupIndex stages index changes in the transaction.
	WriteGroupIndex(changes []IndexChange)
}

// IndexLoader is what a Loader of a backend that keeps the index
// implements: the index changes of a bulk load are derived before its
// Commit, from the revision it builds on, and committed with it.
type IndexLoader interface {
	// Base opens a reader at the revision the load builds on; it
	// implements IndexReads.
	Base(ctx context.Context) (Reader, error)
	WriteGroupIndex(changes []IndexChange)
}

// indexedSnapshot is the snapshot of a backend that keeps the index: only
// it offers tuples.GroupIndex, so that the checker counts as fallbacks
// only the groups an index could not answer, not every group of a backend
// without one.
type indexedSnapshot struct {
	snapshot
	ix tuples.GroupIndex     // nil: the backend keeps no index
	nc tuples.NestingCounter // nil: no counts kept
	// mem is the membership index in memory at the snapshot's revision
	// (nil: none); bound is the store's IndexBound, which its rows keep
	// as the backend's do.
	mem   *memView
	bound int
}

// Has answers for a relation the index in memory holds from it where it
// can, and from the backend otherwise.
func (s *indexedSnapshot) Has(ctx context.Context, obj tuples.Object, relation string, subj tuples.Subject) (bool, error) {
	if s.mem != nil {
		if found, ok := s.mem.has(IndexedRelation{Type: obj.Type, Relation: relation}, obj.ID, subj); ok {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			return found, nil
		}
	}
	return s.Reader.Has(ctx, obj, relation, subj)
}

// HasAny answers from the index in memory where it holds every object's
// relation, and from the backend otherwise.
func (s *indexedSnapshot) HasAny(ctx context.Context, objs []tuples.Object, relation string, subjs []tuples.Subject) (bool, error) {
	if s.mem != nil && len(objs) > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if found, ok := s.mem.hasAny(objs, relation, subjs); ok {
			return found, nil
		}
	}
	return s.Reader.HasAny(ctx, objs, relation, subjs)
}

// Reverse answers the reverse reads of a relation the index in memory
// holds from it where it can, and from the backend otherwise.
func (s *indexedSnapshot) Reverse(ctx context.Context, subj tuples.Subject, objectType, relation string) iter.Seq2[tuples.Object, error] {
	if s.mem != nil {
		if ids, ok := s.mem.groups(IndexedRelation{Type: objectType, Relation: relation}, subj); ok {
			return reverse(objectType, ids)
		}
	}
	return s.Reader.Reverse(ctx, subj, objectType, relation)
}

// NestingCounts answers from the backend's counts.
func (s *indexedSnapshot) NestingCounts(ctx context.Context, typ, relation string) (tuples.NestingCounts, bool, error) {
	if s.nc == nil {
		return tuples.NestingCounts{}, false, nil
	}
	return s.nc.NestingCounts(ctx, typ, relation)
}

// GroupsAbove answers from the index in memory where it can, else from
// the backend's index.
func (s *indexedSnapshot) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	if s.mem != nil {
		if row, ok := s.mem.above(IndexedRelation{Type: group.Type, Relation: relation}, group.ID, s.bound); ok {
			return row, true, nil
		}
	}
	if s.ix == nil {
		return nil, false, nil
	}
	return s.ix.GroupsAbove(ctx, group, relation)
}

// Memberships answers from the index in memory (tuples.MembershipReader);
// ok is false where it cannot, and the caller reads level by level.
func (s *indexedSnapshot) Memberships(ctx context.Context, subjects []tuples.Subject, typ, relation string, bound int) ([]tuples.GroupAbove, bool, error) {
	if s.mem == nil {
		return nil, false, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	groups, ok := s.mem.memberships(IndexedRelation{Type: typ, Relation: relation}, subjects, bound)
	return groups, ok, nil
}

// GroupsAboveEach answers from the index in memory where it can, else in
// one read where the backend can, and group by group otherwise.
func (s *indexedSnapshot) GroupsAboveEach(ctx context.Context, groups []tuples.Object, relation string) ([][]tuples.GroupAbove, bool, error) {
	if s.mem != nil && len(groups) > 0 {
		rows := make([][]tuples.GroupAbove, len(groups))
		ok := true
		for i, g := range groups {
			if rows[i], ok = s.mem.above(IndexedRelation{Type: g.Type, Relation: relation}, g.ID, s.bound); !ok {
				break
			}
		}
		if ok {
			return rows, true, nil
		}
	}
	if s.ix == nil {
		return nil, false, nil
	}
	return tuples.GroupsAboveEach(ctx, s.ix, groups, relation)
}

// Subjects answers the reads of a relation the index in memory holds from it
// where it can, and from the backend otherwise.
func (s *indexedSnapshot) Subjects(ctx context.Context, obj tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	if s.mem != nil {
		if keys, ok := s.mem.stored(IndexedRelation{Type: obj.Type, Relation: relation}, obj.ID); ok {
			return subjects(keys, f)
		}
	}
	return s.Reader.Subjects(ctx, obj, relation, f)
}

// SubjectsOf answers from the index in memory where it holds every
// object's relation (its tuples carry no payloads), and from the backend
// otherwise.
func (s *indexedSnapshot) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	if s.mem != nil && len(objs) > 0 {
		all := make([][]string, len(objs))
		ok := true
		for i, o := range objs {
			if all[i], ok = s.mem.stored(IndexedRelation{Type: o.Type, Relation: relation}, o.ID); !ok {
				break
			}
		}
		if ok {
			return func(yield func(tuples.Tuple, error) bool) {
				for i, o := range objs {
					for x := range subjects(all[i], f) {
						if !yield(tuples.New(o, relation, x), nil) {
							return
						}
					}
				}
			}
		}
	}
	return s.Reader.SubjectsOf(ctx, objs, relation, f)
}

// ObjectsOf answers from the index in memory where it holds every
// subject's groups exactly, and from the backend otherwise.
func (s *indexedSnapshot) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	if s.mem != nil && len(subjs) > 0 {
		ir := IndexedRelation{Type: objectType, Relation: relation}
		all := make([][]string, len(subjs))
		ok := true
		for i, x := range subjs {
			if all[i], ok = s.mem.groups(ir, x); !ok {
				break
			}
		}
		if ok {
			return func(yield func(tuples.Tuple, error) bool) {
				for i, x := range subjs {
					for _, id := range all[i] {
						if !yield(tuples.New(tuples.Object{Type: objectType, ID: id}, relation, x), nil) {
							return
						}
					}
				}
			}
		}
	}
	return s.Reader.ObjectsOf(ctx, subjs, objectType, relation)
}

// SubjectsWithBelow answers from the index in memory where it can, else
// from the backend where it reads its index downwards
// (tuples.GroupsBelowReader); ok is false where neither can.
func (s *indexedSnapshot) SubjectsWithBelow(ctx context.Context, groups []tuples.Object, relation string) (map[tuples.Object][]tuples.Subject, bool, error) {
	if s.mem != nil && len(groups) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if got, ok := s.mem.below(IndexedRelation{Type: groups[0].Type, Relation: relation}, groups); ok {
			return got, true, nil
		}
	}
	b, ok := s.ix.(tuples.GroupsBelowReader)
	if s.ix == nil || !ok {
		return nil, false, nil
	}
	return b.SubjectsWithBelow(ctx, groups, relation)
}

// edge is a stored subject set of a nesting relation: parent#rel holds
// child#rel.
type edge struct{ parent, child string }

// indexUpdate derives the index changes of one nesting relation from a
// batch of tuple changes, reading the revision the batch builds on.
type indexUpdate struct {
	ctx      context.Context
	lim      indexLimits
	r        tuples.Reads
	ix       IndexReads
	typ, rel string
	// added and removed are the edges the batch really changes;
	// addedBelow and addedAbove index the added ones by parent and by
	// child (an import may add tens of thousands).
	added, removed         map[edge]bool
	addedBelow, addedAbove map[string][]string
	parents                map[string][]string // new parents, memoised
	rows                   map[string]rowRead  // stored rows, memoised
}

type rowRead struct {
	row      []tuples.GroupAbove
	overflow bool
}

// entries are the stored entries of group g's row.
func (r rowRead) entries(typ, rel, g string) []IndexChange {
	var out []IndexChange
	if r.overflow {
		out = append(out, IndexChange{Type: typ, Relation: rel, Group: g})
	}
	for _, a := range r.row {
		out = append(out, IndexChange{Type: typ, Relation: rel, Group: g, Above: a.ID, Chain: a.Chain})
	}
	return out
}

// indexChanges derives the index changes of changes (planned against r,
// the revision they build on) for every indexed relation of sch.
func indexChanges(ctx context.Context, lim indexLimits, r tuples.Reads, ix IndexReads, sch *schema.Schema, changes []tuples.Change) ([]IndexChange, error) {
	if sch == nil {
		return nil, nil
	}
	var out []IndexChange
	for _, rel := range sch.Relations {
		if !rel.GroupIndexed() {
			continue
		}
		typ := rel.Type.Name
		var edges []tuples.Change
		for _, c := range changes {
			t := c.Tuple
			if t.ObjectType == typ && t.Relation == rel.Name && t.SubjectType == typ && t.SubjectRelation == rel.Name {
				edges = append(edges, c)
			}
		}
		if len(edges) == 0 {
			continue
		}
		on, err := ix.GroupIndexState(ctx, typ, rel.Name)
		if err != nil {
			return nil, err
		}
		if !on {
			continue
		}
		u := &indexUpdate{ctx: ctx, lim: lim, r: r, ix: ix, typ: typ, rel: rel.Name,
			added: map[edge]bool{}, removed: map[edge]bool{}, parents: map[string][]string{}, rows: map[string]rowRead{}}
		for _, c := range edges {
			t := c.Tuple
			e := edge{parent: t.ObjectID, child: t.SubjectID}
			had, err := r.Has(ctx, t.Object(), t.Relation, t.Subject())
			if err != nil {
				return nil, err
			}
			delete(u.added, e)
			delete(u.removed, e)
			switch {
			case c.Kind == tuples.ChangeWrite && !had:
				u.added[e] = true
			case c.Kind == tuples.ChangeDelete && had:
				u.removed[e] = true
			}
		}
		if len(u.added) == 0 && len(u.removed) == 0 {
			continue
		}
		u.addedBelow, u.addedAbove = map[string][]string{}, map[string][]string{}
		for e := range u.added {
			u.addedBelow[e.parent] = append(u.addedBelow[e.parent], e.child)
			u.addedAbove[e.child] = append(u.addedAbove[e.child], e.parent)
		}
		ch, err := u.changes()
		if err != nil {
			return nil, fmt.Errorf("membership index of %s: %w", rel, err)
		}
		out = append(out, ch...)
	}
	return out, nil
}

// changes recomputes the rows of every group below a changed edge, in the
// graph before the batch or after it: only those rows can change.
func (u *indexUpdate) changes() ([]IndexChange, error) {
	affected, err := u.below()
	if err != nil {
		return nil, err
	}
	if affected == nil {
		return u.drop()
	}
	groups := make([]string, 0, len(affected))
	for g := range affected {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	var out []IndexChange
	for _, g := range groups {
		if err := u.ctx.Err(); err != nil {
			return nil, err
		}
		row, overflow, err := u.newRow(g, affected)
		if err != nil {
			return nil, err
		}
		sr, err := u.storedRow(g)
		if err != nil {
			return nil, err
		}
		out = append(out, diffRow(u.typ, u.rel, g, sr.entries(u.typ, u.rel, g), row, overflow)...)
	}
	return out, nil
}

// below returns the groups at or below the child of a changed edge, in
// the old graph and the new one; nil when there are more than the
// limit.
func (u *indexUpdate) below() (map[string]bool, error) {
	seen := map[string]bool{}
	var stack []string
	for e := range u.added {
		stack = append(stack, e.child)
	}
	for e := range u.removed {
		stack = append(stack, e.child)
	}
	for _, g := range stack {
		seen[g] = true
	}
	f := tuples.SubjectFilter{Sets: true, Type: u.typ, Relation: u.rel}
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visit := func(c string) {
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
		// Old children, deleted ones included; then the added ones.
		for s, err := range u.r.Subjects(u.ctx, tuples.Object{Type: u.typ, ID: g}, u.rel, f) {
			if err != nil {
				return nil, err
			}
			visit(s.ID)
		}
		for _, c := range u.addedBelow[g] {
			visit(c)
		}
		if len(seen) > u.lim.recompute {
			return nil, nil
		}
	}
	return seen, nil
}

// parentsOf returns g's parents after the batch.
func (u *indexUpdate) parentsOf(g string) ([]string, error) {
	if p, ok := u.parents[g]; ok {
		return p, nil
	}
	var ps []string
	for o, err := range u.r.Reverse(u.ctx, tuples.Subject{Type: u.typ, ID: g, Relation: u.rel}, u.typ, u.rel) {
		if err != nil {
			return nil, err
		}
		if !u.removed[edge{parent: o.ID, child: g}] {
			ps = append(ps, o.ID)
		}
	}
	ps = append(ps, u.addedAbove[g]...)
	u.parents[g] = ps
	return ps, nil
}

// storedRow reads (once) the row of a group whose row the batch leaves
// as it is.
func (u *indexUpdate) storedRow(g string) (rowRead, error) {
	if r, ok := u.rows[g]; ok {
		return r, nil
	}
	row, overflow, err := u.ix.GroupIndexRow(u.ctx, u.typ, u.rel, g)
	if err != nil {
		return rowRead{}, err
	}
	r := rowRead{row: row, overflow: overflow}
	u.rows[g] = r
	return r, nil
}

// newRow computes g's row after the batch: a shortest-path search up
// from g, in order of distance. A group of affected is expanded through
// its new parents; any other group's stored row is still right (nothing
// above it changed, or it would be affected), so its entries are added at
// once, shifted by its distance, and the groups they name, which are
// above it and so unaffected too, need no expansion of their own unless
// reached more cheaply another way.
func (u *indexUpdate) newRow(g string, affected map[string]bool) (row []tuples.GroupAbove, overflow bool, err error) {
	dist := map[string]int{g: 0}
	viaRow := map[string]bool{}
	buckets := [][]string{{g}}
	relax := func(h string, d int, fromRow bool) {
		if old, ok := dist[h]; ok && old <= d {
			return
		}
		dist[h] = d
		viaRow[h] = fromRow
		for len(buckets) <= d {
			buckets = append(buckets, nil)
		}
		buckets[d] = append(buckets[d], h)
	}
	for d := 0; d < len(buckets); d++ {
		for i := 0; i < len(buckets[d]); i++ {
			h := buckets[d][i]
			if dist[h] != d {
				continue // reached more cheaply since
			}
			if len(dist)-1 > u.lim.bound || d > MaxIndexChain {
				return nil, true, nil
			}
			if affected[h] {
				ps, err := u.parentsOf(h)
				if err != nil {
					return nil, false, err
				}
				for _, p := range ps {
					relax(p, d+1, false)
				}
				continue
			}
			if viaRow[h] {
				continue // its row is inside the row that reached it
			}
			sr, err := u.storedRow(h)
			if err != nil {
				return nil, false, err
			}
			if sr.overflow {
				return nil, true, nil
			}
			for _, a := range sr.row {
				relax(a.ID, d+a.Chain, true)
			}
		}
		buckets[d] = nil
	}
	delete(dist, g)
	if len(dist) > u.lim.bound {
		return nil, true, nil
	}
	for h, d := range dist {
		if d > MaxIndexChain {
			return nil, true, nil
		}
		row = append(row, tuples.GroupAbove{ID: h, Chain: d})
	}
	slices.SortFunc(row, func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) })
	return row, false, nil
}

// diffRow turns a group's stored entries into its new row (or overflow
// marker).
func diffRow(typ, rel, g string, old []IndexChange, row []tuples.GroupAbove, overflow bool) []IndexChange {
	want := map[IndexChange]bool{}
	if overflow {
		want[IndexChange{Type: typ, Relation: rel, Group: g}] = true
	} else {
		for _, a := range row {
			want[IndexChange{Type: typ, Relation: rel, Group: g, Above: a.ID, Chain: a.Chain}] = true
		}
	}
	var out []IndexChange
	for _, o := range old {
		if !want[o] {
			o.Delete = true
			out = append(out, o)
		}
		delete(want, o)
	}
	if overflow {
		if want[IndexChange{Type: typ, Relation: rel, Group: g}] {
			out = append(out, IndexChange{Type: typ, Relation: rel, Group: g})
		}
		return out
	}
	for _, a := range row {
		c := IndexChange{Type: typ, Relation: rel, Group: g, Above: a.ID, Chain: a.Chain}
		if want[c] {
			out = append(out, c)
		}
	}
	return out
}

// drop removes the relation's index: its state entry and every entry.
func (u *indexUpdate) drop() ([]IndexChange, error) {
	return dropIndex(u.ctx, u.ix, u.typ, u.rel)
}

func dropIndex(ctx context.Context, ix IndexReads, typ, rel string) ([]IndexChange, error) {
	out := []IndexChange{{Delete: true, Type: typ, Relation: rel}}
	for c, err := range ix.GroupIndexEntries(ctx, typ, rel) {
		if err != nil {
			return nil, err
		}
		c.Delete = true
		out = append(out, c)
	}
	return out, nil
}

// buildIndex computes the whole index of typ#rel from its tuples, as the
// changes that replace whatever is stored and turn its state on. tell,
// when set, is told how far it got: after each page of subject sets read,
// and every buildProgressRows rows computed.
func buildIndex(ctx context.Context, bound int, r tuples.Reads, ix IndexReads, typ, rel string, tell func(IndexProgress)) ([]IndexChange, error) {
	p := IndexProgress{Type: typ, Relation: rel}
	if tell == nil {
		tell = func(IndexProgress) {}
	}
	parents := map[string][]string{}
	f := tuples.Filter{ObjectType: typ, Relation: rel, SubjectType: typ, SubjectRelation: rel}
	cursor := ""
	for {
		ts, next, err := r.Read(ctx, f, cursor, 10000)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			parents[t.SubjectID] = append(parents[t.SubjectID], t.ObjectID)
		}
		p.Edges += len(ts)
		tell(p)
		if next == "" {
			break
		}
		cursor = next
	}
	p.Groups = len(parents)
	want := map[IndexChange]bool{}
	var order []IndexChange
	for g := range parents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.Rows++; p.Rows%buildProgressRows == 0 || p.Rows == p.Groups {
			tell(p)
		}
		row, overflow := rowFromParents(g, parents, bound)
		if overflow {
			c := IndexChange{Type: typ, Relation: rel, Group: g}
			want[c] = true
			order = append(order, c)
			continue
		}
		for _, a := range row {
			c := IndexChange{Type: typ, Relation: rel, Group: g, Above: a.ID, Chain: a.Chain}
			want[c] = true
			order = append(order, c)
		}
	}
	var out []IndexChange
	for c, err := range ix.GroupIndexEntries(ctx, typ, rel) {
		if err != nil {
			return nil, err
		}
		if want[c] {
			delete(want, c) // stored already, as it should be
			continue
		}
		c.Delete = true
		out = append(out, c)
	}
	for _, c := range order {
		if want[c] {
			out = append(out, c)
		}
	}
	return append(out, IndexChange{Type: typ, Relation: rel}), nil
}

// buildProgressRows is how many rows a build computes between two
// reports of its progress.
const buildProgressRows = 1000

// rowFromParents is a breadth-first search up from g over parents.
func rowFromParents(g string, parents map[string][]string, bound int) ([]tuples.GroupAbove, bool) {
	dist := map[string]int{g: 0}
	frontier := []string{g}
	var row []tuples.GroupAbove
	for d := 1; len(frontier) > 0; d++ {
		var next []string
		for _, h := range frontier {
			for _, p := range parents[h] {
				if _, ok := dist[p]; ok {
					continue
				}
				dist[p] = d
				if d > MaxIndexChain || len(dist)-1 > bound {
					return nil, true
				}
				row = append(row, tuples.GroupAbove{ID: p, Chain: d})
				next = append(next, p)
			}
		}
		frontier = next
	}
	slices.SortFunc(row, func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) })
	return row, false
}

// maintainIndex stages, in tx, the index changes of changes, when the
// backend keeps an index.
func maintainIndex(ctx context.Context, lim indexLimits, tx Txn, sch *schema.Schema, changes []tuples.Change) error {
	if err := maintainCounts(ctx, tx, sch, changes); err != nil {
		return err
	}
	it, ok := tx.(IndexTxn)
	if !ok {
		return nil
	}
	out, err := indexChanges(ctx, lim, tx, it, sch, changes)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		it.WriteGroupIndex(out)
	}
	return nil
}

// schemaIndexChanges stages the index changes of a schema change: a
// relation that becomes indexed is built from its tuples, one that stops
// being indexed (no longer nesting, or its subjects may now carry a
// condition or an expiry) loses its index.
func schemaIndexChanges(ctx context.Context, lim indexLimits, tx Txn, next *schema.Schema) error {
	if err := schemaCountChanges(ctx, tx, next); err != nil {
		return err
	}
	it, ok := tx.(IndexTxn)
	if !ok {
		return nil
	}
	var out []IndexChange
	for _, rel := range next.Relations {
		if !rel.GroupIndexed() {
			continue
		}
		on, err := it.GroupIndexState(ctx, rel.Type.Name, rel.Name)
		if err != nil {
			return err
		}
		if on {
			continue
		}
		ch, err := buildIndex(ctx, lim.bound, tx, it, rel.Type.Name, rel.Name, nil)
		if err != nil {
			return fmt.Errorf("build the membership index of %s: %w", rel, err)
		}
		out = append(out, ch...)
	}
	indexed, err := it.GroupIndexRelations(ctx)
	if err != nil {
		return err
	}
	for _, ir := range indexed {
		r := next.Relation(ir.Type, ir.Relation)
		if r != nil && r.GroupIndexed() {
			continue
		}
		ch, err := dropIndex(ctx, it, ir.Type, ir.Relation)
		if err != nil {
			return fmt.Errorf("drop the membership index of %s#%s: %w", ir.Type, ir.Relation, err)
		}
		out = append(out, ch...)
	}
	if len(out) > 0 {
		it.WriteGroupIndex(out)
	}
	return nil
}

// IndexStatus describes the membership index of one nesting relation at
// a revision.
type IndexStatus struct {
	Type, Relation string
	// Maintained: the index is built and kept in step with the tuples;
	// otherwise the checker walks (`docket db index build` builds it).
	Maintained bool
	// Groups counts the groups with a row, Entries the entries of all
	// rows, Overflowed the groups above the bound, left to the walk.
	Groups, Entries, Overflowed int
	// Counts are the relation's counts of subject sets (counts.go), nil
	// when none are kept (a database written before them: `docket db
	// index build` counts it).
	Counts *tuples.NestingCounts
}

// Indexer is implemented by the stores of this package: the membership
// index's status and its building, for an existing store.
type Indexer interface {
	// IndexStatus reports the index of every nesting relation of the
	// schema at rev (0 = latest), and whether the backend keeps one.
	IndexStatus(ctx context.Context, rev tuples.Revision) (st []IndexStatus, supported bool, err error)
	// BuildIndex builds the index of every nesting relation whose index
	// is not maintained, one revision per relation, so an interrupted
	// build resumes where it stopped: relations already built are kept,
	// and the one it was building has no index until it is built whole
	// (its state entry commits with its rows), so checks walk it
	// meanwhile. progress, when set, is told how each build goes and,
	// with Built set, each relation once its revision is committed.
	BuildIndex(ctx context.Context, progress func(IndexProgress)) ([]IndexStatus, error)
}

// IndexProgress is how far the build of one relation's index got.
type IndexProgress struct {
	Type, Relation string
	// Edges counts the relation's subject sets read so far; Rows the
	// groups whose rows are computed, of Groups (0 while reading).
	Edges, Rows, Groups int
	// Built is set once the relation's index is committed.
	Built *IndexStatus
}

func (s *store) IndexStatus(ctx context.Context, rev tuples.Revision) ([]IndexStatus, bool, error) {
	r, err := s.b.Reader(ctx, rev)
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	ix, ok := r.(IndexReads)
	if !ok {
		return nil, false, nil
	}
	sch, err := s.schemaOf(ctx, r)
	if err != nil || sch == nil {
		return nil, true, err
	}
	var out []IndexStatus
	for _, rel := range sch.Relations {
		if !rel.GroupIndexed() {
			continue
		}
		st, err := indexStatus(ctx, ix, rel.Type.Name, rel.Name)
		if err != nil {
			return nil, true, err
		}
		if cr, ok := r.(CountReads); ok && rel.NestingCounted() {
			c, kept, err := cr.NestingCounts(ctx, rel.Type.Name, rel.Name)
			if err != nil {
				return nil, true, err
			}
			if kept {
				st.Counts = &c
			}
		}
		out = append(out, st)
	}
	return out, true, nil
}

func indexStatus(ctx context.Context, ix IndexReads, typ, rel string) (IndexStatus, error) {
	st := IndexStatus{Type: typ, Relation: rel}
	on, err := ix.GroupIndexState(ctx, typ, rel)
	if err != nil {
		return st, err
	}
	st.Maintained = on
	last := ""
	for c, err := range ix.GroupIndexEntries(ctx, typ, rel) {
		if err != nil {
			return st, err
		}
		if c.Above == "" {
			st.Overflowed++
			continue
		}
		st.Entries++
		if c.Group != last {
			st.Groups++
			last = c.Group
		}
	}
	return st, nil
}

func (s *store) BuildIndex(ctx context.Context, progress func(IndexProgress)) ([]IndexStatus, error) {
	var done []IndexStatus
	for {
		var built *IndexStatus
		counted := false
		_, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
			built, counted = nil, false
			it, ok := tx.(IndexTxn)
			if !ok {
				return fmt.Errorf("this backend keeps no membership index")
			}
			sch, err := s.schemaOf(ctx, tx)
			if err != nil || sch == nil {
				if err == nil {
					err = ErrNoCommit
				}
				return err
			}
			// The counts of nesting relations that lack them, all with
			// the first revision (a relation's counts are one entry).
			if ct, ok := tx.(CountTxn); ok {
				out, err := missingCounts(ctx, tx, ct, sch, false)
				if err != nil {
					return err
				}
				if len(out) > 0 {
					counted = true
					if err := ct.WriteNestingCounts(ctx, out); err != nil {
						return err
					}
				}
			}
			for _, rel := range sch.Relations {
				if !rel.GroupIndexed() {
					continue
				}
				on, err := it.GroupIndexState(ctx, rel.Type.Name, rel.Name)
				if err != nil {
					return err
				}
				if on {
					continue
				}
				ch, err := buildIndex(ctx, s.index.bound, tx, it, rel.Type.Name, rel.Name, progress)
				if err != nil {
					return fmt.Errorf("build the membership index of %s: %w", rel, err)
				}
				it.WriteGroupIndex(ch)
				st := IndexStatus{Type: rel.Type.Name, Relation: rel.Name, Maintained: true}
				for _, c := range ch {
					switch {
					case c.Delete || c.Group == "":
					case c.Above == "":
						st.Overflowed++
					default:
						st.Entries++
					}
				}
				built = &st
				return nil
			}
			if counted {
				return nil
			}
			return ErrNoCommit
		})
		if err != nil {
			return done, err
		}
		if built == nil {
			if counted {
				continue
			}
			return done, nil
		}
		done = append(done, *built)
		if progress != nil {
			progress(IndexProgress{Type: built.Type, Relation: built.Relation, Built: built})
		}
	}
}

// loadIndex hands a bulk load the index changes of its edges, derived
// from the revision it builds on.
func loadIndex(ctx context.Context, lim indexLimits, ld Loader, sch *schema.Schema, edges []tuples.Change) error {
	if err := loadCounts(ctx, ld, sch, edges); err != nil {
		return err
	}
	il, ok := ld.(IndexLoader)
	if !ok || len(edges) == 0 {
		return nil
	}
	base, err := il.Base(ctx)
	if err != nil {
		return err
	}
	defer base.Close()
	ix, ok := base.(IndexReads)
	if !ok {
		return nil
	}
	out, err := indexChanges(ctx, lim, base, ix, sch, edges)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		il.WriteGroupIndex(out)
	}
	return nil
}

// VerifyIndex compares the membership index stored at r's revision with
// the one r's tuples make, for every maintained relation of sch, and the
// counts of nesting relations with the tuples too, and describes each
// difference: a row entry that is missing, stale or of the
// wrong chain, or the index of a relation sch does not index. An overflow
// marker is never wrong (the checker walks that group), only an entry of
// its group beside it.
func VerifyIndex(ctx context.Context, r Reader, sch *schema.Schema) ([]string, error) {
	problems, err := verifyCounts(ctx, r, sch)
	if err != nil {
		return nil, fmt.Errorf("verify the counts of nesting relations: %w", err)
	}
	ix, ok := r.(IndexReads)
	if !ok || sch == nil {
		return problems, nil
	}
	indexed, err := ix.GroupIndexRelations(ctx)
	if err != nil {
		return nil, err
	}
	for _, ir := range indexed {
		rel := sch.Relation(ir.Type, ir.Relation)
		if rel == nil || !rel.GroupIndexed() {
			problems = append(problems, fmt.Sprintf("membership index of %s#%s: kept, but the schema does not index the relation", ir.Type, ir.Relation))
			continue
		}
		want, err := buildIndex(ctx, math.MaxInt, r, emptyIndex{}, ir.Type, ir.Relation, nil)
		if err != nil {
			return nil, err
		}
		rows := map[string]map[string]int{}
		for _, c := range want {
			if c.Group == "" {
				continue
			}
			if rows[c.Group] == nil {
				rows[c.Group] = map[string]int{}
			}
			rows[c.Group][c.Above] = c.Chain
		}
		got := map[string]map[string]int{}
		overflow := map[string]bool{}
		for c, err := range ix.GroupIndexEntries(ctx, ir.Type, ir.Relation) {
			if err != nil {
				return nil, err
			}
			if c.Above == "" {
				overflow[c.Group] = true
				continue
			}
			if got[c.Group] == nil {
				got[c.Group] = map[string]int{}
			}
			got[c.Group][c.Above] = c.Chain
		}
		name := ir.Type + "#" + ir.Relation
		for g, row := range got {
			if overflow[g] {
				problems = append(problems, fmt.Sprintf("membership index of %s: %s:%s has an overflow marker and %d entries beside it", name, ir.Type, g, len(row)))
				continue
			}
			for a, chain := range row {
				switch w, ok := rows[g][a]; {
				case !ok:
					problems = append(problems, fmt.Sprintf("membership index of %s: %s:%s is indexed under %s:%s, which the tuples do not nest it in", name, ir.Type, g, ir.Type, a))
				case w != chain:
					problems = append(problems, fmt.Sprintf("membership index of %s: %s:%s under %s:%s at chain %d; the tuples make it %d", name, ir.Type, g, ir.Type, a, chain, w))
				}
			}
		}
		for g, row := range rows {
			if overflow[g] {
				continue
			}
			for a := range row {
				if _, ok := got[g][a]; !ok {
					problems = append(problems, fmt.Sprintf("membership index of %s: %s:%s is nested in %s:%s, which the index misses", name, ir.Type, g, ir.Type, a))
				}
			}
		}
	}
	return problems, nil
}

// emptyIndex reads as an index holding nothing, so that buildIndex lists
// every entry the tuples make.
type emptyIndex struct{}

func (emptyIndex) GroupsAbove(context.Context, tuples.Object, string) ([]tuples.GroupAbove, bool, error) {
	return nil, false, nil
}
func (emptyIndex) GroupIndexState(context.Context, string, string) (bool, error) { return false, nil }
func (emptyIndex) GroupIndexRow(context.Context, string, string, string) ([]tuples.GroupAbove, bool, error) {
	return nil, false, nil
}
func (emptyIndex) GroupIndexEntries(context.Context, string, string) iter.Seq2[IndexChange, error] {
	return func(func(IndexChange, error) bool) {}
}
func (emptyIndex) GroupIndexRelations(context.Context) ([]IndexedRelation, error) { return nil, nil }
