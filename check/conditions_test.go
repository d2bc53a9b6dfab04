package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// condSchema has one relation per operator over conditioned leaves: a and
// b hold user:u with condition c (allowed at x > 0, denied at x <= 0,
// conditional without x) or y (the same over y).
const condSchema = `type user

condition cx(x int) { x > 0 }
condition cy(y int) { y > 0 }

type team {
  relation member: user | user with cx
}

type doc {
  relation a: user | user with cx | user with expiration
  relation b: user | user with cy
  relation t: team#member | team#member with cy
  relation u = a | b
  relation i = a & b
  relation e = a - b
  relation via = t
}
`

type fourValued int

const (
	fvDenied fourValued = iota
	fvAllowed
	fvConditional
)

func (v fourValued) String() string { return [...]string{"denied", "allowed", "conditional"}[v] }

func answer(r Result) fourValued {
	switch {
	case r.Allowed:
		return fvAllowed
	case r.Conditional:
		return fvConditional
	}
	return fvDenied
}

func reqCtx(t *testing.T, js string) condition.Context {
	t.Helper()
	c, err := condition.DecodeContext([]byte(js), condition.MaxRequestContextBytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func condSnap(t *testing.T, now time.Time, lines ...string) tuples.Snapshot {
	t.Helper()
	snap, closeStore, err := fixture.Load(tuples.WithClock(context.Background(), now), condSchema, lines...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	return snap
}

func TestConditionTruthTables(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	kleeneOr := func(a, b fourValued) fourValued {
		switch {
		case a == fvAllowed || b == fvAllowed:
			return fvAllowed
		case a == fvConditional || b == fvConditional:
			return fvConditional
		}
		return fvDenied
	}
	kleeneAnd := func(a, b fourValued) fourValued {
		switch {
		case a == fvDenied || b == fvDenied:
			return fvDenied
		case a == fvConditional || b == fvConditional:
			return fvConditional
		}
		return fvAllowed
	}
	kleeneMinus := func(a, b fourValued) fourValued {
		switch {
		case a == fvDenied || b == fvAllowed:
			return fvDenied
		case a == fvAllowed && b == fvDenied:
			return fvAllowed
		}
		return fvConditional
	}
	// absent is a fourth leaf state: no tuple at all (denied).
	states := []string{"absent", `[cx:{"x":1}]`, `[cx:{"x":0}]`, "[cx]"}
	value := []fourValued{fvDenied, fvAllowed, fvDenied, fvConditional}
	c := New(Options{CacheSize: -1})
	ctx := context.Background()
	for ia, sa := range states {
		for ib, sb := range states {
			var lines []string
			if sa != "absent" {
				lines = append(lines, "doc:1#a@user:u"+sa)
			}
			if sb != "absent" {
				lines = append(lines, "doc:1#b@user:u"+strings.ReplaceAll(strings.ReplaceAll(sb, "cx", "cy"), `"x"`, `"y"`))
			}
			snap := condSnap(t, now, lines...)
			a, b := value[ia], value[ib]
			for _, rel := range []struct {
				name string
				want fourValued
			}{{"a", a}, {"b", b}, {"u", kleeneOr(a, b)}, {"i", kleeneAnd(a, b)}, {"e", kleeneMinus(a, b)}} {
				q := query(t, "doc:1#"+rel.name+"@user:u")
				r, err := c.Check(ctx, snap, q)
				if err != nil {
					t.Fatalf("%v: %v", lines, err)
				}
				if got := answer(r); got != rel.want {
					t.Errorf("a=%s b=%s: %s is %v, want %v", sa, sb, rel.name, got, rel.want)
				}
				if r.Conditional && len(r.Missing) == 0 {
					t.Errorf("a=%s b=%s: %s conditional without missing parameters", sa, sb, rel.name)
				}
				if r.Conditional && r.Allowed {
					t.Errorf("conditional and allowed at once")
				}
				// The request context settles every condition: the
				// conditional leaves take its value, stored ones keep
				// theirs (stored values win).
				for _, x := range []int{0, 1} {
					q.RequestContext = reqCtx(t, fmt.Sprintf(`{"x":%d,"y":%d}`, x, x))
					r, err := c.Check(ctx, snap, q)
					if err != nil {
						t.Fatal(err)
					}
					settle := func(v fourValued) fourValued {
						if v == fvConditional {
							return []fourValued{fvDenied, fvAllowed}[x]
						}
						return v
					}
					sa2, sb2 := settle(a), settle(b)
					want := map[string]fourValued{"a": sa2, "b": sb2, "u": kleeneOr(sa2, sb2), "i": kleeneAnd(sa2, sb2), "e": kleeneMinus(sa2, sb2)}[rel.name]
					if got := answer(r); got != want {
						t.Errorf("a=%s b=%s x=%d: %s is %v, want %v", sa, sb, x, rel.name, got, want)
					}
				}
			}
		}
	}
}

func TestConditionMissingAndSubjectSets(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := condSnap(t, now, "doc:1#t@team:x#member[cy]", "team:x#member@user:u[cx]", "team:x#member@user:v")
	c := New(Options{})
	ctx := context.Background()
	r, err := c.Check(ctx, snap, query(t, "doc:1#via@user:u"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed || !r.Conditional || !slices.Equal(r.Missing, []string{"x", "y"}) {
		t.Errorf("through a conditional set and a conditional member: %+v, want conditional on x and y", r)
	}
	q := query(t, "doc:1#via@user:u")
	q.RequestContext = reqCtx(t, `{"x":1,"y":1}`)
	if r, err = c.Check(ctx, snap, q); err != nil || !r.Allowed {
		t.Errorf("with x and y: %+v %v", r, err)
	}
	q.RequestContext = reqCtx(t, `{"y":1}`)
	if r, err = c.Check(ctx, snap, q); err != nil || r.Allowed || !slices.Equal(r.Missing, []string{"x"}) {
		t.Errorf("with y only: %+v %v, want conditional on x", r, err)
	}
	// A value of the wrong type is an error, never a denial.
	q.RequestContext = reqCtx(t, `{"x":"one","y":1}`)
	if _, err = c.Check(ctx, snap, q); err == nil {
		t.Error("a string for an int parameter was not an error")
	}
	// The cached checker gives the same answers: such answers are not
	// served from its cache.
	for range 2 {
		if r, err := c.Check(ctx, snap, query(t, "doc:1#via@user:v")); err != nil || r.Allowed || !r.Conditional {
			t.Errorf("v through the conditional set: %+v %v", r, err)
		}
	}
}

func TestExpiryBoundsTheAnswer(t *testing.T) {
	exp := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	line := "doc:1#a@user:u[expiration:2027-01-15T00:00:00Z]"
	c := New(Options{})
	ctx := context.Background()
	before := condSnap(t, exp.Add(-time.Second), line, "doc:2#a@user:u[expiration:2027-02-01T00:00:00Z]")
	r, err := c.Check(ctx, before, query(t, "doc:1#u@user:u"))
	if err != nil || !r.Allowed || !r.ValidUntil.Equal(exp) {
		t.Fatalf("before the expiry: %+v %v, want allowed until %v", r, err, exp)
	}
	// The same revision's tuples at a clock after the expiry: the
	// checker's cache must not answer from the earlier walk.
	after := condSnap(t, exp, line)
	if r, err = c.Check(ctx, after, query(t, "doc:1#a@user:u")); err != nil || r.Allowed {
		t.Fatalf("at the expiry: %+v %v, want denied", r, err)
	}
}

// TestLookupsReportConditionalMembers pins the lookups' four-valued
// answers over each operator: certain members apart from conditional
// ones, each with what it misses, the request's context settling them.
func TestLookupsReportConditionalMembers(t *testing.T) {
	ctx := context.Background()
	snap := condSnap(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		`doc:1#a@user:u[cx]`, `doc:1#b@user:u[cy]`, // u conditional on x in a, on y in b
		`doc:1#a@user:v`, `doc:1#b@user:v[cy]`, // v: certain in a, conditional in b
		`doc:1#a@user:w[cx:{"x":1}]`, // w: stored context allows
		`doc:1#a@user:z[cx:{"x":0}]`, // z: stored context denies, whatever the request says
		`doc:2#a@user:u[cx]`, `doc:2#b@user:u`,
		`doc:3#a@user:u[expiration:2026-12-31T00:00:00Z]`, // expired
		"doc:4#t@team:t1#member", `team:t1#member@user:u[cx]`,
	)
	c := New(Options{})
	subjects := func(rel, reqJSON string) string {
		t.Helper()
		q := SubjectQuery{Object: mustObject(t, "doc:1"), Relation: rel, Type: "user"}
		if reqJSON != "" {
			q.RequestContext = reqCtx(t, reqJSON)
		}
		res, err := c.LookupSubjectResults(ctx, snap, q)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, r := range res {
			p := r.String()
			if r.Conditional {
				p += "?" + strings.Join(r.Missing, ",")
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct{ rel, req, want string }{
		{"a", "", "user:u?x user:v user:w"},
		{"a", `{"x":1}`, "user:u user:v user:w"},
		{"a", `{"x":0}`, "user:v user:w"},
		{"u", "", "user:u?x,y user:v user:w"},    // certain by one path wins
		{"u", `{"y":1}`, "user:u user:v user:w"}, // one side settles it
		{"i", "", "user:u?x,y user:v?y"},
		{"e", "", "user:u?x,y user:v?y user:w"}, // certain base minus a conditional side
		{"e", `{"y":1}`, "user:w"},
	} {
		if got := subjects(tc.rel, tc.req); got != tc.want {
			t.Errorf("lookup subjects doc:1#%s context %s = %q, want %q", tc.rel, tc.req, got, tc.want)
		}
		// Each agrees with a check.
		for _, id := range []string{"u", "v", "w", "z"} {
			q := query(t, "doc:1#"+tc.rel+"@user:"+id)
			if tc.req != "" {
				q.RequestContext = reqCtx(t, tc.req)
			}
			r, err := c.Check(ctx, snap, q)
			if err != nil {
				t.Fatal(err)
			}
			got := subjects(tc.rel, tc.req)
			want := ""
			switch {
			case r.Allowed:
				want = "user:" + id
			case r.Conditional:
				want = "user:" + id + "?" + strings.Join(r.Missing, ",")
			}
			if has := slices.Contains(strings.Fields(got), want); want != "" && !has {
				t.Errorf("check %s = %+v, not in lookup %q", q, r, got)
			}
		}
	}
	// Certain-only lookups leave conditional members out.
	if res, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "doc:1"), Relation: "e", Type: "user"}); err != nil || len(res) != 1 || res[0].Subject.ID != "w" {
		t.Errorf("lookup subjects doc:1#e certain only = %v, %v", res, err)
	}
	resources := func(subj, rel, reqJSON string, limit int, cursor string) (string, string) {
		t.Helper()
		q := ResourceQuery{Subject: mustSubject(t, subj), Type: "doc", Relation: rel, Limit: limit, Cursor: cursor}
		if reqJSON != "" {
			q.RequestContext = reqCtx(t, reqJSON)
		}
		var parts []string
		next, err := c.LookupResourceResults(ctx, snap, q, func(r ResourceResult) bool {
			p := r.Object.String()
			if r.Conditional {
				p += "?" + strings.Join(r.Missing, ",")
			}
			parts = append(parts, p)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(parts, " "), next
	}
	if got, _ := resources("user:u", "a", "", 0, ""); got != "doc:1?x doc:2?x" {
		t.Errorf("lookup resources doc#a for user:u = %q", got)
	}
	if got, _ := resources("user:u", "u", "", 0, ""); got != "doc:1?x,y doc:2" {
		t.Errorf("lookup resources doc#u for user:u = %q", got)
	}
	if got, _ := resources("user:u", "via", "", 0, ""); got != "doc:4?x" {
		t.Errorf("lookup resources doc#via for user:u = %q", got)
	}
	if got, _ := resources("user:u", "via", `{"x":1}`, 0, ""); got != "doc:4" {
		t.Errorf("lookup resources doc#via for user:u with x=1 = %q", got)
	}
	// Pages count both kinds.
	first, next := resources("user:u", "u", "", 1, "")
	second, last := resources("user:u", "u", "", 1, next)
	if first != "doc:1?x,y" || second != "doc:2" || last != "" {
		t.Errorf("pages of one: %q (next %q), %q (next %q)", first, next, second, last)
	}
	var certain []string
	if _, err := c.LookupResources(ctx, snap, ResourceQuery{Subject: mustSubject(t, "user:u"), Type: "doc", Relation: "u"},
		func(o tuples.Object) bool { certain = append(certain, o.String()); return true }); err != nil || !slices.Equal(certain, []string{"doc:2"}) {
		t.Errorf("lookup resources certain only = %v, %v", certain, err)
	}
}

func TestCacheRespectsExpiry(t *testing.T) {
	ctx := context.Background()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WriteSchema(ctx, "e.rebac", []byte("type user\ntype doc {\n  relation viewer: user | user with expiration\n}\n")); err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	tp, _, _ := tuples.ParseWithPayload("doc:1#viewer@user:u[expiration:2027-01-15T00:00:00Z]")
	if _, err := st.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: tp}}}); err != nil {
		t.Fatal(err)
	}
	c := New(Options{}) // with its cross-query cache
	at := func(now time.Time) Result {
		t.Helper()
		snap, err := st.Snapshot(tuples.WithClock(ctx, now), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		r, err := c.Check(ctx, snap, query(t, "doc:1#viewer@user:u"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{exp.Add(-time.Hour), true},
		{exp.Add(-time.Minute), true}, // from the cache, still valid
		{exp, false},                  // past the cached answer's validity
		{exp.Add(-2 * time.Hour), true},
	} {
		if r := at(tc.now); r.Allowed != tc.want || (r.Allowed && !r.ValidUntil.Equal(exp)) {
			t.Errorf("at %v: %+v, want allowed=%v until %v", tc.now, r, tc.want, exp)
		}
	}
	if s := c.Stats(); s.CacheHits == 0 {
		t.Errorf("the expiring answer was never served from the cache: %+v", s)
	}
}

func TestExplanationNamesTheCondition(t *testing.T) {
	snap := condSnap(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), `doc:1#a@user:u[cx:{"x":2}]`, "doc:1#b@user:v[cy]")
	c := New(Options{})
	q := query(t, "doc:1#u@user:u")
	q.Explain = true
	r, err := c.Check(context.Background(), snap, q)
	if err != nil || !r.Allowed {
		t.Fatalf("%+v %v", r, err)
	}
	if got := r.Explanation.String(); !strings.Contains(got, `doc:1#a@user:u[cx:{"x":2}] (condition cx with x=2: allowed)`) {
		t.Errorf("explanation does not say which condition decided:\n%s", got)
	}
	q = query(t, "doc:1#u@user:v")
	q.Explain, q.RequestContext = true, reqCtx(t, `{"y":3}`)
	if r, err = c.Check(context.Background(), snap, q); err != nil || !r.Allowed {
		t.Fatalf("%+v %v", r, err)
	}
	if got := r.Explanation.String(); !strings.Contains(got, "(condition cy with y=3: allowed)") {
		t.Errorf("explanation does not show the request's value:\n%s", got)
	}

	// Denied by its condition: the denial names the stored tuple and what
	// its condition answered, not "no tuple".
	q.RequestContext = reqCtx(t, `{"y":-1}`)
	if r, err = c.Check(context.Background(), snap, q); err != nil || r.Allowed || r.Conditional {
		t.Fatalf("%+v %v", r, err)
	}
	got := r.Explanation.String()
	if !strings.Contains(got, "doc:1#u@user:v denied") || !strings.Contains(got, "doc:1#b@user:v[cy] (condition cy with y=-1: denied)") || strings.Contains(got, "no tuple doc:1#b@user:v") {
		t.Errorf("a denial by a condition:\n%s", got)
	}
	// Conditional: the header says so with what is missing, and the
	// tuple's condition shows the parameter missing.
	q.RequestContext = nil
	if r, err = c.Check(context.Background(), snap, q); err != nil || !r.Conditional {
		t.Fatalf("%+v %v", r, err)
	}
	got = r.Explanation.String()
	if !strings.Contains(got, "doc:1#u@user:v conditional (missing y)") || !strings.Contains(got, "doc:1#b@user:v[cy] (condition cy with y missing: conditional)") {
		t.Errorf("a conditional answer's explanation:\n%s", got)
	}
	if !r.Explanation.Conditional || !slices.Equal(r.Explanation.Missing, []string{"y"}) {
		t.Errorf("explanation fields: %+v", r.Explanation)
	}
}

// TestLookupSubjectsConditionalWildcard pins resolved detail 6: a
// conditional wildcard is reported with the subjects it leaves out, and
// a certain one leaves out the conditional subjects, listed on their own.
func TestLookupSubjectsConditionalWildcard(t *testing.T) {
	ctx := context.Background()
	const text = `type user
condition cx(x int) { x > 0 }
condition cy(y int) { y > 0 }
type doc {
  relation public: user:* | user:* with cx
  relation deny: user | user with cy
  relation viewer = public - deny
}
`
	load := func(lines ...string) tuples.Snapshot {
		t.Helper()
		snap, closeStore, err := fixture.Load(ctx, text, lines...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeStore() })
		return snap
	}
	c := New(Options{})
	show := func(snap tuples.Snapshot) string {
		t.Helper()
		res, err := c.LookupSubjectResults(ctx, snap, SubjectQuery{Object: mustObject(t, "doc:1"), Relation: "viewer", Type: "user"})
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, r := range res {
			p := r.String()
			if r.Conditional {
				p += "?" + strings.Join(r.Missing, ",")
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, " ")
	}
	// A conditional wildcard: bob is denied for certain, carol on y as
	// well as x, dan on x alone (the wildcard stands for him).
	snap := load("doc:1#public@user:*[cx]", "doc:1#deny@user:bob", "doc:1#deny@user:carol[cy]", "doc:1#deny@user:dan[cy:{\"y\":0}]")
	if got, want := show(snap), "user:* - {user:bob}?x user:carol?x,y"; got != want {
		t.Errorf("conditional wildcard: %q, want %q", got, want)
	}
	// A certain wildcard leaves out carol, conditional on y, who is
	// listed as conditional.
	snap = load("doc:1#public@user:*", "doc:1#deny@user:bob", "doc:1#deny@user:carol[cy]")
	if got, want := show(snap), "user:* - {user:bob, user:carol} user:carol?y"; got != want {
		t.Errorf("certain wildcard: %q, want %q", got, want)
	}
	if res, err := c.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "doc:1"), Relation: "viewer", Type: "user"}); err != nil || len(res) != 1 || res[0].String() != "user:* - {user:bob, user:carol}" {
		t.Errorf("certain only: %v %v", res, err)
	}
}
