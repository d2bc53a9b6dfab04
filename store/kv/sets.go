package kv

import (
	"context"
	"iter"

	"github.com/docketdb/docket/tuples"
)

// The set-at-a-time reads answer for many objects (or subjects) in one
// call. Here each is a loop of point lookups or scans over one view; a
// backend on a networked database answers each in one round trip, which
// is what the walker's fan-outs save.

// HasAny reports whether any object of objs stores any subject of subjs
// in relation.
func (s *Reader) HasAny(ctx context.Context, objs []tuples.Object, relation string, subjs []tuples.Subject) (bool, error) {
	if err := s.open(); err != nil {
		return false, err
	}
	var key []byte
	for i, o := range objs {
		if i%256 == 255 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		for _, sub := range subjs {
			t := tuples.Tuple{ObjectType: o.Type, ObjectID: o.ID, Relation: relation, SubjectType: sub.Type, SubjectID: sub.ID, SubjectRelation: sub.Relation}
			key = ForwardKey(key[:0], &t)
			ok, err := s.v.Has(key)
			if err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// SubjectsOf iterates the subjects of each object of objs.
func (s *Reader) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopSubjectsOf(ctx, s, objs, relation, f)
}

// ObjectsOf iterates the objects of each subject of subjs.
func (s *Reader) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopObjectsOf(ctx, s, subjs, objectType, relation)
}
