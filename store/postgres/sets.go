package postgres

import (
	"context"
	"iter"

	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// setChunk is how many objects or subjects one set-at-a-time statement
// takes; a longer list is read in several.
const setChunk = 500

// HasAny is one statement: the pairs of objs and subjs joined to the
// primary key.
func (r *reader) HasAny(ctx context.Context, objs []tuples.Object, relation string, subjs []tuples.Subject) (bool, error) {
	if err := r.open(); err != nil {
		return false, err
	}
	if len(objs) == 0 || len(subjs) == 0 {
		return false, nil
	}
	for o := 0; o < len(objs); o += setChunk {
		ot, oid := objectColumns(objs[o:min(o+setChunk, len(objs))])
		for s := 0; s < len(subjs); s += setChunk {
			st, sid, srel := subjectColumns(subjs[s:min(s+setChunk, len(subjs))])
			var one int
			// LATERAL ... LIMIT 1: one primary-key probe per pair, never
			// a scan of the relation that a misjudged join might choose.
			err := r.q.QueryRow(ctx, `SELECT 1 FROM unnest($2::text[], $3::text[]) AS o(ot, oid)
				CROSS JOIN unnest($4::text[], $5::text[], $6::text[]) AS s(st, sid, srel)
				CROSS JOIN LATERAL (SELECT 1 FROM docket_tuples t WHERE t.object_type = o.ot AND t.object_id = o.oid AND t.relation = $7
					AND t.subject_type = s.st AND t.subject_id = s.sid AND t.subject_relation = s.srel
					AND `+visibleT+unexpiredT(8)+` LIMIT 1) AS hit
				LIMIT 1`, int64(r.rev), ot, oid, st, sid, srel, relation, r.now).Scan(&one)
			if err == nil {
				return true, nil
			}
			if err != pgx.ErrNoRows {
				return false, classify("read "+relation+" of many objects", err)
			}
		}
	}
	return false, nil
}

// visibleT is visible for a table aliased t.
const visibleT = `t.created_rev <= $1 AND (t.deleted_rev IS NULL OR t.deleted_rev > $1)`

func objectColumns(objs []tuples.Object) (types, ids []string) {
	types, ids = make([]string, len(objs)), make([]string, len(objs))
	for i, o := range objs {
		types[i], ids[i] = o.Type, o.ID
	}
	return types, ids
}

func subjectColumns(subjs []tuples.Subject) (types, ids, rels []string) {
	types, ids, rels = make([]string, len(subjs)), make([]string, len(subjs)), make([]string, len(subjs))
	for i, s := range subjs {
		types[i], ids[i], rels[i] = s.Type, s.ID, s.Relation
	}
	return types, ids, rels
}

// SubjectsOf reads the subjects of up to setChunk objects per statement,
// in the order of objs.
func (r *reader) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		if err := r.open(); err != nil {
			yield(tuples.Tuple{}, err)
			return
		}
		for o := 0; o < len(objs); o += setChunk {
			ot, oid := objectColumns(objs[o:min(o+setChunk, len(objs))])
			// LATERAL ... OFFSET 0 keeps the subquery from being merged
			// into a join: one index range per object.
			got, err := collect(ctx, r.q, `SELECT o.ot, o.oid, x.subject_type, x.subject_id, x.subject_relation, x.payload
				FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS o(ot, oid, n)
				CROSS JOIN LATERAL (SELECT t.subject_type, t.subject_id, t.subject_relation, t.payload FROM docket_tuples t
					WHERE t.object_type = o.ot AND t.object_id = o.oid AND t.relation = $4 AND `+visibleT+unexpiredT(9)+`
					AND ($5 = '' OR t.subject_type = $5)
					AND (NOT $6 OR t.subject_relation = '')
					AND (NOT $7 OR (t.subject_relation <> '' AND ($8 = '' OR t.subject_relation = $8)))
					OFFSET 0) AS x
				ORDER BY o.n, x.subject_type, x.subject_id, x.subject_relation`,
				[]any{int64(r.rev), ot, oid, relation, f.Type, f.Plain, f.Sets, f.Relation, r.now}, func(rows pgx.Rows) (tuples.Tuple, error) {
					t := tuples.Tuple{Relation: relation}
					var p []byte
					if err := rows.Scan(&t.ObjectType, &t.ObjectID, &t.SubjectType, &t.SubjectID, &t.SubjectRelation, &p); err != nil {
						return t, err
					}
					return t, decodePayload(&t, p)
				})
			if err != nil {
				yield(tuples.Tuple{}, classify("read the subjects of many objects", err))
				return
			}
			for _, t := range got {
				if !yield(t, nil) {
					return
				}
			}
		}
	}
}

// ObjectsOf reads the objects of up to setChunk subjects per statement,
// in the order of subjs.
func (r *reader) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		if err := r.open(); err != nil {
			yield(tuples.Tuple{}, err)
			return
		}
		for s := 0; s < len(subjs); s += setChunk {
			st, sid, srel := subjectColumns(subjs[s:min(s+setChunk, len(subjs))])
			got, err := collect(ctx, r.q, `SELECT s.st, s.sid, s.srel, x.object_id, x.payload
				FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(st, sid, srel, n)
				CROSS JOIN LATERAL (SELECT t.object_id, t.payload FROM docket_tuples t
					WHERE t.subject_type = s.st AND t.subject_id = s.sid AND t.subject_relation = s.srel
					AND t.object_type = $5 AND t.relation = $6 AND `+visibleT+unexpiredT(7)+`
					OFFSET 0) AS x
				ORDER BY s.n, x.object_id`,
				[]any{int64(r.rev), st, sid, srel, objectType, relation, r.now}, func(rows pgx.Rows) (tuples.Tuple, error) {
					t := tuples.Tuple{ObjectType: objectType, Relation: relation}
					var p []byte
					if err := rows.Scan(&t.SubjectType, &t.SubjectID, &t.SubjectRelation, &t.ObjectID, &p); err != nil {
						return t, err
					}
					return t, decodePayload(&t, p)
				})
			if err != nil {
				yield(tuples.Tuple{}, classify("read the objects of many subjects", err))
				return
			}
			for _, t := range got {
				if !yield(t, nil) {
					return
				}
			}
		}
	}
}
