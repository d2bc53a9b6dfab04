package check

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// Tuples with conditions make answers four-valued at the edges: allowed,
// denied, conditional (on parameters neither the tuple's stored context
// nor the request's holds), or an error. Inside the walk a conditional
// tuple is a Kleene unknown that no cycle rule settles. The walker gets
// Kleene's answer without a fourth value in its memo: it walks twice, the
// first time counting every conditional tuple as absent where a tuple
// grants and as present where it takes away (under the subtracted side
// of an exclusion), the second time the other way round. Union,
// intersection and exclusion are monotone in the granting leaves and
// antitone in the subtracted ones, so the first walk's answer is the
// least the tuples could give and the second's the most: allowed when
// the first says yes, denied when the second says no, conditional
// otherwise. A walk that meets no conditional tuple is the only one.
//
// condTrue is the current counting (it flips under a subtracted side),
// and is part of the memo key, so that one node answered under both
// countings is remembered under each.

// hasConditions reports whether the schema has a relation whose tuples
// may carry a condition or an expiry.
func hasConditions(sch *schema.Schema) bool {
	for _, r := range sch.Relations {
		if r.Stored && r.HasConditions() {
			return true
		}
	}
	return false
}

// conditionAccounts is what the walk learnt from tuples' payloads.
type conditionAccounts struct {
	// seen: some tuple's condition was conditional.
	seen    bool
	missing []string
	// until is the earliest expiry among the tuples read, zero for none.
	until time.Time
}

func (a *conditionAccounts) reset() { a.seen, a.missing, a.until = false, a.missing[:0], time.Time{} }

// bound lowers the answer's validity to t (zero: no bound).
func (a *conditionAccounts) bound(t time.Time) {
	if !t.IsZero() && (a.until.IsZero() || t.Before(a.until)) {
		a.until = t
	}
}

// hasConditionForms reports whether some stored relation allows a subject
// `with NAME`: answers may then depend on the request's context.
func hasConditionForms(sch *schema.Schema) bool { return conditionedRelation(sch) != nil }

// holds decides whether a stored tuple counts as present in this walk:
// a plain one does; one with a condition does when the condition allows,
// does not when it denies, and when it is conditional counts as condTrue
// says. Every expiry read bounds the answer's validity.
func (w *walker) holds(t tuples.Tuple) (bool, error) {
	p := t.Payload
	w.conds.bound(p.Expires)
	if p.Condition == "" {
		return true, nil
	}
	res, err := w.evaluate(p)
	if err != nil {
		return false, fmt.Errorf("tuple %s: %w", t.Text(), err)
	}
	switch res.Outcome {
	case condition.Allowed:
		return true, nil
	case condition.Denied:
		return false, nil
	}
	w.conds.seen = true
	for _, m := range res.Missing {
		if !slices.Contains(w.conds.missing, m) {
			w.conds.missing = append(w.conds.missing, m)
		}
	}
	return w.condTrue, nil
}

// hasHolding is has for a relation whose tuples may carry payloads.
func (w *walker) hasHolding(obj tuples.Object, rel string, s tuples.Subject) (bool, error) {
	if err := w.ctx.Err(); err != nil {
		return false, err
	}
	t, ok, err := tuples.Get(w.ctx, w.snap, tuples.New(obj, rel, s).Key())
	if err != nil {
		return false, fmt.Errorf("read %s#%s@%s: %w", obj, rel, s, err)
	}
	if !ok {
		return false, nil
	}
	return w.holds(t)
}

// subjectsHolding lists the subjects stored in obj#rel, narrowed by f,
// whose tuples count as present.
func (w *walker) subjectsHolding(obj tuples.Object, rel string, f tuples.SubjectFilter) ([]tuples.Subject, error) {
	var out []tuples.Subject
	for t, err := range w.snap.SubjectsOf(w.ctx, []tuples.Object{obj}, rel, f) {
		if err != nil {
			return nil, fmt.Errorf("read %s#%s: %w", obj, rel, err)
		}
		ok, err := w.holds(t)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t.Subject())
		}
	}
	return out, nil
}

// hopHolding is tuples.Hop for a tupleset whose tuples may carry
// payloads: the objects of the subjects whose tuples count as present,
// each once.
func (w *walker) hopHolding(obj tuples.Object, r *schema.Relation) ([]tuples.Subject, error) {
	subs, err := w.subjectsHolding(obj, r.Name, tuples.SubjectFilter{})
	if err != nil {
		return nil, err
	}
	var out []tuples.Subject
	seen := map[tuples.Object]bool{}
	for _, x := range subs {
		o := tuples.Object{Type: x.Type, ID: x.ID}
		if x.ID == tuples.Wildcard || seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, x)
	}
	return out, nil
}

// conditionedRelation returns a stored relation of sch that allows a
// subject `with NAME`, or nil.
func conditionedRelation(sch *schema.Schema) *schema.Relation {
	for _, r := range sch.Relations {
		for _, a := range r.Allowed {
			if a.Condition != nil {
				return r
			}
		}
	}
	return nil
}

// explainHolding is hasHolding for explanations: whether the tuple
// obj#rel@s counts as present, and, when it carries a payload, what it
// carries and which values its condition saw.
func (w *walker) explainHolding(obj tuples.Object, rel string, s tuples.Subject) (bool, string, error) {
	t, ok, err := tuples.Get(w.ctx, w.snap, tuples.New(obj, rel, s).Key())
	if err != nil || !ok {
		return false, "", err
	}
	held, err := w.holds(t)
	if err != nil || !held {
		return false, "", err
	}
	return true, w.payloadNote(t), nil
}

// storedNotes describes, for the denial of a stored relation that allows
// conditions or expiries, the tuples stored for the query subject itself
// and for its type's wildcard that did not count: what they carry and
// what their condition answered. Empty when there are none.
func (w *walker) storedNotes(obj tuples.Object, r *schema.Relation) ([]string, error) {
	subjects := []tuples.Subject{w.sub.Subject}
	if w.sub.kind == subjectPlain && r.WildcardTypes.Has(w.sub.typ.ID) {
		subjects = append(subjects, tuples.Subject{Type: w.sub.Type, ID: tuples.Wildcard})
	}
	var notes []string
	for _, s := range subjects {
		t, ok, err := tuples.Get(w.ctx, w.snap, tuples.New(obj, r.Name, s).Key())
		if err != nil {
			return nil, err
		}
		if ok && !t.Payload.IsZero() {
			notes = append(notes, tupleText(obj, r.Name, s)+w.payloadNote(t))
		}
	}
	return notes, nil
}

// payloadNote describes what a tuple carries for an explanation: its
// suffix and, for a condition, the values of its parameters that the
// evaluation saw (stored ones winning) and its outcome.
func (w *walker) payloadNote(t tuples.Tuple) string {
	p := t.Payload
	if p.IsZero() {
		return ""
	}
	note := p.String()
	if c := w.sch.Condition(p.Condition); c != nil {
		stored, _ := tuples.DecodePayloadContext(p)
		res, err := p.Evaluate(w.sch, w.reqCtx, w.now)
		outcome := "error"
		if err == nil {
			outcome = res.Outcome.String()
		}
		if seen := c.Program.Seen(stored, w.reqCtx); len(seen) > 0 {
			note += fmt.Sprintf(" (condition %s with %s: %s)", p.Condition, strings.Join(seen, ", "), outcome)
		} else {
			note += fmt.Sprintf(" (condition %s: %s)", p.Condition, outcome)
		}
	}
	return note
}

// boundContexts keeps the stored contexts of tuples decoded and typed for
// their condition, so that a tuple read by many checks is decoded once: a
// bounded map, emptied when full. The key is the compiled condition (a
// schema's own) and the context's canonical JSON; what it holds is never
// changed once stored.
type boundContexts struct {
	mu sync.Mutex
	m  map[boundKey]condition.Values
}

type boundKey struct {
	c   *schema.Condition
	ctx string
}

// maxBoundContexts bounds boundContexts.
const maxBoundContexts = 1 << 14

func (b *boundContexts) get(c *schema.Condition, p tuples.Payload) (condition.Values, error) {
	k := boundKey{c: c, ctx: p.Context}
	b.mu.Lock()
	v, ok := b.m[k]
	b.mu.Unlock()
	if ok {
		return v, nil
	}
	stored, err := tuples.DecodePayloadContext(p)
	if err != nil {
		return condition.Values{}, fmt.Errorf("stored context of condition %s: %w", p.Condition, err)
	}
	v = c.Program.Bind(stored)
	b.mu.Lock()
	if b.m == nil || len(b.m) >= maxBoundContexts {
		b.m = make(map[boundKey]condition.Values)
	}
	b.m[k] = v
	b.mu.Unlock()
	return v, nil
}

// evaluate is tuples.Payload.Evaluate with the stored context bound once
// per checker and the request's once per query.
func (w *walker) evaluate(p tuples.Payload) (condition.Result, error) {
	c := w.sch.Condition(p.Condition)
	if c == nil {
		return condition.Result{}, fmt.Errorf("tuple condition %s is not declared in the schema", p.Condition)
	}
	stored, err := w.bound.get(c, p)
	if err != nil {
		return condition.Result{}, err
	}
	req, ok := w.reqBound[c]
	if !ok {
		req = c.Program.BindRequest(w.reqCtx)
		if w.reqBound == nil {
			w.reqBound = make(map[*schema.Condition]condition.Values)
		}
		w.reqBound[c] = req
	}
	return c.Program.EvalBound(stored, req)
}
