package check

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// A random instance: a schema using every operator, multi-hop paths,
// wildcards, subject sets and recursive relations, and tuples over a few
// objects per type, cycles included.
type instance struct {
	text   string
	sch    *schema.Schema
	tuples []tuples.Tuple
	// objects per type name: every id in the tuples plus a fresh one.
	objects map[string][]string
}

type genRel struct {
	name    string
	stored  bool
	hop     bool     // stored, no wildcard: can be followed by a path
	allowed []string // stored: "t1", "t1:*", "t1#r"
	expr    string   // computed
}

type genType struct {
	name string
	rels []*genRel
}

// genSchema draws schemas until one compiles and is stratified: no
// relation depends on itself through the subtracted side of `-`.
func genSchema(rng *rand.Rand) (string, *schema.Schema) {
	for {
		text := genSchemaText(rng)
		sch, err := schema.Load("random.rebac", []byte(text))
		if err != nil || !stratified(sch) {
			continue
		}
		return text, sch
	}
}

func genSchemaText(rng *rand.Rand) string {
	nt := 2 + rng.IntN(3)
	types := make([]*genType, nt)
	for i := range types {
		types[i] = &genType{name: fmt.Sprintf("t%d", i)}
		ns, nc := 1+rng.IntN(2), rng.IntN(4)
		if rng.IntN(2) == 0 {
			types[i].rels = append(types[i].rels, &genRel{name: "h", stored: true, hop: true})
		}
		for j := 0; j < ns; j++ {
			types[i].rels = append(types[i].rels, &genRel{name: fmt.Sprintf("s%d", j), stored: true})
		}
		for j := 0; j < nc; j++ {
			types[i].rels = append(types[i].rels, &genRel{name: fmt.Sprintf("c%d", j)})
		}
	}
	pick := func() (*genType, *genRel) {
		t := types[rng.IntN(nt)]
		return t, t.rels[rng.IntN(len(t.rels))]
	}
	for _, t := range types {
		for _, r := range t.rels {
			if !r.stored {
				continue
			}
			seen := map[string]bool{}
			n := 1 + rng.IntN(3)
			for k := 0; k < n; k++ {
				var a string
				switch x := rng.IntN(6); {
				case r.hop && x == 5:
					// A hop through a subject set reaches its object.
					st, sr := pick()
					a = st.name + "#" + sr.name
				case r.hop || x < 3:
					a = types[rng.IntN(nt)].name
				case x == 3:
					a = types[rng.IntN(nt)].name + ":*"
				default:
					st, sr := pick()
					a = st.name + "#" + sr.name
				}
				if !seen[a] {
					seen[a] = true
					r.allowed = append(r.allowed, a)
				}
			}
		}
	}
	byName := map[string]*genType{}
	for _, t := range types {
		byName[t.name] = t
	}
	hopOf := func(t *genType) *genRel {
		for _, r := range t.rels {
			if r.hop {
				return r
			}
		}
		return nil
	}
	// leaf is a reference on the same object or a path of one or two hops.
	leaf := func(t *genType, self *genRel) string {
		h := hopOf(t)
		if h == nil || rng.IntN(5) < 3 {
			for {
				r := t.rels[rng.IntN(len(t.rels))]
				if r != self {
					return r.name
				}
			}
		}
		// The type an allowed subject leads a hop to: `t1` or `t1#r`.
		target := func(h *genRel) *genType {
			a := h.allowed[rng.IntN(len(h.allowed))]
			if i := strings.IndexByte(a, '#'); i >= 0 {
				a = a[:i]
			}
			return byName[a]
		}
		next := target(h)
		path := h.name
		if h2 := hopOf(next); h2 != nil && rng.IntN(3) == 0 {
			path += "." + h2.name
			next = target(h2)
		}
		return path + "#" + next.rels[rng.IntN(len(next.rels))].name
	}
	var expr func(t *genType, self *genRel, depth int) string
	expr = func(t *genType, self *genRel, depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			return leaf(t, self)
		}
		op := []string{" | ", " & ", " - "}[rng.IntN(3)]
		return "(" + expr(t, self, depth-1) + op + expr(t, self, depth-1) + ")"
	}
	var b strings.Builder
	for _, t := range types {
		fmt.Fprintf(&b, "type %s {\n", t.name)
		for _, r := range t.rels {
			if r.stored {
				fmt.Fprintf(&b, "  relation %s: %s\n", r.name, strings.Join(r.allowed, " | "))
			} else {
				fmt.Fprintf(&b, "  relation %s = %s\n", r.name, expr(t, r, 3))
			}
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// deps lists, for each relation, the relations its membership reads, with
// whether the read is under the subtracted side of an exclusion.
type dep struct {
	to       *schema.Relation
	negative bool
}

func relDeps(r *schema.Relation) []dep {
	var out []dep
	if r.Stored {
		for _, s := range r.SubjectSets {
			out = append(out, dep{to: s})
		}
		return out
	}
	var walk func(n schema.Node, neg bool)
	walk = func(n schema.Node, neg bool) {
		switch n := n.(type) {
		case *schema.Ref:
			out = append(out, dep{to: n.Relation, negative: neg})
		case *schema.Arrow:
			for _, th := range n.Then {
				if th != nil {
					walk(th, neg)
				}
			}
		case *schema.Union:
			for _, c := range n.Children {
				walk(c, neg)
			}
		case *schema.Intersect:
			for _, c := range n.Children {
				walk(c, neg)
			}
		case *schema.Exclude:
			walk(n.Base, neg)
			walk(n.Subtract, true)
		}
	}
	walk(r.Rewrite, false)
	return out
}

// strata assigns each relation a level: a relation's level is at least
// that of everything it reads, and above that of what it subtracts. ok is
// false when no such assignment exists (a relation subtracts itself).
func strata(sch *schema.Schema) (level []int, ok bool) {
	level = make([]int, len(sch.Relations))
	for changed := true; changed; {
		changed = false
		for _, r := range sch.Relations {
			for _, d := range relDeps(r) {
				want := level[d.to.ID]
				if d.negative {
					want++
				}
				if level[r.ID] < want {
					level[r.ID] = want
					changed = true
					if want > len(sch.Relations) {
						return nil, false
					}
				}
			}
		}
	}
	return level, true
}

func stratified(sch *schema.Schema) bool {
	_, ok := strata(sch)
	return ok
}

// genTuples draws tuples: for each stored relation of each object, a few
// subjects of the allowed forms, over a small pool of ids so that groups
// nest and cycle.
func genTuples(rng *rand.Rand, sch *schema.Schema, ids []string) []tuples.Tuple {
	var out []tuples.Tuple
	for _, r := range sch.Relations {
		if !r.Stored {
			continue
		}
		for _, id := range ids {
			n := rng.IntN(3)
			for k := 0; k < n; k++ {
				a := r.Allowed[rng.IntN(len(r.Allowed))]
				t := tuples.Tuple{ObjectType: r.Type.Name, ObjectID: id, Relation: r.Name, SubjectType: a.Type.Name}
				switch {
				case a.Wildcard:
					t.SubjectID = tuples.Wildcard
				case a.Relation != nil:
					t.SubjectID = ids[rng.IntN(len(ids))]
					t.SubjectRelation = a.Relation.Name
				default:
					t.SubjectID = ids[rng.IntN(len(ids))]
				}
				out = append(out, t)
			}
		}
	}
	return out
}

func genInstance(rng *rand.Rand) *instance {
	text, sch := genSchema(rng)
	ids := []string{"a", "b", "c"}[:2+rng.IntN(2)]
	ts := genTuples(rng, sch, ids)
	in := &instance{text: text, sch: sch, tuples: ts, objects: map[string][]string{}}
	for _, t := range sch.Types {
		in.objects[t.Name] = append(append([]string(nil), ids...), "fresh")
	}
	return in
}
