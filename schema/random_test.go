package schema

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// randomSchema writes a schema of random shape with comments and blank
// lines in random places. Most come out valid; some have cycles or
// never-true relations, which is fine for the properties tested.
func randomSchema(r *rand.Rand) string {
	nTypes := 1 + r.IntN(5)
	type rel struct {
		name   string
		stored bool
		plain  bool // stored with plain types only: may be hopped through
		allows []int
	}
	rels := make([][]rel, nTypes)
	for t := range rels {
		for i := range r.IntN(6) {
			x := rel{name: fmt.Sprintf("r%d", i), stored: r.IntN(2) == 0}
			rels[t] = append(rels[t], x)
		}
	}
	var b strings.Builder
	comment := func(indent string) {
		switch r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, "%s// c%d\n", indent, r.IntN(100))
		case 1:
			b.WriteString("\n")
		case 2:
			fmt.Fprintf(&b, "%s// a\n%s//\n%s//  b\n\n", indent, indent, indent)
		}
	}
	lineComment := func() {
		if r.IntN(4) == 0 {
			fmt.Fprintf(&b, " // l%d", r.IntN(100))
		}
	}
	// Decide stored relations' subjects first so expressions can hop.
	for t := range rels {
		for i := range rels[t] {
			x := &rels[t][i]
			if !x.stored {
				continue
			}
			x.plain = r.IntN(2) == 0
			for range 1 + r.IntN(3) {
				x.allows = append(x.allows, r.IntN(nTypes))
			}
			slices.Sort(x.allows)
			x.allows = slices.Compact(x.allows)
		}
	}
	// An expression of relation i of type t reads stored relations and
	// computed ones declared before it, so that it cannot loop on the same
	// object; arrows may lead anywhere.
	var expr func(t, i, depth int) string
	expr = func(t, i, depth int) string {
		if depth > 2 || r.IntN(3) == 0 {
			var cands []rel
			for k, x := range rels[t] {
				if x.stored || k < i {
					cands = append(cands, x)
				}
			}
			if len(cands) == 0 {
				return "missing"
			}
			x := cands[r.IntN(len(cands))]
			if x.stored && x.plain && r.IntN(2) == 0 {
				next := x.allows[r.IntN(len(x.allows))]
				if len(rels[next]) > 0 {
					return x.name + "#" + rels[next][r.IntN(len(rels[next]))].name
				}
			}
			return x.name
		}
		op := []string{" | ", " & ", " - ", "|", " -\n    "}[r.IntN(5)]
		s := expr(t, i, depth+1) + op + expr(t, i, depth+1)
		if r.IntN(3) == 0 {
			s = "(" + s + ")"
		}
		return s
	}
	for t := range rels {
		comment("")
		fmt.Fprintf(&b, "type t%d", t)
		if len(rels[t]) == 0 && r.IntN(2) == 0 {
			lineComment()
			b.WriteString("\n")
			continue
		}
		b.WriteString(" {")
		lineComment()
		b.WriteString("\n")
		for i, x := range rels[t] {
			comment("  ")
			fmt.Fprintf(&b, "  relation %s", x.name)
			if x.stored {
				b.WriteString(":")
				for k, a := range x.allows {
					if k > 0 {
						b.WriteString(" |")
					}
					fmt.Fprintf(&b, " t%d", a)
					if !x.plain && k == len(x.allows)-1 {
						if len(rels[a]) > 0 && r.IntN(2) == 0 {
							fmt.Fprintf(&b, " | t%d#%s", a, rels[a][r.IntN(len(rels[a]))].name)
						} else {
							fmt.Fprintf(&b, " | t%d:*", a)
						}
					}
				}
			} else {
				b.WriteString(" = " + expr(t, i, 0))
			}
			lineComment()
			b.WriteString("\n")
		}
		comment("  ")
		b.WriteString("}\n")
	}
	comment("")
	return b.String()
}

// TestRandomSchemas checks, on many generated schemas, what FuzzParse
// checks on arbitrary bytes, and that the reach tables equal those of a
// plain fixpoint iteration over the whole schema.
//
// DOCKET_RANDOM_SCHEMAS=N runs N cases instead of the default 300 (50
// under -race).
func TestRandomSchemas(t *testing.T) {
	n := 300
	if raceEnabled {
		n = 50
	}
	if v := os.Getenv("DOCKET_RANDOM_SCHEMAS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("DOCKET_RANDOM_SCHEMAS=%q: want a positive number", v)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	loaded := 0
	for i := range n {
		src := randomSchema(r)
		s, err := Load("random.rebac", []byte(src))
		if err != nil {
			if strings.Contains(err.Error(), "internal") {
				t.Fatalf("case %d: %v\n%s", i, err, src)
			}
			continue
		}
		loaded++
		once := s.Text()
		again, err := Load("random.rebac", []byte(once))
		if err != nil {
			t.Fatalf("case %d: formatted text does not load: %v\n--- input ---\n%s--- formatted ---\n%s", i, err, src, once)
		}
		if twice := again.Text(); twice != once {
			t.Fatalf("case %d: format not idempotent\n--- input ---\n%s--- once ---\n%s--- twice ---\n%s", i, src, once, twice)
		}
		if a, b := fileTree(s.File()), fileTree(again.File()); a != b {
			t.Fatalf("case %d: tree changed\n--- input ---\n%s--- before ---\n%s--- after ---\n%s", i, src, a, b)
		}
		if a, b := dumpSchema(s), dumpSchema(again); a != b {
			t.Fatalf("case %d: compiled form changed\n--- input ---\n%s--- before ---\n%s--- after ---\n%s", i, src, a, b)
		}
		if got, want := reachTables(s), naiveReach(s); got != want {
			t.Fatalf("case %d: reach differs from the plain fixpoint\n--- input ---\n%s--- got ---\n%s--- want ---\n%s", i, src, got, want)
		}
	}
	t.Logf("%d of %d generated schemas loaded", loaded, n)
	if loaded < n/2 {
		t.Errorf("only %d of %d generated schemas loaded; the generator needs work", loaded, n)
	}
}

func reachTables(s *Schema) string {
	var b strings.Builder
	for _, r := range s.Relations {
		fmt.Fprintf(&b, "%s: %s | %s | %s\n", r, typeSet(s, r.ReachTypes, ""), typeSet(s, r.ReachWildcard, ":*"), relSet(s, r.ReachSets))
	}
	return b.String()
}

// naiveReach recomputes the reach tables by iterating over every relation
// until nothing changes, independently of the compiler's ordering.
func naiveReach(s *Schema) string {
	nt, nr := len(s.Types), len(s.Relations)
	type set struct{ types, wild, sets []bool }
	mk := func() set { return set{make([]bool, nt), make([]bool, nt), make([]bool, nr)} }
	or := func(dst *set, src set) (changed bool) {
		for i := range dst.types {
			changed = changed || !dst.types[i] && src.types[i] || !dst.wild[i] && src.wild[i]
			dst.types[i] = dst.types[i] || src.types[i]
			dst.wild[i] = dst.wild[i] || src.wild[i]
		}
		for i := range dst.sets {
			changed = changed || !dst.sets[i] && src.sets[i]
			dst.sets[i] = dst.sets[i] || src.sets[i]
		}
		return changed
	}
	cur := make([]set, nr)
	for _, r := range s.Relations {
		cur[r.ID] = mk()
		cur[r.ID].sets[r.ID] = true
	}
	var eval func(n Node) set
	eval = func(n Node) set {
		out := mk()
		switch n := n.(type) {
		case *Ref:
			or(&out, cur[n.Relation.ID])
		case *Arrow:
			for _, th := range n.Then {
				if th != nil {
					or(&out, eval(th))
				}
			}
		case *Union:
			for _, c := range n.Children {
				or(&out, eval(c))
			}
		case *Intersect:
			out = eval(n.Children[0])
			for _, c := range n.Children[1:] {
				in := eval(c)
				for i := range out.types {
					out.types[i] = out.types[i] && in.types[i]
					out.wild[i] = out.wild[i] && in.wild[i]
				}
				for i := range out.sets {
					out.sets[i] = out.sets[i] && in.sets[i]
				}
			}
		case *Exclude:
			out = eval(n.Base)
		}
		return out
	}
	for changed := true; changed; {
		changed = false
		for _, r := range s.Relations {
			next := mk()
			next.sets[r.ID] = true
			if r.Stored {
				for _, a := range r.Allowed {
					switch {
					case a.Wildcard:
						next.types[a.Type.ID] = true
						next.wild[a.Type.ID] = true
					case a.Relation != nil:
						next.sets[a.Relation.ID] = true
						or(&next, cur[a.Relation.ID])
					default:
						next.types[a.Type.ID] = true
					}
				}
			} else {
				or(&next, eval(r.Rewrite))
			}
			if or(&cur[r.ID], next) {
				changed = true
			}
		}
	}
	var b strings.Builder
	for _, r := range s.Relations {
		c := cur[r.ID]
		fmt.Fprintf(&b, "%s: %s | %s | %s\n", r, typeSet(s, denseSet(c.types), ""), typeSet(s, denseSet(c.wild), ":*"), relSet(s, denseSet(c.sets)))
	}
	return b.String()
}

// denseSet turns the reference's tables into the compiler's sets.
func denseSet(v []bool) IDSet {
	var out IDSet
	for id, ok := range v {
		if ok {
			out.add(id)
		}
	}
	return out
}
