package check

import (
	"context"
	"fmt"
	"iter"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// A check often asks several stored relations of one object: a case's
// viewer reads its deny list, creator, assignee, access list and public
// tuples, a point read or a scan each. Where the snapshot can read an
// object whole (tuples.ObjectReader: the key-value backends, whose keys of
// one object lie together), the walker reads such an object's tuples in
// one scan instead, and answers the object's point reads and subject scans
// from them for the rest of the walk.
//
// Which objects: those on which the walk evaluates a computed relation
// whose plan reads two stored relations of the object or more (plan.go,
// several). When: at the second read of the object, not the first, since
// a check that the first read decides (a subject on a deny list) would pay
// a scan for one point read; and only while the object holds at most
// objectTuplesMax tuples, else it is read relation by relation as before
// (having cost one scan that stopped after objectTuplesMax+1 tuples).
// The answers are those of the reads replaced: the object's tuples come
// from the same snapshot, with expired tuples hidden as every read hides
// them, and are used only for relations whose tuples carry no condition or
// expiry (those are read with their payloads, conditions.go).
//
// What is read is kept for one walk only, one query's or one batch's, like
// the walk's memo: never across checks.

// objectTuning says when the walker reads an object whole; the zero value
// is the default.
type objectTuning struct {
	// off reads relation by relation, as a snapshot that cannot read an
	// object whole is read.
	off bool
	// first reads an object whole at its first read instead of its
	// second.
	first bool
	// max overrides objectTuplesMax.
	max int
}

const (
	// objectTuplesMax is the most tuples of one object read whole; an
	// object holding more (a document shared with hundreds) is read
	// relation by relation.
	objectTuplesMax = 32
	// objectsMax bounds the objects one walk keeps whole (a lookup's
	// walk checks many), so that a walk's memory stays small.
	objectsMax = 256
)

// objectState is what the walk knows of one object of a several-relation
// plan.
type objectState struct {
	reads uint8 // reads so far, relation by relation
	whole bool  // ts holds all its tuples
	skip  bool  // not read whole: it holds too many tuples
	ts    []tuples.ObjectTuple
}

// severalReads marks obj as one whose tuples the walk may read whole,
// about to evaluate a plan that reads several relations of it.
func (w *walker) severalReads(obj tuples.Object) {
	if _, ok := w.objects[obj]; ok || len(w.objects) >= objectsMax {
		return
	}
	if w.objects == nil {
		w.objects = make(map[tuples.Object]objectState)
	}
	w.objects[obj] = objectState{}
}

// objectTuples returns obj's tuples when the walk holds them whole (or
// reads them whole now); ok is false when obj is to be read relation by
// relation.
func (w *walker) objectTuples(obj tuples.Object) (ts []tuples.ObjectTuple, ok bool, err error) {
	if len(w.objects) == 0 {
		return nil, false, nil
	}
	st, found := w.objects[obj]
	switch {
	case !found || st.skip:
		return nil, false, nil
	case st.whole:
		return st.ts, true, nil
	case st.reads == 0 && !w.objTuning.first:
		st.reads++
		w.objects[obj] = st
		return nil, false, nil
	}
	if err := w.ctx.Err(); err != nil {
		return nil, false, err
	}
	max := objectTuplesMax
	if w.objTuning.max > 0 {
		max = w.objTuning.max
	}
	ts, complete, err := w.objReader.ObjectTuples(w.ctx, obj, max)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", obj, err)
	}
	if !complete {
		w.objects[obj] = objectState{skip: true}
		return nil, false, nil
	}
	w.objects[obj] = objectState{whole: true, ts: ts}
	return ts, true, nil
}

// hasIn answers a point read from an object's tuples.
func hasIn(ts []tuples.ObjectTuple, rel string, s tuples.Subject) bool {
	for i := range ts {
		if ts[i].Relation == rel && ts[i].Subject == s {
			return true
		}
	}
	return false
}

// subjectsIn answers a subject scan from an object's tuples, in the
// order the scan yields them.
func subjectsIn(ts []tuples.ObjectTuple, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		for i := range ts {
			if ts[i].Relation == rel && f.Matches(ts[i].Subject) && !yield(ts[i].Subject, nil) {
				return
			}
		}
	}
}

// objectReads are the walker's subject scans, answered from an object's
// tuples where the walk holds them: what tuples.Hop reads through.
type objectReads walker

func (r *objectReads) Subjects(ctx context.Context, obj tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	w := (*walker)(r)
	ts, ok, err := w.objectTuples(obj)
	if err != nil {
		return func(yield func(tuples.Subject, error) bool) { yield(tuples.Subject{}, err) }
	}
	if ok {
		return subjectsIn(ts, relation, f)
	}
	return w.snap.Subjects(ctx, obj, relation, f)
}

// severalRelations reports, by relation ID, the computed relations whose
// plan reads two stored relations of the object or more: the relations
// referred to on the object itself (through the computed ones it refers
// to) and the tuplesets its arrows follow.
func severalRelations(sch *schema.Schema, rels []*op) []bool {
	out := make([]bool, len(sch.Relations))
	for _, r := range sch.Relations {
		if r.Stored || rels[r.ID] == nil {
			continue
		}
		stored := map[int]bool{}
		seen := map[int]bool{r.ID: true}
		var visit func(o *op)
		visit = func(o *op) {
			if o == nil {
				return
			}
			switch o.kind {
			case opRef:
				if o.rel.Stored {
					stored[o.rel.ID] = true
				} else if !seen[o.rel.ID] {
					seen[o.rel.ID] = true
					visit(rels[o.rel.ID])
				}
			case opArrow:
				stored[o.rel.ID] = true
			case opUnion, opIntersect:
				for _, a := range o.args {
					visit(a)
				}
			case opExclude:
				visit(o.base)
				visit(o.subtract)
			}
		}
		visit(rels[r.ID])
		out[r.ID] = len(stored) >= 2
	}
	return out
}
