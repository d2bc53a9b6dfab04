package postgres

import (
	"context"
	"sort"
	"strconv"
	"sync"

	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// A check asks many questions of one object: is the user on the deny
// list, the creator, the assignee, which teams are on the access list.
// One query each would be one round trip each. Instead a snapshot reads
// every row of an object the first time it is asked about it, in one
// statement, and answers the object's point reads and subject scans
// from those rows while it is open: its revision never changes, so
// neither do they.
const (
	// objectRowsMax is the most rows an object may have to be read
	// whole; an object with more is asked one question at a time, as it
	// would be without the cache.
	objectRowsMax = 256
	// objectsMax bounds how many objects, and how many subjects, one
	// snapshot keeps (a long batch of checks on one snapshot reads
	// many), and rowsMax how many rows in all, a few MB; beyond either,
	// objects and subjects not yet read are asked one question at a time.
	objectsMax = 4096
	rowsMax    = 1 << 16
)

// relSubject is a row of an object: a relation and a subject.
type relSubject struct {
	relation string
	subject  tuples.Subject
}

func (a relSubject) less(b relSubject) bool {
	if a.relation != b.relation {
		return a.relation < b.relation
	}
	if a.subject.Type != b.subject.Type {
		return a.subject.Type < b.subject.Type
	}
	if a.subject.ID != b.subject.ID {
		return a.subject.ID < b.subject.ID
	}
	return a.subject.Relation < b.subject.Relation
}

// objectRows is what a snapshot knows of one object: its rows, in the
// order of the primary key, or that it has too many to keep.
type objectRows struct {
	rows []relSubject
	many bool
}

// objectCache holds a snapshot's objects, and its subjects, and the
// index rows of the groups its subjects were found in.
type objectCache struct {
	mu sync.Mutex
	m  map[tuples.Object]*objectRows
	s  map[tuples.Subject]*subjectRows
	g  map[groupKey]*groupRow
	// rows counts the rows kept in m and s.
	rows int
	// maxEntries and maxRows are objectsMax and rowsMax but in tests.
	maxEntries, maxRows int
}

func newObjectCache(maxEntries, maxRows int) *objectCache {
	if maxEntries <= 0 {
		maxEntries = objectsMax
	}
	if maxRows <= 0 {
		maxRows = rowsMax
	}
	return &objectCache{m: make(map[tuples.Object]*objectRows), s: make(map[tuples.Subject]*subjectRows), g: make(map[groupKey]*groupRow),
		maxEntries: maxEntries, maxRows: maxRows}
}

// rowsOf returns every row of obj, reading them in one statement on
// first use; ok is false when obj has more than objectRowsMax rows or
// the cache is full, and the caller then asks its own query.
func (r *reader) rowsOf(ctx context.Context, obj tuples.Object) (rows []relSubject, ok bool, err error) {
	c := r.objects
	if c == nil {
		return nil, false, nil
	}
	c.mu.Lock()
	e, found := c.m[obj]
	full := len(c.m) >= c.maxEntries || c.rows >= c.maxRows
	c.mu.Unlock()
	if found {
		return e.rows, !e.many, nil
	}
	if full {
		return nil, false, nil
	}
	// Ordered as the key-value backends' forward index and Subjects'
	// own query (COLLATE "C" compares bytes, as Go compares strings).
	got, err := collect(ctx, r.q, `SELECT relation, subject_type, subject_id, subject_relation FROM docket_tuples
		WHERE object_type = $2 AND object_id = $3 AND `+visible+unexpired(4)+`
		ORDER BY relation, subject_type, subject_id, subject_relation LIMIT `+strconv.Itoa(objectRowsMax+1),
		[]any{int64(r.rev), obj.Type, obj.ID, r.now}, func(rows pgx.Rows) (relSubject, error) {
			var x relSubject
			err := rows.Scan(&x.relation, &x.subject.Type, &x.subject.ID, &x.subject.Relation)
			return x, err
		})
	if err != nil {
		return nil, false, classify("read "+obj.String(), err)
	}
	e = &objectRows{rows: got}
	if len(got) > objectRowsMax {
		e = &objectRows{many: true}
	}
	c.mu.Lock()
	if _, dup := c.m[obj]; !dup && len(c.m) < c.maxEntries && c.rows < c.maxRows {
		c.m[obj] = e
		c.rows += len(e.rows)
	}
	c.mu.Unlock()
	return e.rows, !e.many, nil
}

// relationRows narrows an object's rows to one relation.
func relationRows(rows []relSubject, relation string) []relSubject {
	lo := sort.Search(len(rows), func(i int) bool { return rows[i].relation >= relation })
	hi := lo
	for hi < len(rows) && rows[hi].relation == relation {
		hi++
	}
	return rows[lo:hi]
}

// hasRow reports whether rows hold relation@subj.
func hasRow(rows []relSubject, relation string, subj tuples.Subject) bool {
	want := relSubject{relation, subj}
	i := sort.Search(len(rows), func(i int) bool { return !rows[i].less(want) })
	return i < len(rows) && rows[i] == want
}

// typeRelObject is a row of a subject: the object's type, the relation
// and the object's id.
type typeRelObject struct {
	objectType, relation, objectID string
}

// subjectRows is what a snapshot knows of one subject's rows.
type subjectRows struct {
	rows []typeRelObject
	many bool
}

// groupKey names a group of a relation in the membership index.
type groupKey struct{ typ, rel, group string }

// groupRow is a group's index row as stored: the groups above it, or
// its overflow marker.
type groupRow struct {
	above    []tuples.GroupAbove
	overflow bool
}

// subjectRowsOf returns every row whose subject is subj, reading them in one
// statement on first use, as rowsOf does for objects: lookups and nested
// groups ask one subject about many object types and relations.
//
// The same statement reads the membership index rows of the groups the
// subject is found in, for each relation whose index is maintained, and
// which relations among the subject's have one: a check that walks up
// from the subject asks for them next (GroupsAboveEach), and now finds
// them without a round trip of its own. Checks that never read the
// subject's rows (a direct grant, a deny) are not affected.
func (r *reader) subjectRowsOf(ctx context.Context, subj tuples.Subject) (rows []typeRelObject, ok bool, err error) {
	c := r.objects
	if c == nil {
		return nil, false, nil
	}
	c.mu.Lock()
	e, found := c.s[subj]
	full := len(c.s) >= c.maxEntries || c.rows >= c.maxRows
	c.mu.Unlock()
	if found {
		return e.rows, !e.many, nil
	}
	if full {
		return nil, false, nil
	}
	// kind 0: the subject's rows; 1: a relation among them whose index
	// is maintained (its state entry); 2: the index rows of a group the
	// subject is in, of such a relation.
	type row struct {
		kind                int16
		typ, rel, id, above string
		chain               int16
	}
	got, err := collect(ctx, r.q, `WITH s AS MATERIALIZED (SELECT object_type, relation, object_id FROM docket_tuples
			WHERE subject_type = $2 AND subject_id = $3 AND subject_relation = $4 AND `+visible+unexpired(5)+`
			ORDER BY object_type, relation, object_id LIMIT `+strconv.Itoa(objectRowsMax+1)+`),
		p AS MATERIALIZED (SELECT DISTINCT s.object_type, s.relation FROM s
			WHERE EXISTS (SELECT 1 FROM docket_group_index g WHERE g.object_type = s.object_type AND g.relation = s.relation
				AND g.group_id = '' AND g.above_id = '' AND g.created_rev <= $1 AND (g.deleted_rev IS NULL OR g.deleted_rev > $1)))
		SELECT 0::smallint, object_type, relation, object_id, '', 0::smallint FROM s
		UNION ALL
		SELECT 1::smallint, object_type, relation, '', '', 0::smallint FROM p
		UNION ALL
		SELECT 2::smallint, g.object_type, g.relation, g.group_id, g.above_id, g.chain
			FROM s JOIN p ON p.object_type = s.object_type AND p.relation = s.relation
			JOIN docket_group_index g ON g.object_type = s.object_type AND g.relation = s.relation AND g.group_id = s.object_id
			WHERE g.created_rev <= $1 AND (g.deleted_rev IS NULL OR g.deleted_rev > $1)
		ORDER BY 1, 2, 3, 4, 5, 6`,
		[]any{int64(r.rev), subj.Type, subj.ID, subj.Relation, r.now}, func(rows pgx.Rows) (row, error) {
			var x row
			err := rows.Scan(&x.kind, &x.typ, &x.rel, &x.id, &x.above, &x.chain)
			return x, err
		})
	if err != nil {
		return nil, false, classify("read the objects of "+subj.String(), err)
	}
	var own []typeRelObject
	indexed := map[[2]string]bool{}
	groups := map[groupKey]*groupRow{}
	for _, x := range got {
		switch x.kind {
		case 0:
			own = append(own, typeRelObject{objectType: x.typ, relation: x.rel, objectID: x.id})
		case 1:
			indexed[[2]string{x.typ, x.rel}] = true
		}
	}
	for _, o := range own {
		pair := [2]string{o.objectType, o.relation}
		if _, seen := indexed[pair]; !seen {
			indexed[pair] = false
		}
		if indexed[pair] {
			groups[groupKey{o.objectType, o.relation, o.objectID}] = &groupRow{}
		}
	}
	for _, x := range got {
		if x.kind != 2 {
			continue
		}
		g := groups[groupKey{x.typ, x.rel, x.id}]
		if x.above == "" {
			g.overflow = true
		} else {
			g.above = append(g.above, tuples.GroupAbove{ID: x.above, Chain: int(x.chain)})
		}
	}
	for pair, on := range indexed {
		r.states.set(pair[0], pair[1], on)
	}
	e = &subjectRows{rows: own}
	if len(own) > objectRowsMax {
		e = &subjectRows{many: true}
	}
	c.mu.Lock()
	if _, dup := c.s[subj]; !dup && len(c.s) < c.maxEntries && c.rows < c.maxRows {
		c.s[subj] = e
		c.rows += len(e.rows)
	}
	for k, g := range groups {
		if _, dup := c.g[k]; !dup && len(c.g) < c.maxEntries && c.rows < c.maxRows {
			c.g[k] = g
			c.rows += len(g.above)
		}
	}
	c.mu.Unlock()
	return e.rows, !e.many, nil
}

// cachedGroups returns the index rows of groups of typ#rel that
// subjectRowsOf read; ok is false unless it read every one.
func (r *reader) cachedGroups(typ, rel string, groups []tuples.Object) (rows []*groupRow, ok bool) {
	c := r.objects
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rows = make([]*groupRow, len(groups))
	for i, g := range groups {
		if g.Type != typ {
			return nil, false
		}
		if rows[i] = c.g[groupKey{typ, rel, g.ID}]; rows[i] == nil {
			return nil, false
		}
	}
	return rows, true
}

// typeRelationRows narrows a subject's rows to one object type and
// relation.
func typeRelationRows(rows []typeRelObject, objectType, relation string) []typeRelObject {
	lo := sort.Search(len(rows), func(i int) bool {
		return rows[i].objectType > objectType || (rows[i].objectType == objectType && rows[i].relation >= relation)
	})
	hi := lo
	for hi < len(rows) && rows[hi].objectType == objectType && rows[hi].relation == relation {
		hi++
	}
	return rows[lo:hi]
}
