package condition

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
)

// randomExpr builds a bool expression over the int parameters a, b, c.
func randomExpr(r *rand.Rand, depth int) string {
	if depth == 0 || r.Intn(3) == 0 {
		v := []string{"a", "b", "c"}[r.Intn(3)]
		op := []string{"<", ">", "==", "!=", "<=", ">="}[r.Intn(6)]
		return fmt.Sprintf("%s %s %d", v, op, r.Intn(5))
	}
	x, y := randomExpr(r, depth-1), randomExpr(r, depth-1)
	switch r.Intn(4) {
	case 0:
		return "(" + x + " && " + y + ")"
	case 1:
		return "(" + x + " || " + y + ")"
	case 2:
		return "!(" + x + ")"
	}
	return "(" + x + " ? " + y + " : " + randomExpr(r, depth-1) + ")"
}

// TestPartialEvaluationIsSound: an answer given with parameters missing
// is the answer for every value they could take, and a conditional answer
// names parameters that, once supplied, decide it. A decided answer that
// a missing value could overturn would be a wrong grant or denial.
func TestPartialEvaluationIsSound(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	params := []Param{{Name: "a", Type: Type{Kind: KindInt}}, {Name: "b", Type: Type{Kind: KindInt}}, {Name: "c", Type: Type{Kind: KindInt}}}
	names := []string{"a", "b", "c"}
	cases := 0
	for i := 0; i < 300; i++ {
		expr := randomExpr(r, 3)
		c, diags := Compile("c", params, expr, Options{})
		if diags != nil {
			t.Fatalf("%s: %v", expr, diags)
		}
		for j := 0; j < 8; j++ {
			// Some parameters known, in the stored or the request context.
			stored, request := Context{}, Context{}
			for _, n := range names {
				switch r.Intn(3) {
				case 0:
					stored[n] = json.Number(fmt.Sprint(r.Intn(5)))
				case 1:
					request[n] = json.Number(fmt.Sprint(r.Intn(5)))
				}
			}
			got, err := c.Eval(stored, request)
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			merged := Merge(stored, request)
			var free []string
			for _, n := range names {
				if _, ok := merged[n]; !ok {
					free = append(free, n)
				}
			}
			for _, n := range got.Missing {
				if _, ok := merged[n]; ok {
					t.Fatalf("%s with %s: %s reported missing but present", expr, merged.Encode(), n)
				}
			}
			// Every completion of the free parameters over a range that
			// covers every comparison's both sides.
			outcomes := map[Outcome]bool{}
			var fill func(k int, full Context)
			fill = func(k int, full Context) {
				if k == len(free) {
					res, err := c.Eval(full, nil)
					if err != nil || res.Outcome == Conditional {
						t.Fatalf("%s with %s: %v %v", expr, full.Encode(), res, err)
					}
					outcomes[res.Outcome] = true
					cases++
					return
				}
				for v := -1; v <= 5; v++ {
					next := Merge(Context{free[k]: json.Number(fmt.Sprint(v))}, full)
					fill(k+1, next)
				}
			}
			fill(0, merged)
			if got.Outcome != Conditional {
				if len(outcomes) != 1 || !outcomes[got.Outcome] {
					t.Fatalf("%s with %s decided %v, but completions give %v", expr, merged.Encode(), got.Outcome, outcomes)
				}
				continue
			}
			if len(got.Missing) == 0 {
				t.Fatalf("%s with %s: conditional with nothing missing", expr, merged.Encode())
			}
			// Supplying what is reported missing makes progress: the next
			// answer is decided or misses only other parameters, so at
			// most len(names) rounds decide it.
			known := merged
			res := got
			for round := 0; res.Outcome == Conditional; round++ {
				if round == len(names) {
					t.Fatalf("%s with %s: still conditional after %d rounds", expr, known.Encode(), round)
				}
				add := Context{}
				for _, n := range res.Missing {
					if _, ok := known[n]; ok {
						t.Fatalf("%s with %s: %s reported missing again", expr, known.Encode(), n)
					}
					add[n] = json.Number("2")
				}
				known = Merge(known, add)
				if res, err = c.Eval(known, nil); err != nil {
					t.Fatalf("%s with %s: %v", expr, known.Encode(), err)
				}
			}
		}
	}
	t.Logf("%d completions checked", cases)
}
