package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// visible is the predicate of the rows a read at revision $1 sees.
const visible = `created_rev <= $1 AND (deleted_rev IS NULL OR deleted_rev > $1)`

// page is how many rows Subjects and Reverse read per statement. A page
// is read whole before the first of it is yielded, so that no connection
// is held while the caller, walking a graph, reads more.
const page = 1000

// reader reads at one revision, through the pool (a snapshot) or a write
// transaction.
type reader struct {
	q   querier
	rev tuples.Revision
	// now is the clock, in Unix nanoseconds, that rows expired at or
	// before are hidden by (clockNanos).
	now     int64
	schema  store.SchemaText
	release func()
	closed  atomic.Bool
	// objects, when set, keeps the objects the reader has read whole
	// (snapshots; a write transaction's reader asks each question).
	objects *objectCache
	// states caches which relations' membership index is maintained.
	states indexStates
	// counts caches the counts of nesting relations read.
	counts store.CountCache
}

func (r *reader) Revision() tuples.Revision { return r.rev }

func (r *reader) Schema(context.Context) (store.SchemaText, error) { return r.schema, nil }

// Close unpins the reader's revision; it is idempotent.
func (r *reader) Close() error {
	if r.closed.CompareAndSwap(false, true) && r.release != nil {
		r.release()
	}
	return nil
}

func (r *reader) open() error {
	if r.closed.Load() {
		return fmt.Errorf("read at revision %d: %w", r.rev, tuples.ErrSnapshotClosed)
	}
	return nil
}

func (r *reader) Has(ctx context.Context, obj tuples.Object, relation string, subj tuples.Subject) (bool, error) {
	if err := r.open(); err != nil {
		return false, err
	}
	if rows, ok, err := r.rowsOf(ctx, obj); err != nil || ok {
		return err == nil && hasRow(rows, relation, subj), err
	}
	var one int
	err := r.q.QueryRow(ctx, `SELECT 1 FROM docket_tuples
		WHERE object_type = $2 AND object_id = $3 AND relation = $4
		AND subject_type = $5 AND subject_id = $6 AND subject_relation = $7 AND `+visible+unexpired(8)+` LIMIT 1`,
		int64(r.rev), obj.Type, obj.ID, relation, subj.Type, subj.ID, subj.Relation, r.now).Scan(&one)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, classify("read "+tuples.New(obj, relation, subj).String(), err)
	}
	return true, nil
}

func (r *reader) Subjects(ctx context.Context, obj tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		if err := r.open(); err != nil {
			yield(tuples.Subject{}, err)
			return
		}
		if rows, ok, err := r.rowsOf(ctx, obj); err != nil {
			yield(tuples.Subject{}, err)
			return
		} else if ok {
			for _, x := range relationRows(rows, relation) {
				if f.Matches(x.subject) && !yield(x.subject, nil) {
					return
				}
			}
			return
		}
		var where strings.Builder
		args := []any{int64(r.rev), obj.Type, obj.ID, relation, r.now}
		if f.Type != "" {
			args = append(args, f.Type)
			fmt.Fprintf(&where, " AND subject_type = $%d", len(args))
		}
		switch {
		case f.Plain:
			where.WriteString(" AND subject_relation = ''")
		case f.Sets && f.Relation != "":
			args = append(args, f.Relation)
			fmt.Fprintf(&where, " AND subject_relation = $%d", len(args))
		case f.Sets:
			where.WriteString(" AND subject_relation <> ''")
		}
		n := len(args)
		base := `SELECT subject_type, subject_id, subject_relation FROM docket_tuples
			WHERE object_type = $2 AND object_id = $3 AND relation = $4 AND ` + visible + unexpired(5) + where.String()
		var after *tuples.Subject
		for {
			sql, a := base, args
			if after != nil {
				sql += fmt.Sprintf(" AND (subject_type, subject_id, subject_relation) > ($%d, $%d, $%d)", n+1, n+2, n+3)
				a = append(append([]any(nil), args...), after.Type, after.ID, after.Relation)
			}
			sql += " ORDER BY subject_type, subject_id, subject_relation LIMIT " + strconv.Itoa(page)
			got, err := collect(ctx, r.q, sql, a, func(rows pgx.Rows) (tuples.Subject, error) {
				var s tuples.Subject
				err := rows.Scan(&s.Type, &s.ID, &s.Relation)
				return s, err
			})
			if err != nil {
				yield(tuples.Subject{}, classify("read the subjects of "+obj.String()+"#"+relation, err))
				return
			}
			for _, s := range got {
				if !yield(s, nil) {
					return
				}
			}
			if len(got) < page {
				return
			}
			after = &got[len(got)-1]
		}
	}
}

func (r *reader) Reverse(ctx context.Context, subj tuples.Subject, objectType, relation string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		if err := r.open(); err != nil {
			yield(tuples.Object{}, err)
			return
		}
		if rows, ok, err := r.subjectRowsOf(ctx, subj); err != nil {
			yield(tuples.Object{}, err)
			return
		} else if ok {
			for _, x := range typeRelationRows(rows, objectType, relation) {
				if !yield(tuples.Object{Type: objectType, ID: x.objectID}, nil) {
					return
				}
			}
			return
		}
		base := `SELECT object_id FROM docket_tuples
			WHERE subject_type = $2 AND subject_id = $3 AND subject_relation = $4
			AND object_type = $5 AND relation = $6 AND ` + visible + unexpired(7)
		args := []any{int64(r.rev), subj.Type, subj.ID, subj.Relation, objectType, relation, r.now}
		after := ""
		for {
			sql, a := base, args
			if after != "" {
				sql += " AND object_id > $8"
				a = append(append([]any(nil), args...), after)
			}
			sql += " ORDER BY object_id LIMIT " + strconv.Itoa(page)
			got, err := collect(ctx, r.q, sql, a, func(rows pgx.Rows) (string, error) {
				var id string
				err := rows.Scan(&id)
				return id, err
			})
			if err != nil {
				yield(tuples.Object{}, classify("read the objects of "+subj.String(), err))
				return
			}
			for _, id := range got {
				if !yield(tuples.Object{Type: objectType, ID: id}, nil) {
					return
				}
			}
			if len(got) < page {
				return
			}
			after = got[len(got)-1]
		}
	}
}

// collect runs a query and scans every row.
func collect[T any](ctx context.Context, q querier, sql string, args []any, scan func(pgx.Rows) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// The two orders Read pages in, with the columns of each: the forward
// order when the filter gives the object type, the reverse order when it
// gives only the subject type, else the forward order. They are the
// orders of the key-value backends' indexes, and the cursor is the last
// tuple's key in the order's index.
var (
	forwardCols = []string{"object_type", "object_id", "relation", "subject_type", "subject_id", "subject_relation"}
	reverseCols = []string{"subject_type", "subject_id", "subject_relation", "object_type", "relation", "object_id"}
)

func (r *reader) Read(ctx context.Context, f tuples.Filter, cursor string, limit int) ([]tuples.Tuple, string, error) {
	if err := r.open(); err != nil {
		return nil, "", err
	}
	tag, cols := byte(kv.TagForward), forwardCols
	if f.ObjectType == "" && f.SubjectType != "" {
		tag, cols = kv.TagReverse, reverseCols
	}
	args := []any{int64(r.rev), r.now}
	var where strings.Builder
	for _, c := range []struct{ col, v string }{
		{"object_type", f.ObjectType}, {"object_id", f.ObjectID}, {"relation", f.Relation},
		{"subject_type", f.SubjectType}, {"subject_id", f.SubjectID}, {"subject_relation", f.SubjectRelation},
	} {
		if c.v != "" {
			args = append(args, c.v)
			fmt.Fprintf(&where, " AND %s = $%d", c.col, len(args))
		}
	}
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		var t tuples.Tuple
		if err == nil && len(k) > 0 && k[0] == tag {
			t, err = kv.DecodeKey(k)
		} else if err == nil {
			err = fmt.Errorf("wrong index")
		}
		if err != nil || !f.Matches(t) {
			return nil, "", fmt.Errorf("invalid read cursor %q: it belongs to another filter or is corrupt", cursor)
		}
		vals := []string{t.ObjectType, t.ObjectID, t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation}
		if tag == kv.TagReverse {
			vals = []string{t.SubjectType, t.SubjectID, t.SubjectRelation, t.ObjectType, t.Relation, t.ObjectID}
		}
		ph := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		fmt.Fprintf(&where, " AND (%s) > (%s)", strings.Join(cols, ", "), strings.Join(ph, ", "))
	}
	sql := `SELECT object_type, object_id, relation, subject_type, subject_id, subject_relation, payload
		FROM docket_tuples WHERE ` + visible + unexpired(2) + where.String() + " ORDER BY " + strings.Join(cols, ", ")
	if limit > 0 {
		sql += " LIMIT " + strconv.Itoa(limit+1)
	}
	ts, err := collect(ctx, r.q, sql, args, scanTuple)
	if err != nil {
		return nil, "", classify("read tuples matching "+f.String(), err)
	}
	next := ""
	if limit > 0 && len(ts) > limit {
		ts = ts[:limit]
		last := &ts[limit-1]
		var k []byte
		if tag == kv.TagReverse {
			k = kv.ReverseKey(nil, last)
		} else {
			k = kv.ForwardKey(nil, last)
		}
		next = base64.RawURLEncoding.EncodeToString(k)
	}
	return ts, next, nil
}

// scanTuple scans a tuple's six fields and its payload.
func scanTuple(rows pgx.Rows) (tuples.Tuple, error) {
	var t tuples.Tuple
	var p []byte
	if err := rows.Scan(&t.ObjectType, &t.ObjectID, &t.Relation, &t.SubjectType, &t.SubjectID, &t.SubjectRelation, &p); err != nil {
		return t, err
	}
	return t, decodePayload(&t, p)
}
