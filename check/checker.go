package check

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// DefaultMaxDepth bounds how deep a walk may go when Options.MaxDepth is 0.
const DefaultMaxDepth = 50

// DefaultCacheSize is the number of cross-query cache entries kept when
// Options.CacheSize is 0.
const DefaultCacheSize = 100_000

// Options tune a Checker.
type Options struct {
	// MaxDepth is the deepest chain of relations a walk may follow before
	// it fails with an error naming the path; 0 means DefaultMaxDepth.
	MaxDepth int
	// CacheSize bounds the cross-query cache of definite answers, keyed by
	// snapshot revision; 0 means DefaultCacheSize, negative turns it off.
	CacheSize int
	// DownwardOnly walks nesting relations (`team#member: user |
	// team#member`) down from the group asked about, as a walk without
	// the subject's memberships does, instead of up from the subject. The
	// answers are the same; it is there to compare the two.
	DownwardOnly bool
	// IgnoreIndex reads the subject's memberships level by level even
	// where the store keeps a membership index (tuples.GroupIndex). The
	// answers are the same; it is there to compare the two.
	IgnoreIndex bool
	// IgnoreCounts chooses each step of a search between a group and the
	// subject's groups by the sizes of the two sides, not by the store's
	// counts of the relation (tuples.NestingCounter). The answers are the
	// same; it is there to compare the two.
	IgnoreCounts bool
}

// Checker evaluates queries. It is safe for concurrent use; all per-query
// state lives in walkers taken from a pool.
type Checker struct {
	maxDepth int
	cache    *cache
	plans    plans
	walkers  sync.Pool
	downward bool
	noIndex  bool
	noCounts bool
	nested   nestedCounters
	// bound holds tuples' stored contexts decoded for their conditions.
	bound boundContexts
	// scan tunes when a page of a lookup of resources reads forward
	// (lookup_stream.go); the zero value is the default.
	scan scanTuning
	// objects tunes when a walk reads an object's tuples whole
	// (objects.go); the zero value is the default.
	objects objectTuning
}

// New returns a Checker.
func New(o Options) *Checker {
	c := &Checker{maxDepth: o.MaxDepth, downward: o.DownwardOnly, noIndex: o.IgnoreIndex, noCounts: o.IgnoreCounts}
	if c.maxDepth <= 0 {
		c.maxDepth = DefaultMaxDepth
	}
	switch {
	case o.CacheSize == 0:
		c.cache = newCache(DefaultCacheSize)
	case o.CacheSize > 0:
		c.cache = newCache(o.CacheSize)
	}
	c.walkers.New = func() any { return &walker{memo: make(map[nodeKey]int32), low: noLow} }
	return c
}

// Stats reports the cross-query cache's counters and how nesting
// relations were answered.
type Stats struct {
	CacheHits    uint64 `json:"cache_hits"`
	CacheMisses  uint64 `json:"cache_misses"`
	CacheEntries int    `json:"cache_entries"`
	// NestedUpward counts the subjects whose memberships in a nesting
	// relation were read upwards; NestedFallbacks those in more groups
	// than the bound, whose checks walked down from the group instead.
	NestedUpward    uint64 `json:"nested_upward"`
	NestedFallbacks uint64 `json:"nested_fallbacks"`
	// NestedIndexed counts the memberships read from the store's
	// membership index; NestedIndexFallbacks those it could not answer
	// (a group over the index's bound, or the index not built), read
	// level by level instead.
	NestedIndexed        uint64 `json:"nested_indexed"`
	NestedIndexFallbacks uint64 `json:"nested_index_fallbacks"`
}

// Stats returns the counters; the cache's are zero when it is off.
func (c *Checker) Stats() Stats {
	var s Stats
	if c.cache != nil {
		s = c.cache.stats()
	}
	s.NestedUpward = c.nested.upward.Load()
	s.NestedFallbacks = c.nested.fallbacks.Load()
	s.NestedIndexed = c.nested.indexed.Load()
	s.NestedIndexFallbacks = c.nested.indexFallbacks.Load()
	return s
}

// Query asks whether Subject holds Relation on Object.
type Query struct {
	Object   tuples.Object
	Relation string
	Subject  tuples.Subject
	// Explain asks for the reason of the answer; it costs a second walk.
	Explain bool
	// Context holds contextual tuples: treated as stored for this query
	// only, never written.
	Context []tuples.Tuple
	// RequestContext holds condition parameters for the tuples' conditions;
	// a tuple's stored context wins over it, key by key.
	RequestContext condition.Context
}

// String returns "type:id#relation@subject".
func (q Query) String() string {
	return q.Object.String() + "#" + q.Relation + "@" + q.Subject.String()
}

// Result is the answer to a Query: allowed, denied, or conditional.
//
// Conditional is the fourth value a check can have besides allowed, denied
// and an error, for tuples that carry conditions: the answer depends on
// condition parameters the request did not supply, Allowed is false, and
// Missing names the parameters. ValidUntil, when not zero, is when the
// answer may change without a write: the earliest expiry among the tuples
// it rests on (every expiring tuple the walk read).
type Result struct {
	Allowed     bool         `json:"allowed"`
	Conditional bool         `json:"conditional,omitempty"`
	Missing     []string     `json:"missing,omitempty"`
	ValidUntil  time.Time    `json:"valid_until,omitzero"`
	Explanation *Explanation `json:"explanation,omitempty"`
}

// ErrNoSchema is returned when the snapshot holds no schema; it is
// errkind.ErrNoSchema, the store's too.
var ErrNoSchema = errkind.ErrNoSchema

// Check answers one query.
func (c *Checker) Check(ctx context.Context, snap tuples.Snapshot, q Query) (Result, error) {
	w, err := c.begin(ctx, snap, q.Context)
	if err != nil {
		return Result{}, fmt.Errorf("check %s: %w", q, err)
	}
	defer c.end(w)
	return w.query(q)
}

// CheckBatch answers several queries against one snapshot. Queries
// without contextual tuples share one walk memo, so work common to them
// (a team's members, a folder's viewers) is done once; a query with
// contextual tuples is answered on its own overlay.
func (c *Checker) CheckBatch(ctx context.Context, snap tuples.Snapshot, qs []Query) ([]Result, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	w, err := c.begin(ctx, snap, nil)
	if err != nil {
		return nil, fmt.Errorf("check batch: %w", err)
	}
	defer c.end(w)
	out := make([]Result, len(qs))
	for i, q := range qs {
		// Queries that may meet conditions are answered on their own:
		// what one learns about conditional tuples is its own.
		if len(q.Context) > 0 || w.withConds {
			out[i], err = c.Check(ctx, snap, q)
		} else {
			out[i], err = w.query(q)
		}
		if err != nil {
			return nil, fmt.Errorf("batch item %d of %d: %w", i+1, len(qs), err)
		}
	}
	return out, nil
}

// begin takes a walker from the pool and binds it to a snapshot, laying
// contextual tuples over it.
func (c *Checker) begin(ctx context.Context, snap tuples.Snapshot, contextual []tuples.Tuple) (*walker, error) {
	if snap == nil {
		return nil, errors.New("nil snapshot")
	}
	sch := snap.Schema()
	if sch == nil {
		return nil, fmt.Errorf("at this revision: %w", ErrNoSchema)
	}
	useCache := c.cache != nil
	if len(contextual) > 0 {
		for i, t := range contextual {
			if err := tuples.Validate(t, sch); err != nil {
				return nil, fmt.Errorf("contextual tuple %d: %w", i, err)
			}
		}
		snap = tuples.Overlay(snap, contextual)
		useCache = false
	}
	w := c.walkers.Get().(*walker)
	w.ctx, w.snap, w.sch = ctx, snap, sch
	w.plan = c.plans.get(sch)
	w.maxDepth = c.maxDepth
	w.downward, w.noIndex, w.noCounts, w.nestedStats = c.downward, c.noIndex, c.noCounts, &c.nested
	w.withConds = w.plan.conds
	w.now = tuples.NowOf(snap)
	w.bound = &c.bound
	w.cache = nil
	if useCache && !w.plan.condForms {
		// Answers that may rest on conditions are not cached: they
		// depend on the request's context. Answers over expiring tuples
		// are, for the clocks from the one they were computed at to the
		// earliest expiry they rest on.
		w.cache = c.cache
	}
	w.objReader, w.objTuning = nil, c.objects
	if or, ok := snap.(tuples.ObjectReader); ok && !c.objects.off && or.ReadsObjects() {
		w.objReader = or
	}
	w.rev = snap.Revision()
	return w, nil
}

// pooledMemo is the largest memo a pooled walker keeps; a bigger one (from
// a large batch or lookup) is dropped so that the pool does not hold its
// memory for ever.
const pooledMemo = 1 << 12

func (c *Checker) end(w *walker) {
	if len(w.memo) > pooledMemo {
		w.memo = make(map[nodeKey]int32)
	} else {
		clear(w.memo)
	}
	w.stack = w.stack[:0]
	w.notDirect, w.setsOf, w.levelOf = nil, nil, nil
	w.low, w.paradox = noLow, false
	if len(w.groups) > pooledMemo {
		w.groups = nil
	} else {
		clear(w.groups)
	}
	clear(w.objects)
	w.objReader = nil
	w.ctx, w.snap, w.sch, w.plan, w.cache = nil, nil, nil, nil, nil
	w.reqCtx, w.withConds, w.condTrue, w.bound = nil, false, false, nil
	clear(w.reqBound)
	c.walkers.Put(w)
}

// resolveSubject checks a query subject against the schema.
func resolveSubject(sch *schema.Schema, s tuples.Subject) (subject, error) {
	t, err := sch.ResolveType(s.Type)
	if err != nil {
		return subject{}, fmt.Errorf("subject %s: %w", s, err)
	}
	if s.ID == "" {
		return subject{}, fmt.Errorf("subject %s: empty id", s)
	}
	sub := subject{Subject: s, typ: t}
	switch {
	case s.Relation != "":
		if s.ID == tuples.Wildcard {
			return subject{}, fmt.Errorf("subject %s: a wildcard cannot carry a relation", s)
		}
		if sub.rel, err = t.ResolveRelation(s.Relation); err != nil {
			return subject{}, fmt.Errorf("subject %s: %w", s, err)
		}
		sub.kind = subjectSet
	case s.ID == tuples.Wildcard:
		sub.kind = subjectWildcard
	default:
		sub.kind = subjectPlain
	}
	return sub, nil
}

func resolveRelation(sch *schema.Schema, obj tuples.Object, rel string) (*schema.Relation, error) {
	t, err := sch.ResolveType(obj.Type)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", obj, err)
	}
	if obj.ID == "" || obj.ID == tuples.Wildcard {
		return nil, fmt.Errorf("object %s: an object needs a concrete id", obj)
	}
	return t.ResolveRelation(rel)
}
