package tuples

import (
	"context"
	"iter"
	"slices"
	"strings"
)

// Overlay lays extra tuples over a snapshot, as contextual tuples are
// laid over the store for one check, lookup or expansion: Has, Subjects,
// Reverse and the set-at-a-time reads see them as if stored, each tuple once even when it is both
// stored and extra, or extra twice. Read, Schema and Revision are the
// snapshot's own, so paging through stored tuples is unaffected. The
// caller validates the extra tuples against the schema first (Validate);
// the overlay does not.
func Overlay(snap Snapshot, extra []Tuple) Snapshot {
	if len(extra) == 0 {
		return snap
	}
	var unique []Tuple
	for _, t := range extra {
		if !slices.ContainsFunc(unique, func(u Tuple) bool { return u.Key() == t.Key() }) {
			unique = append(unique, t)
		}
	}
	return &overlay{Snapshot: snap, extra: unique}
}

// overlay scans its extra tuples on every read: they are few (a request's
// worth), so a scan beats building an index per request.
type overlay struct {
	Snapshot
	extra []Tuple
}

func (o *overlay) Has(ctx context.Context, obj Object, rel string, subj Subject) (bool, error) {
	for _, t := range o.extra {
		if t.ObjectType == obj.Type && t.ObjectID == obj.ID && t.Relation == rel && t.Subject() == subj {
			return true, nil
		}
	}
	return o.Snapshot.Has(ctx, obj, rel, subj)
}

func (o *overlay) Subjects(ctx context.Context, obj Object, rel string, f SubjectFilter) iter.Seq2[Subject, error] {
	return func(yield func(Subject, error) bool) {
		var seen []Subject
		for _, t := range o.extra {
			if t.ObjectType == obj.Type && t.ObjectID == obj.ID && t.Relation == rel && f.Matches(t.Subject()) {
				seen = append(seen, t.Subject())
				if !yield(t.Subject(), nil) {
					return
				}
			}
		}
		for s, err := range o.Snapshot.Subjects(ctx, obj, rel, f) {
			if err == nil && slices.Contains(seen, s) {
				continue
			}
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// Reverse merges the extra tuples' objects into the snapshot's, in order
// of object id as a snapshot's Reverse yields them.
func (o *overlay) Reverse(ctx context.Context, subj Subject, objectType, rel string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		var extra []Object
		for _, t := range o.extra {
			if t.ObjectType == objectType && t.Relation == rel && t.Subject() == subj {
				extra = append(extra, t.Object())
			}
		}
		slices.SortFunc(extra, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
		for obj, err := range o.Snapshot.Reverse(ctx, subj, objectType, rel) {
			if err != nil {
				yield(Object{}, err)
				return
			}
			for len(extra) > 0 && extra[0].ID < obj.ID {
				if !yield(extra[0], nil) {
					return
				}
				extra = extra[1:]
			}
			if len(extra) > 0 && extra[0].ID == obj.ID {
				extra = extra[1:]
			}
			if !yield(obj, nil) {
				return
			}
		}
		for _, obj := range extra {
			if !yield(obj, nil) {
				return
			}
		}
	}
}

func (o *overlay) HasAny(ctx context.Context, objs []Object, rel string, subjs []Subject) (bool, error) {
	for _, t := range o.extra {
		if t.Relation == rel && slices.Contains(objs, t.Object()) && slices.Contains(subjs, t.Subject()) {
			return true, nil
		}
	}
	return o.Snapshot.HasAny(ctx, objs, rel, subjs)
}

// SubjectsOf yields the extra tuples of objs first, then the stored ones
// that are not among them, in one read of the snapshot.
func (o *overlay) SubjectsOf(ctx context.Context, objs []Object, rel string, f SubjectFilter) iter.Seq2[Tuple, error] {
	return func(yield func(Tuple, error) bool) {
		var seen []Key
		for _, t := range o.extra {
			if t.Relation == rel && slices.Contains(objs, t.Object()) && f.Matches(t.Subject()) {
				seen = append(seen, t.Key())
				if !yield(t, nil) {
					return
				}
			}
		}
		for t, err := range o.Snapshot.SubjectsOf(ctx, objs, rel, f) {
			if err == nil && slices.Contains(seen, t.Key()) {
				continue
			}
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}

// ObjectsOf yields the extra tuples of subjs first, then the stored ones
// that are not among them, in one read of the snapshot.
func (o *overlay) ObjectsOf(ctx context.Context, subjs []Subject, objectType, rel string) iter.Seq2[Tuple, error] {
	return func(yield func(Tuple, error) bool) {
		var seen []Key
		for _, t := range o.extra {
			if t.ObjectType == objectType && t.Relation == rel && slices.Contains(subjs, t.Subject()) {
				seen = append(seen, t.Key())
				if !yield(t, nil) {
					return
				}
			}
		}
		for t, err := range o.Snapshot.ObjectsOf(ctx, subjs, objectType, rel) {
			if err == nil && slices.Contains(seen, t.Key()) {
				continue
			}
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}
