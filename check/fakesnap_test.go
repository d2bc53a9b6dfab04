package check

import (
	"context"
	"iter"
	"slices"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// mapSnap is a test-only snapshot over a slice of tuples, indexed in maps:
// fast enough to run thousands of random cases under the race detector.
type mapSnap struct {
	sch  *schema.Schema
	rev  tuples.Revision
	all  []tuples.Tuple
	fwd  map[fwdKey][]tuples.Subject
	back map[backKey][]tuples.Object
	set  map[tuples.Tuple]bool
}

type fwdKey struct {
	obj tuples.Object
	rel string
}

type backKey struct {
	subj    tuples.Subject
	objType string
	rel     string
}

func newMapSnap(sch *schema.Schema, rev tuples.Revision, ts []tuples.Tuple) *mapSnap {
	s := &mapSnap{sch: sch, rev: rev, fwd: map[fwdKey][]tuples.Subject{}, back: map[backKey][]tuples.Object{}, set: map[tuples.Tuple]bool{}}
	for _, t := range ts {
		if s.set[t] {
			continue
		}
		s.set[t] = true
		s.all = append(s.all, t)
		fk := fwdKey{t.Object(), t.Relation}
		s.fwd[fk] = append(s.fwd[fk], t.Subject())
		bk := backKey{t.Subject(), t.ObjectType, t.Relation}
		s.back[bk] = append(s.back[bk], t.Object())
	}
	// Reverse yields objects in order of id, as every snapshot does.
	for _, objs := range s.back {
		slices.SortFunc(objs, func(a, b tuples.Object) int { return compareStrings(a.ID, b.ID) })
	}
	return s
}

func (s *mapSnap) Revision() tuples.Revision { return s.rev }
func (s *mapSnap) Schema() *schema.Schema    { return s.sch }

func (s *mapSnap) HasAny(ctx context.Context, objs []tuples.Object, rel string, subjs []tuples.Subject) (bool, error) {
	return tuples.LoopHasAny(ctx, s, objs, rel, subjs)
}

func (s *mapSnap) SubjectsOf(ctx context.Context, objs []tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopSubjectsOf(ctx, s, objs, rel, f)
}

func (s *mapSnap) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, rel string) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopObjectsOf(ctx, s, subjs, objectType, rel)
}

// Close holds nothing to release: the maps are the snapshot.
func (s *mapSnap) Close() error { return nil }

func (s *mapSnap) Has(_ context.Context, obj tuples.Object, rel string, subj tuples.Subject) (bool, error) {
	return s.set[tuples.New(obj, rel, subj)], nil
}

func (s *mapSnap) Subjects(_ context.Context, obj tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		for _, x := range s.fwd[fwdKey{obj, rel}] {
			if f.Matches(x) && !yield(x, nil) {
				return
			}
		}
	}
}

func (s *mapSnap) Reverse(_ context.Context, subj tuples.Subject, objectType, rel string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		for _, o := range s.back[backKey{subj, objectType, rel}] {
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (s *mapSnap) Read(_ context.Context, f tuples.Filter, _ string, limit int) ([]tuples.Tuple, string, error) {
	var out []tuples.Tuple
	for _, t := range s.all {
		if f.Matches(t) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b tuples.Tuple) int { return compareStrings(a.String(), b.String()) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, "", nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ScanObjects reads the tuples of objectType forward, in order of object
// id, as a key-value store's forward keys do (tuples.ObjectScanner).
func (s *mapSnap) ScanObjects(_ context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	var ts []tuples.Tuple
	for _, t := range s.all {
		if t.ObjectType == objectType && t.ObjectID > after {
			ts = append(ts, t)
		}
	}
	// The order of forward keys: object id, then the rest of the key.
	slices.SortFunc(ts, func(a, b tuples.Tuple) int {
		if c := compareStrings(a.ObjectID, b.ObjectID); c != 0 {
			return c
		}
		return compareStrings(a.String(), b.String())
	})
	return func(yield func(tuples.ScanMatch, error) bool) {
		read, last := 0, after
		for i := 0; i < len(ts); {
			if budget > 0 && read >= budget {
				yield(tuples.ScanMatch{ObjectID: last, Scanned: read, Stopped: true}, nil)
				return
			}
			id := ts[i].ObjectID
			var found []int
			for ; i < len(ts) && ts[i].ObjectID == id; i++ {
				read++
				if w := slices.IndexFunc(wants, func(w tuples.Want) bool {
					return w.Relation == ts[i].Relation && w.Subject == ts[i].Subject()
				}); w >= 0 {
					found = append(found, w)
				}
			}
			last = id
			if len(found) > 0 && !yield(tuples.ScanMatch{ObjectID: id, Wants: found, Scanned: read}, nil) {
				return
			}
		}
	}, true
}
