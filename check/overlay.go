package check

import (
	"context"
	"iter"

	"github.com/docketdb/docket/tuples"
)

// overlay lays contextual tuples over a snapshot for one query: Has,
// Subjects and Reverse see them as if stored. Read is the snapshot's own:
// it pages through stored tuples only.
type overlay struct {
	tuples.Snapshot
	extra []tuples.Tuple
}

func newOverlay(snap tuples.Snapshot, extra []tuples.Tuple) *overlay {
	return &overlay{Snapshot: snap, extra: extra}
}

func (o *overlay) Has(ctx context.Context, obj tuples.Object, rel string, subj tuples.Subject) (bool, error) {
	for _, t := range o.extra {
		if t.ObjectType == obj.Type && t.ObjectID == obj.ID && t.Relation == rel && t.Subject() == subj {
			return true, nil
		}
	}
	return o.Snapshot.Has(ctx, obj, rel, subj)
}

func (o *overlay) Subjects(ctx context.Context, obj tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		for _, t := range o.extra {
			if t.ObjectType == obj.Type && t.ObjectID == obj.ID && t.Relation == rel && f.Matches(t.Subject()) {
				if !yield(t.Subject(), nil) {
					return
				}
			}
		}
		for s, err := range o.Snapshot.Subjects(ctx, obj, rel, f) {
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

func (o *overlay) Reverse(ctx context.Context, subj tuples.Subject, objectType, rel string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		for _, t := range o.extra {
			if t.ObjectType == objectType && t.Relation == rel && t.Subject() == subj {
				if !yield(t.Object(), nil) {
					return
				}
			}
		}
		for obj, err := range o.Snapshot.Reverse(ctx, subj, objectType, rel) {
			if !yield(obj, err) || err != nil {
				return
			}
		}
	}
}
