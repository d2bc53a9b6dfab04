package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// diffClock is the clock of the conditions' differential test; expiries
// are drawn either side of it.
var diffClock = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

var storedLine = regexp.MustCompile(`(?m)^  relation (\w+): (.*)$`)

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
	var st store.Store
	var err error
	if onBadger {
		st, err = badger.Open(t.TempDir(), badger.Options{BlockCacheMB: 8})
	} else {
		st, err = memory.New()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
