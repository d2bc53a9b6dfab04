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

// objectCache holds a snapshot's objects, and its subjects.
type objectCache struct {
	mu sync.Mutex
	m  map[tuples.Object]*objectRows
	s  map[tuples.Subject]*subjectRows
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
	return &objectCache{m: make(map[tuples.Object]*objectRows), s: make(map[tuples.Subject]*subjectRows), maxEntries: maxEntries, maxRows: maxRows}
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

// subjectRowsOf returns every row whose subject is subj, reading them in one
// statement on first use, as rowsOf does for objects: lookups and nested
// groups ask one subject about many object types and relations.
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
	got, err := collect(ctx, r.q, `SELECT object_type, relation, object_id FROM docket_tuples
		WHERE subject_type = $2 AND subject_id = $3 AND subject_relation = $4 AND `+visible+unexpired(5)+`
		ORDER BY object_type, relation, object_id LIMIT `+strconv.Itoa(objectRowsMax+1),
		[]any{int64(r.rev), subj.Type, subj.ID, subj.Relation, r.now}, func(rows pgx.Rows) (typeRelObject, error) {
			var x typeRelObject
			err := rows.Scan(&x.objectType, &x.relation, &x.objectID)
			return x, err
		})
	if err != nil {
		return nil, false, classify("read the objects of "+subj.String(), err)
	}
	e = &subjectRows{rows: got}
	if len(got) > objectRowsMax {
		e = &subjectRows{many: true}
	}
	c.mu.Lock()
	if _, dup := c.s[subj]; !dup && len(c.s) < c.maxEntries && c.rows < c.maxRows {
		c.s[subj] = e
		c.rows += len(e.rows)
	}
	c.mu.Unlock()
	return e.rows, !e.many, nil
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
