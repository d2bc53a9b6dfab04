package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// diffClock is the clock of the conditions' differential test; expiries
// are drawn either side of it.
var diffClock = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

var storedLine = regexp.MustCompile(`(?m)^  relation (\w+): (.*)$`)

// withTwoConditions is withConditions with a second condition, cy over
// y, allowed (with an expiry) on every subject form too.
func withTwoConditions(text string) string {
	text = storedLine.ReplaceAllStringFunc(withConditions(text), func(line string) string {
		m := storedLine.FindStringSubmatch(line)
		forms := strings.Split(m[2], " | ")
		out := slices.Clone(forms)
		for _, f := range forms {
			if !strings.Contains(f, " with ") {
				out = append(out, f+" with cy and expiration")
			}
		}
		return "  relation " + m[1] + ": " + strings.Join(out, " | ")
	})
	return "condition cy(y int) { y > 0 }\n" + text
}

// withConditions lets every subject form of a random schema's stored
// relations carry the condition cx and an expiry, as well as neither.
func withConditions(text string) string {
	text = storedLine.ReplaceAllStringFunc(text, func(line string) string {
		m := storedLine.FindStringSubmatch(line)
		forms := strings.Split(m[2], " | ")
		out := slices.Clone(forms)
		for _, f := range forms {
			out = append(out, f+" with expiration", f+" with cx and expiration")
		}
		return "  relation " + m[1] + ": " + strings.Join(out, " | ")
	})
	return "condition cx(x int) { x > 0 }\n\n" + text
}

// leafKind is what a random tuple carries, and so what it is at the clock
// without a request context.
type leafKind int

const (
	leafPlain       leafKind = iota
	leafAllowed              // [cx:{"x":1}]
	leafDenied               // [cx:{"x":0}]
	leafConditional          // [cx]: x comes from the request, or is missing
)

func (k leafKind) suffix() string {
	return [...]string{"", `[cx:{"x":1}]`, `[cx:{"x":0}]`, "[cx]"}[k]
}

// drawPayloads gives each tuple a payload: a condition (allowed, denied
// or, two times in five, conditional) seven times in ten, an expiry
// either side of the clock about a third of the time.
func drawPayloads(rng *rand.Rand, ts []tuples.Tuple) (lines []string, kinds []leafKind, expired []bool) {
	first := map[tuples.Key]int{}
	for _, t := range ts {
		// A tuple drawn twice carries one payload.
		if j, ok := first[t.Key()]; ok {
			lines, kinds, expired = append(lines, lines[j]), append(kinds, kinds[j]), append(expired, expired[j])
			continue
		}
		first[t.Key()] = len(lines)
		// Conditional tuples are the point: two in five.
		k := [...]leafKind{leafPlain, leafPlain, leafAllowed, leafDenied, leafConditional, leafConditional, leafPlain, leafAllowed, leafConditional, leafConditional}[rng.IntN(10)]
		line := t.String() + k.suffix()
		exp := false
		if rng.IntN(3) == 0 {
			d := time.Duration(rng.IntN(7200)-3600) * time.Second
			if d == 0 {
				d = time.Second
			}
			exp = d <= 0 // at or before the clock: gone
			line += "[expiration:" + tuples.FormatExpiry(diffClock.Add(d)) + "]"
		}
		lines, kinds, expired = append(lines, line), append(kinds, k), append(expired, exp)
	}
	return lines, kinds, expired
}

func openCondStore(t *testing.T, onBadger bool, text string, lines []string) tuples.Snapshot {
	t.Helper()
	ctx := tuples.WithClock(context.Background(), diffClock)
	st := openStore(t, onBadger)
	if _, err := st.WriteSchema(ctx, "random.rebac", []byte(text)); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(lines) > 0 {
		if _, err := st.Import(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"), store.ImportOptions{}); err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	return snap
}

// TestDifferentialConditions runs random schemas and tuples with random
// conditions, contexts (x given, or missing) and expiries around a fixed
// clock against the reference evaluator, on both backends. The reference
// knows no conditions: it is given the tuples that exist. With x in the
// request, every condition is settled and the checker must agree with the
// reference exactly; without it, an allowed answer must hold (and a denied
// one fail) under every way the conditional tuples could turn out that
// was tried, and a conditional answer must name x.
func TestDifferentialConditions(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 40)
	ctx := context.Background()
	checks, mismatches, conditionals, undecided := 0, 0, 0, 0
	fail := func(format string, args ...any) {
		mismatches++
		t.Errorf(format, args...)
	}
	for i := 0; i < n && mismatches < 5; i++ {
		rng := rand.New(rand.NewPCG(20261201, uint64(i)))
		base := genInstance(rng)
		text := withConditions(base.text)
		sch, err := schema.Load("random.rebac", []byte(text))
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, text)
		}
		lines, kinds, expired := drawPayloads(rng, base.tuples)
		onBadger := i%4 == 0
		snap := openCondStore(t, onBadger, text, lines)
		// The tuples that exist at the clock, by what decides them.
		var definite, conditional []tuples.Tuple
		for j, tp := range base.tuples {
			switch {
			case expired[j] || kinds[j] == leafDenied:
			case kinds[j] == leafConditional:
				conditional = append(conditional, tp)
			default:
				definite = append(definite, tp)
			}
		}
		refOf := func(extra []tuples.Tuple) *reference {
			return newReference(&instance{text: text, sch: sch, tuples: slices.Concat(definite, extra), objects: base.objects})
		}
		// Ways the conditional tuples could turn out: none holds, all
		// hold, and a few random mixes.
		worlds := []*reference{refOf(nil), refOf(conditional)}
		for range min(4, len(conditional)) {
			var some []tuples.Tuple
			for _, c := range conditional {
				if rng.IntN(2) == 0 {
					some = append(some, c)
				}
			}
			worlds = append(worlds, refOf(some))
		}
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		c.plans.order = planOrder(i % 3)
		// Every other instance on Badger (whose snapshots read objects
		// whole) reads them at their first read, so that conditional and
		// expiring tuples meet that path often.
		c.objects.first = i%8 == 4
		var qs []Query
		for _, r := range sch.Relations {
			for _, id := range base.objects[r.Type.Name] {
				for _, x := range worlds[0].universe {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
		describeCase := func() string {
			return fmt.Sprintf("badger=%v\n%s--- tuples at %s\n%s", onBadger, text, tuples.FormatExpiry(diffClock), strings.Join(lines, "\n"))
		}
		for _, x := range []string{"", "0", "1"} {
			var exact *reference
			switch x {
			case "0":
				exact = worlds[0]
			case "1":
				exact = worlds[1]
			}
			var reqCtx condition.Context
			if x != "" {
				cx, err := decodeCtx(`{"x":` + x + `}`)
				if err != nil {
					t.Fatal(err)
				}
				reqCtx = cx
			}
			for _, q := range qs {
				q.RequestContext = reqCtx
				res, err := c.Check(ctx, snap, q)
				if err != nil {
					t.Fatalf("instance %d: check %s: %v\n%s", i, q, err, describeCase())
				}
				checks++
				if exact != nil {
					if want := exact.member(q.Object, q.Relation, q.Subject); res.Allowed != want || res.Conditional {
						fail("instance %d, x=%s: check %s = %+v, reference %v\n%s", i, x, q, res, want, describeCase())
						break
					}
					continue
				}
				if res.Conditional {
					conditionals++
				}
				if worlds[0].member(q.Object, q.Relation, q.Subject) != worlds[1].member(q.Object, q.Relation, q.Subject) {
					undecided++
				}
				switch {
				case res.Allowed && res.Conditional:
					fail("instance %d: %s allowed and conditional", i, q)
				case res.Conditional && !slices.Equal(res.Missing, []string{"x"}):
					fail("instance %d: %s conditional, missing %v, want [x]\n%s", i, q, res.Missing, describeCase())
				case len(conditional) == 0 && res.Conditional:
					fail("instance %d: %s conditional with no conditional tuple\n%s", i, q, describeCase())
				}
				for w, ref := range worlds {
					got := ref.member(q.Object, q.Relation, q.Subject)
					if res.Allowed && !got || !res.Allowed && !res.Conditional && got {
						fail("instance %d: check %s without x = %+v, but world %d of the conditional tuples gives %v\n%s", i, q, res, w, got, describeCase())
						break
					}
				}
			}
		}
	}
	t.Logf("%d random instances with conditions and expiries (a quarter on Badger), %d checks compared with the reference (%d answered conditional without x, %d whose answer the conditional tuples decide), %d mismatches",
		n, checks, conditionals, undecided, mismatches)
}

func decodeCtx(js string) (condition.Context, error) {
	return condition.DecodeContext([]byte(js), condition.MaxRequestContextBytes)
}

// lookupVerdict is what a lookup says of one subject: a member for
// certain, conditional with the parameters it misses, or neither.
type lookupVerdict struct {
	in, conditional bool
	missing         string
}

func verdictOfCheck(r Result) lookupVerdict {
	if r.Allowed {
		return lookupVerdict{in: true}
	}
	if r.Conditional {
		return lookupVerdict{conditional: true, missing: strings.Join(r.Missing, ",")}
	}
	return lookupVerdict{}
}

// subjectVerdict reads a lookup-subjects answer (no subject-set filter)
// for a plain subject or wildcard x: listed, or covered by its type's
// wildcard and not excluded, certain ones first. A subject covered by a
// conditional wildcard is conditional on the wildcard's missing list,
// which a check of the wildcard gives exactly; a check of the subject
// itself may name other parameters (a plain subject's walk enters
// relations a wildcard's cannot, meeting more conditional tuples, as
// docs/language.md says of missing lists), so covered reports it.
func subjectVerdict(res []SubjectResult, x tuples.Subject) lookupVerdict {
	v, _ := subjectCovered(res, x)
	return v
}

func subjectCovered(res []SubjectResult, x tuples.Subject) (v lookupVerdict, covered bool) {
	found := func(r SubjectResult) lookupVerdict {
		if r.Conditional {
			return lookupVerdict{conditional: true, missing: strings.Join(r.Missing, ",")}
		}
		return lookupVerdict{in: true}
	}
	for _, r := range res {
		if r.Subject == x {
			return found(r), false
		}
	}
	for _, r := range res {
		if r.Subject.ID == tuples.Wildcard && r.Subject.Type == x.Type && x.Relation == "" && x.ID != tuples.Wildcard && !slices.Contains(r.Excluded, x) {
			if w := found(r); w.in || !v.conditional {
				v, covered = w, true
			}
		}
	}
	return v, covered
}

// treeVerdict evaluates a fully expanded tree for a plain subject or
// wildcard x with Kleene's logic, each node's payload (a leaf's tuple, or
// the hop tuple of a union labelled with one) evaluated under req:
// allowed, denied or conditional, as checks answer.
func treeVerdict(sch *schema.Schema, req condition.Context, now time.Time, n *expand.Node, x tuples.Subject) (tri, error) {
	and := func(a, b tri) tri {
		switch {
		case a == no || b == no:
			return no
		case a == unknown || b == unknown:
			return unknown
		}
		return yes
	}
	holds := yes
	if n.Condition != "" {
		res, err := tuples.Payload{Condition: n.Condition, Context: n.Context}.Evaluate(sch, req, now)
		if err != nil {
			return no, err
		}
		holds = map[condition.Outcome]tri{condition.Allowed: yes, condition.Denied: no, condition.Conditional: unknown}[res.Outcome]
	}
	anyChild := func() (tri, error) {
		var acc anyOf
		for _, c := range n.Children {
			v, err := treeVerdict(sch, req, now, c, x)
			if err != nil {
				return no, err
			}
			if acc.add(v) {
				break
			}
		}
		return acc.value(), nil
	}
	switch n.Kind {
	case expand.Leaf, expand.Cycle:
		s := *n.Subject
		if s == x || s.ID == tuples.Wildcard && x.Type == s.Type && x.Relation == "" {
			return holds, nil
		}
		if n.Kind == expand.Cycle {
			return no, nil
		}
		v, err := anyChild()
		return and(holds, v), err
	case expand.Union:
		v, err := anyChild()
		return and(holds, v), err
	case expand.Intersection:
		v := yes
		for _, c := range n.Children {
			cv, err := treeVerdict(sch, req, now, c, x)
			if err != nil {
				return no, err
			}
			v = and(v, cv)
		}
		return v, nil
	case expand.Exclusion:
		base, err := treeVerdict(sch, req, now, n.Children[0], x)
		if err != nil {
			return no, err
		}
		sub, err := treeVerdict(sch, req, now, n.Children[1], x)
		not := map[tri]tri{yes: no, no: yes, unknown: unknown}[sub]
		return and(base, not), err
	}
	return no, fmt.Errorf("unexpected node kind %s", n.Kind)
}

// TestDifferentialLookupConditions runs both lookups over the random
// instances of TestDifferentialConditions (conditions, request contexts
// with x given or missing, expiries around the clock, both backends) and
// holds them to checks: every certain member checks allowed, every
// conditional one checks conditional with the same missing parameters,
// and nothing that checks allowed or conditional is left out; where x is
// given, lookups equal the reference's answers too. The certain-only
// lookups are the certain members, and pages of one stitch together to
// the whole answer. Each fully expanded tree, evaluated by the truth
// tables with its leaves' and hops' payloads (treeVerdict), gives every
// plain subject the check's answer.
func TestDifferentialLookupConditions(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 30)
	ctx := context.Background()
	compared, allowed, conditionals, mismatches := 0, 0, 0, 0
	byMissing := map[string]int{}
	var trees [2]int // expanded, too large to expand
	for i := 0; i < n && mismatches < 5; i++ {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		base := genInstance(rng)
		text := withTwoConditions(base.text)
		sch, err := schema.Load("random.rebac", []byte(text))
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, text)
		}
		lines, kinds, expired := drawPayloads(rng, base.tuples)
		// Half the conditioned tuples carry cy over y instead of cx, so
		// that answers miss x, y or both.
		overY := make([]bool, len(lines))
		drawn := map[tuples.Tuple]bool{}
		for j, l := range lines {
			y, ok := drawn[base.tuples[j]]
			if !ok {
				y = rng.IntN(2) == 0
				drawn[base.tuples[j]] = y
			}
			if strings.Contains(l, "[cx") && y {
				lines[j] = strings.Replace(strings.Replace(l, "[cx", "[cy", 1), `{"x":`, `{"y":`, 1)
				overY[j] = true
			}
		}
		onBadger := i%2 == 0
		snap := openCondStore(t, onBadger, text, lines)
		// exists gives the tuples that exist when x and y are given.
		exists := func(x, y bool) []tuples.Tuple {
			var out []tuples.Tuple
			for j, tp := range base.tuples {
				if expired[j] || kinds[j] == leafDenied || kinds[j] == leafConditional && !(overY[j] && y || !overY[j] && x) {
					continue
				}
				out = append(out, tp)
			}
			return out
		}
		universe := newReference(&instance{text: text, sch: sch, objects: base.objects}).universe
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		c.plans.order = planOrder(i % 3)
		fail := func(format string, args ...any) {
			t.Helper()
			mismatches++
			t.Errorf("instance %d (badger=%v): "+format+"\n%s--- tuples at %s\n%s", append(append([]any{i, onBadger}, args...), text, tuples.FormatExpiry(diffClock), strings.Join(lines, "\n"))...)
		}
		for _, x := range []string{"", `"x":0`, `"x":1`, `"y":1`, `"x":1,"y":0`, `"x":0,"y":1`} {
			var req condition.Context
			var ref *reference
			if x != "" {
				if req, err = decodeCtx("{" + x + "}"); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Contains(x, "x") && strings.Contains(x, "y") {
				ref = newReference(&instance{text: text, sch: sch, objects: base.objects,
					tuples: exists(strings.Contains(x, `"x":1`), strings.Contains(x, `"y":1`))})
			}
			checkOf := func(obj tuples.Object, rel string, s tuples.Subject) lookupVerdict {
				t.Helper()
				r, err := c.Check(ctx, snap, Query{Object: obj, Relation: rel, Subject: s, RequestContext: req})
				if err != nil {
					t.Fatalf("instance %d: check %s#%s@%s: %v", i, obj, rel, s, err)
				}
				v := verdictOfCheck(r)
				compared++
				if v.in {
					allowed++
				} else if v.conditional {
					conditionals++
					byMissing[v.missing]++
				}
				if ref != nil && (v.conditional || v.in != ref.member(obj, rel, s)) {
					fail("x=%s: check %s#%s@%s = %+v, reference %v", x, obj, rel, s, v, ref.member(obj, rel, s))
				}
				return v
			}
			for _, r := range sch.Relations {
				for _, id := range base.objects[r.Type.Name] {
					obj := tuples.Object{Type: r.Type.Name, ID: id}
					tree, err := expand.Expand(ctx, snap, obj, r.Name, expand.Options{Recursive: true, Depth: 1000})
					if errors.Is(err, expand.ErrTooLarge) {
						tree = nil
						trees[1]++
					} else if err != nil {
						t.Fatalf("instance %d: expand %s#%s: %v", i, obj, r.Name, err)
					} else {
						trees[0]++
					}
					all, err := c.LookupSubjectResults(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name, RequestContext: req})
					if err != nil {
						t.Fatalf("instance %d: lookup subjects %s#%s: %v", i, obj, r.Name, err)
					}
					certain, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name, RequestContext: req})
					if err != nil {
						t.Fatalf("instance %d: lookup subjects %s#%s: %v", i, obj, r.Name, err)
					}
					for _, s := range universe {
						if s.Relation != "" {
							continue
						}
						want := checkOf(obj, r.Name, s)
						got, covered := subjectCovered(all, s)
						if covered && got.conditional && want.conditional {
							got.missing = want.missing
						}
						if got != want {
							fail("x=%q: %s in lookup subjects %s#%s = %+v, check %+v (%v)", x, s, obj, r.Name, got, want, all)
						}
						if got := subjectVerdict(certain, s); got.conditional || got.in != want.in {
							fail("x=%q: %s in certain lookup subjects %s#%s = %+v, check %+v (%v)", x, s, obj, r.Name, got, want, certain)
						}
						if tree == nil {
							continue
						}
						tv, err := treeVerdict(sch, req, diffClock, tree, s)
						if err != nil {
							t.Fatalf("instance %d: %v", i, err)
						}
						if tv != yes && want.in || tv != unknown && want.conditional || tv != no && !want.in && !want.conditional {
							fail("x=%q: %s in expanded %s#%s is %v, check %+v\n%s", x, s, obj, r.Name, tv, want, tree)
						}
					}
					// Subject sets, under every filter, on the unsettled
					// context only (each filter is a lookup).
					if x != "" {
						continue
					}
					for _, st := range sch.Types {
						for _, sr := range st.Relations {
							sets, err := c.LookupSubjectResults(ctx, snap, SubjectQuery{Object: obj, Relation: r.Name, Type: st.Name, SubjectRelation: sr.Name, RequestContext: req})
							if err != nil {
								t.Fatalf("instance %d: lookup subjects: %v", i, err)
							}
							for _, sid := range base.objects[st.Name] {
								s := tuples.Subject{Type: st.Name, ID: sid, Relation: sr.Name}
								if got, want := subjectVerdict(sets, s), checkOf(obj, r.Name, s); got != want {
									fail("%s in lookup subjects %s#%s@%s#%s = %+v, check %+v", s, obj, r.Name, st.Name, sr.Name, got, want)
								}
							}
						}
					}
				}
			}
			for _, s := range universe {
				for _, r := range sch.Relations {
					q := ResourceQuery{Subject: s, Type: r.Type.Name, Relation: r.Name, RequestContext: req}
					got := map[string]lookupVerdict{}
					var order []string
					if _, err := c.LookupResourceResults(ctx, snap, q, func(o ResourceResult) bool {
						got[o.Object.ID] = verdictOfCheck(Result{Allowed: !o.Conditional, Conditional: o.Conditional, Missing: o.Missing})
						order = append(order, o.Object.ID)
						return true
					}); err != nil {
						t.Fatalf("instance %d: lookup resources %s#%s for %s: %v", i, r.Type.Name, r.Name, s, err)
					}
					var certain []string
					if _, err := c.LookupResources(ctx, snap, q, func(o tuples.Object) bool { certain = append(certain, o.ID); return true }); err != nil {
						t.Fatalf("instance %d: lookup resources: %v", i, err)
					}
					var wantCertain []string
					for _, id := range base.objects[r.Type.Name] {
						want := checkOf(tuples.Object{Type: r.Type.Name, ID: id}, r.Name, s)
						if got[id] != want {
							fail("x=%q: %s:%s in lookup resources %s#%s for %s = %+v, check %+v", x, r.Type.Name, id, r.Type.Name, r.Name, s, got[id], want)
						}
						if want.in {
							wantCertain = append(wantCertain, id)
						}
					}
					slices.Sort(wantCertain)
					if !slices.Equal(certain, wantCertain) {
						fail("x=%q: certain lookup resources %s#%s for %s = %v, checks allow %v", x, r.Type.Name, r.Name, s, certain, wantCertain)
					}
					if !slices.IsSorted(order) {
						fail("lookup resources out of order: %v", order)
					}
					// Pages of one give the same answer.
					if len(order) > 1 && x == "" {
						var paged []string
						cursor := ""
						for {
							q.Limit, q.Cursor = 1, cursor
							if cursor, err = c.LookupResourceResults(ctx, snap, q, func(o ResourceResult) bool { paged = append(paged, o.Object.ID); return true }); err != nil {
								t.Fatalf("instance %d: paged lookup: %v", i, err)
							}
							if cursor == "" {
								break
							}
						}
						if !slices.Equal(paged, order) {
							fail("paged lookup resources %s#%s for %s = %v, want %v", r.Type.Name, r.Name, s, paged, order)
						}
					}
				}
			}
		}
	}
	t.Logf("%d random instances with conditions and expiries (half on Badger), %d lookup memberships compared with checks (%d allowed, %d conditional: missing %v), %d mismatches; plain subjects also compared in %d expanded trees (%d too large to expand)",
		n, compared, allowed, conditionals, byMissing, mismatches, trees[0], trees[1])
}
