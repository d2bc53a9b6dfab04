package tuples

import (
	"context"
	"iter"

	"github.com/docketdb/docket/schema"
)

// Hop iterates the objects a hop through the stored relation r reaches
// from obj: each stored subject's object, with the subject as stored. A
// plain subject is its own object; a subject set `group:g#member` leads
// to `group:g`, whatever its relation (as SpiceDB and Permify follow
// them). Wildcards lead nowhere. Each object comes once, with the first
// stored subject that leads to it, so an object stored both plainly and as
// subject sets is walked once.
//
// The checker, expand, both lookups and explanations follow hops through
// this one function, so they agree on what a hop reaches.
func Hop(ctx context.Context, snap SubjectReader, obj Object, r *schema.Relation) iter.Seq2[Subject, error] {
	if len(r.SubjectSets) == 0 {
		// Only objects can be stored (the schema refuses wildcards in a
		// relation that is hopped through): no duplicates to skip.
		return func(yield func(Subject, error) bool) {
			for x, err := range snap.Subjects(ctx, obj, r.Name, SubjectFilter{Plain: true}) {
				if err == nil && x.ID == Wildcard {
					continue
				}
				if !yield(x, err) {
					return
				}
			}
		}
	}
	return func(yield func(Subject, error) bool) {
		seen := map[Object]bool{}
		for x, err := range snap.Subjects(ctx, obj, r.Name, SubjectFilter{}) {
			if err != nil {
				yield(x, err)
				return
			}
			o := Object{Type: x.Type, ID: x.ID}
			if x.ID == Wildcard || seen[o] {
				continue
			}
			seen[o] = true
			if !yield(x, nil) {
				return
			}
		}
	}
}

// SubjectReader is the read a hop makes: the subjects of one object's
// relation (Reads.Subjects).
type SubjectReader interface {
	Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error]
}

// HopSources lists the subjects whose tuples in r lead a hop to obj: obj
// itself and, for each subject set of obj's type that r allows, that
// subject set. Walking a hop backwards reads the objects storing any of
// them.
func HopSources(obj Object, r *schema.Relation) []Subject {
	out := []Subject{{Type: obj.Type, ID: obj.ID}}
	for _, s := range r.SubjectSets {
		if s.Type.Name == obj.Type {
			out = append(out, Subject{Type: obj.Type, ID: obj.ID, Relation: s.Name})
		}
	}
	return out
}
