package kv

import (
	"context"
	"fmt"
	"iter"

	"github.com/docketdb/docket/internal/arena"

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
			v, ok, err := s.v.Get(key)
			if err != nil {
				return false, err
			}
			if ok && s.visible(v) {
				return true, nil
			}
		}
	}
	return false, nil
}

// SubjectsOf iterates the subjects of each object of objs, as tuples
// with their payloads.
func (s *Reader) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		if err := s.open(); err != nil {
			yield(tuples.Tuple{}, err)
			return
		}
		d := subjectDecoder{f: f}
		for _, o := range objs {
			stop := false
			err := s.subjects(ctx, o, relation, &d, func(sub tuples.Subject, v []byte) (bool, error) {
				t := tuples.New(o, relation, sub)
				var err error
				if t.Payload, err = tuples.DecodePayload(v); err != nil {
					return false, fmt.Errorf("read %s: %w", t, err)
				}
				stop = !yield(t, nil)
				return !stop, nil
			})
			if err != nil {
				yield(tuples.Tuple{}, err)
				return
			}
			if stop {
				return
			}
		}
	}
}

// ObjectsOf iterates the objects of each subject of subjs, as tuples
// with their payloads.
func (s *Reader) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		if err := s.open(); err != nil {
			yield(tuples.Tuple{}, err)
			return
		}
		var ids arena.Strings
		for _, sub := range subjs {
			stop := false
			err := s.reverse(ctx, sub, objectType, relation, func(id, v []byte) (bool, error) {
				t := tuples.New(tuples.Object{Type: objectType, ID: ids.String(id)}, relation, sub)
				var err error
				if t.Payload, err = tuples.DecodePayload(v); err != nil {
					return false, fmt.Errorf("read %s: %w", t, err)
				}
				stop = !yield(t, nil)
				return !stop, nil
			})
			if err != nil {
				yield(tuples.Tuple{}, err)
				return
			}
			if stop {
				return
			}
		}
	}
}
