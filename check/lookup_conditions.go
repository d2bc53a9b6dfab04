package check

import (
	"slices"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Lookups over conditions.
//
// Over a schema whose relations allow `with NAME`, a stored tuple may hold
// for some request contexts only. The lookups' walks read tuples without
// evaluating what they carry (expired tuples are already invisible to
// them), so over such a schema every object or subject a walk reaches is
// a candidate only, none proven, and each is decided by the four-valued
// answer a check of it gives (walker.answer), from an empty memo as a
// check starts from. A lookup then lists exactly the members checks
// allow, and, when asked, those they find conditional, with the same
// missing parameters: a member allowed along one path and conditional
// along another is allowed, and a certain base minus a conditional
// subtracted side is conditional, by the same walks. Schemas without
// `with NAME` forms keep the walks' shortcuts.

// ResourceResult is one object a lookup of resources found: a member for
// certain, or, when Conditional, one that depends on condition parameters
// neither the tuples' stored contexts nor the request's context give;
// Missing names them, sorted, as a check's Result does.
type ResourceResult struct {
	Object      tuples.Object `json:"object"`
	Conditional bool          `json:"conditional,omitempty"`
	Missing     []string      `json:"missing,omitempty"`
}

// verdict is a lookup's decision on one candidate.
type verdict struct {
	in          bool // a member for certain
	conditional bool // a member only if the missing parameters allow
	missing     []string
}

func verdictOf(r Result) verdict {
	return verdict{in: r.Allowed, conditional: r.Conditional, missing: r.Missing}
}

// candidate answers one candidate of a lookup over conditions as a check
// of it would: from an empty memo, with nothing read ahead kept, so that
// what one candidate's walks learnt about conditional tuples (which a
// memoized answer does not carry) cannot change another's.
func (w *walker) candidate(obj tuples.Object, r *schema.Relation) (verdict, error) {
	if len(w.memo) > pooledMemo {
		w.memo = make(map[nodeKey]int32)
	} else {
		clear(w.memo)
	}
	clear(w.groups)
	w.notDirect, w.setsOf, w.levelOf = nil, nil, nil
	w.stack = w.stack[:0]
	w.low, w.paradox = noLow, false
	res, _, err := w.answer(obj, r)
	return verdictOf(res), err
}

// sameMissing reports whether two sorted missing lists are equal.
func sameMissing(a, b []string) bool { return slices.Equal(a, b) }
