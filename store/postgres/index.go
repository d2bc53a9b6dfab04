package postgres

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// The membership index (store/index.go) is kept in docket_group_index,
// at revisions as tuples are: a row per entry with created_rev and
// deleted_rev, written in the transaction that writes the tuples it is
// derived from. An entry is (object_type, relation, group_id, above_id,
// chain); the state entry of a relation, present while its index is
// maintained, has group_id and above_id '' and chain 0, and a group's
// overflow marker above_id '' and chain 0.

// indexStates caches, per reader, which relations' index is maintained:
// a reader's revision never changes, so neither does the answer.
type indexStates struct {
	mu sync.Mutex
	on map[[2]string]bool
}

func (s *indexStates) get(typ, rel string) (on, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	on, ok = s.on[[2]string{typ, rel}]
	return on, ok
}

func (s *indexStates) set(typ, rel string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on == nil {
		s.on = make(map[[2]string]bool)
	}
	s.on[[2]string{typ, rel}] = on
}

// GroupIndexState reports whether the index of typ#rel is maintained.
func (r *reader) GroupIndexState(ctx context.Context, typ, rel string) (bool, error) {
	if err := r.open(); err != nil {
		return false, err
	}
	if on, ok := r.states.get(typ, rel); ok {
		return on, nil
	}
	var on bool
	err := r.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM docket_group_index
		WHERE object_type = $2 AND relation = $3 AND group_id = '' AND above_id = '' AND `+visible+`)`,
		int64(r.rev), typ, rel).Scan(&on)
	if err != nil {
		return false, classify(fmt.Sprintf("read the index state of %s#%s", typ, rel), err)
	}
	r.states.set(typ, rel, on)
	return on, nil
}

// indexRow reads group's row and, in the same statement, the relation's
// state entry (group "").
func (r *reader) indexRow(ctx context.Context, typ, rel, group string) (row []tuples.GroupAbove, overflow, on bool, err error) {
	rows, err := r.q.Query(ctx, `SELECT group_id, above_id, chain FROM docket_group_index
		WHERE object_type = $2 AND relation = $3 AND group_id IN ('', $4) AND `+visible+`
		ORDER BY group_id, above_id, chain`, int64(r.rev), typ, rel, group)
	if err != nil {
		return nil, false, false, classify(fmt.Sprintf("read the index row of %s:%s#%s", typ, group, rel), err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, above string
		var chain int16
		if err := rows.Scan(&g, &above, &chain); err != nil {
			return nil, false, false, classify(fmt.Sprintf("read the index row of %s:%s#%s", typ, group, rel), err)
		}
		switch {
		case g == "":
			on = true
		case above == "":
			overflow = true
		default:
			row = append(row, tuples.GroupAbove{ID: above, Chain: int(chain)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, false, classify(fmt.Sprintf("read the index row of %s:%s#%s", typ, group, rel), err)
	}
	r.states.set(typ, rel, on)
	return row, overflow, on, nil
}

// GroupIndexRow reads group's row as stored.
func (r *reader) GroupIndexRow(ctx context.Context, typ, rel, group string) ([]tuples.GroupAbove, bool, error) {
	if err := r.open(); err != nil {
		return nil, false, err
	}
	row, overflow, _, err := r.indexRow(ctx, typ, rel, group)
	return row, overflow, err
}

// GroupsAbove answers from group's row, when the relation's index is
// maintained and group is not over the bound: one statement, or none
// when the reader knows the relation is not indexed.
func (r *reader) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	if err := r.open(); err != nil {
		return nil, false, err
	}
	on, known := r.states.get(group.Type, relation)
	if known && !on {
		return nil, false, nil
	}
	if cached, ok := r.cachedGroups(group.Type, relation, []tuples.Object{group}); ok && known {
		if cached[0].overflow {
			return nil, false, nil
		}
		return cached[0].above, true, nil
	}
	row, overflow, on, err := r.indexRow(ctx, group.Type, relation, group.ID)
	if err != nil || !on || overflow {
		return nil, false, err
	}
	return row, true, nil
}

// GroupsAboveEach answers several groups of one type in one statement,
// which also reads the relation's state entry.
func (r *reader) GroupsAboveEach(ctx context.Context, groups []tuples.Object, relation string) ([][]tuples.GroupAbove, bool, error) {
	if err := r.open(); err != nil {
		return nil, false, err
	}
	if len(groups) == 0 {
		return nil, true, nil
	}
	typ := groups[0].Type
	on, known := r.states.get(typ, relation)
	if known && !on {
		return nil, false, nil
	}
	if cached, ok := r.cachedGroups(typ, relation, groups); ok && known {
		out := make([][]tuples.GroupAbove, len(groups))
		for i, g := range cached {
			if g.overflow {
				return nil, false, nil
			}
			out[i] = g.above
		}
		return out, true, nil
	}
	ids := make([]string, 0, len(groups)+1)
	ids = append(ids, "")
	at := make(map[string]int, len(groups))
	for i, g := range groups {
		if g.Type != typ {
			return nil, false, fmt.Errorf("read the index rows of %s#%s: groups of two types (%s and %s)", typ, relation, typ, g.Type)
		}
		if _, dup := at[g.ID]; !dup {
			at[g.ID] = i
			ids = append(ids, g.ID)
		}
	}
	what := fmt.Sprintf("read the index rows of %d %s#%s groups", len(groups), typ, relation)
	rows, err := r.q.Query(ctx, `SELECT group_id, above_id, chain FROM docket_group_index
		WHERE object_type = $2 AND relation = $3 AND group_id = ANY($4::text[]) AND `+visible+`
		ORDER BY group_id, above_id, chain`, int64(r.rev), typ, relation, ids)
	if err != nil {
		return nil, false, classify(what, err)
	}
	defer rows.Close()
	byID := make(map[string][]tuples.GroupAbove, len(at))
	on, overflow := false, false
	for rows.Next() {
		var g, above string
		var chain int16
		if err := rows.Scan(&g, &above, &chain); err != nil {
			return nil, false, classify(what, err)
		}
		switch {
		case g == "":
			on = true
		case above == "":
			overflow = true
		default:
			byID[g] = append(byID[g], tuples.GroupAbove{ID: above, Chain: int(chain)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, classify(what, err)
	}
	r.states.set(typ, relation, on)
	if !on || overflow {
		return nil, false, nil
	}
	out := make([][]tuples.GroupAbove, len(groups))
	for i, g := range groups {
		out[i] = byID[g.ID]
	}
	return out, true, nil
}

// GroupIndexEntries iterates every entry of typ#rel but the state
// entry, in key order.
func (r *reader) GroupIndexEntries(ctx context.Context, typ, rel string) iter.Seq2[store.IndexChange, error] {
	return func(yield func(store.IndexChange, error) bool) {
		if err := r.open(); err != nil {
			yield(store.IndexChange{}, err)
			return
		}
		got, err := collect(ctx, r.q, `SELECT group_id, above_id, chain FROM docket_group_index
			WHERE object_type = $2 AND relation = $3 AND group_id <> '' AND `+visible+`
			ORDER BY group_id, above_id, chain`, []any{int64(r.rev), typ, rel}, func(rows pgx.Rows) (store.IndexChange, error) {
			c := store.IndexChange{Type: typ, Relation: rel}
			var chain int16
			err := rows.Scan(&c.Group, &c.Above, &chain)
			c.Chain = int(chain)
			return c, err
		})
		if err != nil {
			yield(store.IndexChange{}, classify(fmt.Sprintf("read the index of %s#%s", typ, rel), err))
			return
		}
		for _, c := range got {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// GroupIndexRelations lists the relations whose index is maintained.
func (r *reader) GroupIndexRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	out, err := collect(ctx, r.q, `SELECT object_type, relation FROM docket_group_index
		WHERE group_id = '' AND above_id = '' AND `+visible+`
		ORDER BY object_type, relation`, []any{int64(r.rev)}, func(rows pgx.Rows) (store.IndexedRelation, error) {
		var ir store.IndexedRelation
		err := rows.Scan(&ir.Type, &ir.Relation)
		return ir, err
	})
	if err != nil {
		return nil, classify("read the indexed relations", err)
	}
	return out, nil
}

// WriteGroupIndex stages index changes in the transaction.
func (t *txn) WriteGroupIndex(changes []store.IndexChange) {
	t.index = append(t.index, changes...)
}

// Base opens a reader at the revision the load builds on, through the
// pool: that revision is committed, and the load's own rows, at the next
// one, are not visible at it.
func (l *load) Base(ctx context.Context) (store.Reader, error) {
	return l.b.Reader(ctx, l.head.latest)
}

// WriteGroupIndex stages index changes for the load's commit.
func (l *load) WriteGroupIndex(changes []store.IndexChange) {
	l.index = append(l.index, changes...)
}

// indexKey is an entry's key as stored.
type indexKey struct {
	typ, rel, group, above string
	chain                  int16
}

// queueIndex queues the statements that apply index changes at rev, of
// which the last for an entry wins (as the key-value backends apply them
// in order): deletes close the live entry, writes add one unless it is
// live.
func queueIndex(batch *pgx.Batch, rev tuples.Revision, changes []store.IndexChange) {
	if len(changes) == 0 {
		return
	}
	last := make(map[indexKey]bool, len(changes)) // entry -> deleted
	var order []indexKey
	for _, c := range changes {
		k := indexKey{c.Type, c.Relation, c.Group, c.Above, int16(c.Chain)}
		if c.Group == "" || c.Above == "" {
			k.chain = 0 // state entries and overflow markers have no chain
		}
		if _, seen := last[k]; !seen {
			order = append(order, k)
		}
		last[k] = c.Delete
	}
	var d, w [4][]string
	var dchain, wchain []int16
	for _, k := range order {
		f := [4]string{k.typ, k.rel, k.group, k.above}
		chain := k.chain
		if last[k] {
			for i := range f {
				d[i] = append(d[i], f[i])
			}
			dchain = append(dchain, chain)
		} else {
			for i := range f {
				w[i] = append(w[i], f[i])
			}
			wchain = append(wchain, chain)
		}
	}
	if len(dchain) > 0 {
		batch.Queue(`UPDATE docket_group_index x SET deleted_rev = $1
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[]) AS d(ot, rel, g, a, chain)
			WHERE x.deleted_rev IS NULL AND x.object_type = d.ot AND x.relation = d.rel
			AND x.group_id = d.g AND x.above_id = d.a AND x.chain = d.chain`,
			int64(rev), d[0], d[1], d[2], d[3], dchain)
	}
	if len(wchain) > 0 {
		batch.Queue(`INSERT INTO docket_group_index (object_type, relation, group_id, above_id, chain, created_rev)
			SELECT w.ot, w.rel, w.g, w.a, w.chain, $1::bigint
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[]) AS w(ot, rel, g, a, chain)
			WHERE NOT EXISTS (SELECT 1 FROM docket_group_index x WHERE x.deleted_rev IS NULL
				AND x.object_type = w.ot AND x.relation = w.rel AND x.group_id = w.g AND x.above_id = w.a AND x.chain = w.chain)`,
			int64(rev), w[0], w[1], w[2], w[3], wchain)
	}
}

// SubjectsWithBelow reads the subjects of groups and of every group the
// index lists below them in one statement (per setChunk groups): the
// groups below one are the index rows whose above_id is it
// (docket_group_index_below), read only while the relation's index is
// maintained.
func (r *reader) SubjectsWithBelow(ctx context.Context, groups []tuples.Object, relation string) (map[tuples.Object][]tuples.Subject, bool, error) {
	if err := r.open(); err != nil {
		return nil, false, err
	}
	out := make(map[tuples.Object][]tuples.Subject, len(groups))
	if len(groups) == 0 {
		return out, true, nil
	}
	typ := groups[0].Type
	names := interned{}
	for c := 0; c < len(groups); c += setChunk {
		chunk := groups[c:min(c+setChunk, len(groups))]
		ids := make([]string, len(chunk))
		for i, g := range chunk {
			if g.Type != typ {
				return nil, false, fmt.Errorf("read the subjects below %s#%s groups: groups of two types (%s and %s)", typ, relation, typ, g.Type)
			}
			ids[i] = g.ID
		}
		what := fmt.Sprintf("read the subjects of %d %s#%s groups and the groups below them", len(chunk), typ, relation)
		// LATERAL ... OFFSET 0, as in SubjectsOf: one index range per
		// group asked, whatever the planner's statistics say.
		rows, err := r.q.Query(ctx, `WITH a(id) AS (SELECT unnest($4::text[]) COLLATE "C"),
			g(id) AS (
				SELECT id FROM a
				UNION
				SELECT b.group_id FROM a CROSS JOIN LATERAL (SELECT i.group_id FROM docket_group_index i
					WHERE i.object_type = $2 AND i.relation = $3 AND i.above_id = a.id AND i.group_id <> ''
					AND i.created_rev <= $1 AND (i.deleted_rev IS NULL OR i.deleted_rev > $1) OFFSET 0) AS b
				WHERE EXISTS (SELECT 1 FROM docket_group_index s WHERE s.object_type = $2 AND s.relation = $3
					AND s.group_id = '' AND s.above_id = '' AND s.created_rev <= $1 AND (s.deleted_rev IS NULL OR s.deleted_rev > $1)))
			SELECT g.id, x.subject_type, x.subject_id, x.subject_relation
			FROM g LEFT JOIN LATERAL (SELECT t.subject_type, t.subject_id, t.subject_relation FROM docket_tuples t
				WHERE t.object_type = $2 AND t.object_id = g.id AND t.relation = $3 AND `+visibleT+unexpiredT(5)+`
				OFFSET 0) AS x ON true
			ORDER BY g.id, x.subject_type, x.subject_id, x.subject_relation`,
			int64(r.rev), typ, relation, ids, r.now)
		if err != nil {
			return nil, false, classify(what, err)
		}
		for rows.Next() {
			// The raw columns (text is its bytes in either format), the
			// few distinct types, relations and groups kept once: a
			// level of teams is hundreds of rows.
			raw := rows.RawValues()
			if len(raw) != 4 {
				rows.Close()
				return nil, false, classify(what, fmt.Errorf("%d columns, want 4", len(raw)))
			}
			g := tuples.Object{Type: typ, ID: names.get(raw[0])}
			if raw[1] == nil { // the LEFT JOIN's row of a group that stores nothing
				out[g] = nil
				continue
			}
			out[g] = append(out[g], tuples.Subject{Type: names.get(raw[1]), ID: string(raw[2]), Relation: names.get(raw[3])})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, classify(what, err)
		}
	}
	return out, true, nil
}

// interned keeps one copy of each name read.
type interned map[string]string

func (m interned) get(b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	m[s] = s
	return s
}

var (
	_ tuples.GroupsBelowReader = (*reader)(nil)
	_ store.IndexReads         = (*reader)(nil)
	_ store.IndexTxn           = (*txn)(nil)
	_ store.IndexLoader        = (*load)(nil)
)
