package schema

import (
	"iter"
	"slices"
)

// IDSet is a set of Type.ID or Relation.ID values, kept sorted. What a
// relation can reach is a few ids among however many the schema has, so
// a set costs what it holds: a dense table per relation made compiling
// quadratic in memory (16,000 types took gigabytes).
type IDSet struct{ ids []int32 }

// Has reports whether id is in the set.
func (s IDSet) Has(id int) bool {
	_, found := slices.BinarySearch(s.ids, int32(id))
	return found
}

// Len is the number of ids in the set.
func (s IDSet) Len() int { return len(s.ids) }

// All yields the ids in ascending order.
func (s IDSet) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		for _, id := range s.ids {
			if !yield(int(id)) {
				return
			}
		}
	}
}

// add puts id in the set.
func (s *IDSet) add(id int) {
	i, found := slices.BinarySearch(s.ids, int32(id))
	if !found {
		s.ids = slices.Insert(s.ids, i, int32(id))
	}
}

// union returns a ∪ b, and whether it holds more than a. When it does
// not, it is a itself, so that an unchanged set is never copied.
func union(a, b IDSet) (IDSet, bool) {
	if len(b.ids) == 0 {
		return a, false
	}
	if len(a.ids) == 0 {
		return b, true
	}
	// Count first: most unions in a fixpoint add nothing.
	extra := 0
	for i, j := 0, 0; j < len(b.ids); {
		switch {
		case i < len(a.ids) && a.ids[i] < b.ids[j]:
			i++
		case i < len(a.ids) && a.ids[i] == b.ids[j]:
			i++
			j++
		default:
			extra++
			j++
		}
	}
	if extra == 0 {
		return a, false
	}
	out := make([]int32, 0, len(a.ids)+extra)
	i, j := 0, 0
	for i < len(a.ids) && j < len(b.ids) {
		switch {
		case a.ids[i] < b.ids[j]:
			out = append(out, a.ids[i])
			i++
		case a.ids[i] > b.ids[j]:
			out = append(out, b.ids[j])
			j++
		default:
			out = append(out, a.ids[i])
			i++
			j++
		}
	}
	out = append(append(out, a.ids[i:]...), b.ids[j:]...)
	return IDSet{ids: out}, true
}

// intersect returns a ∩ b.
func intersect(a, b IDSet) IDSet {
	var out []int32
	for i, j := 0, 0; i < len(a.ids) && j < len(b.ids); {
		switch {
		case a.ids[i] < b.ids[j]:
			i++
		case a.ids[i] > b.ids[j]:
			j++
		default:
			out = append(out, a.ids[i])
			i++
			j++
		}
	}
	return IDSet{ids: out}
}
