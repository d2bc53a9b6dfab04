package gen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

func generate(t *testing.T, spec Spec) (tuplesOut, checks []byte, st Stats) {
	t.Helper()
	var tb, qb bytes.Buffer
	st, err := Generate(context.Background(), spec, &tb, &qb)
	if err != nil {
		t.Fatalf("generate %s: %v", spec.Name(), err)
	}
	return tb.Bytes(), qb.Bytes(), st
}

func specs() []Spec {
	var out []Spec
	for _, sh := range Shapes() {
		out = append(out, Spec{Shape: sh, Size: 20_000, Seed: 7})
	}
	return out
}

func TestDeterministic(t *testing.T) {
	for _, spec := range specs() {
		t.Run(spec.Shape, func(t *testing.T) {
			t1, q1, _ := generate(t, spec)
			t2, q2, _ := generate(t, spec)
			if !bytes.Equal(t1, t2) || !bytes.Equal(q1, q2) {
				t.Fatalf("two runs with seed %d differ", spec.Seed)
			}
			spec.Seed++
			t3, _, _ := generate(t, spec)
			if bytes.Equal(t1, t3) {
				t.Fatalf("seeds %d and %d give the same tuples", spec.Seed-1, spec.Seed)
			}
		})
	}
}

// validate parses a tuple line and checks it against the schema exactly
// as the store does before writing it.
func validate(s *schema.Schema, line string) error {
	tu, err := tuples.Parse(line)
	if err != nil {
		return err
	}
	if tu.String() != line {
		return fmt.Errorf("prints back as %q", tu.String())
	}
	return tuples.Validate(tu, s)
}

func TestTuplesValidate(t *testing.T) {
	for _, spec := range specs() {
		t.Run(spec.Shape, func(t *testing.T) {
			text, _ := Schema(spec.Shape)
			s, err := schema.Load(spec.Shape+".rebac", []byte(text))
			if err != nil {
				t.Fatalf("schema: %v", err)
			}
			out, _, st := generate(t, spec)
			sc := bufio.NewScanner(bytes.NewReader(out))
			n, line := 0, 0
			seen := map[string]bool{}
			for sc.Scan() {
				line++
				l := sc.Text()
				if strings.HasPrefix(l, "//") {
					continue
				}
				n++
				if err := validate(s, l); err != nil {
					t.Fatalf("line %d %q: %v", line, l, err)
				}
				if seen[l] {
					t.Fatalf("line %d %q: duplicate tuple", line, l)
				}
				seen[l] = true
			}
			if n != st.Tuples || n == 0 {
				t.Fatalf("counted %d tuple lines, stats say %d", n, st.Tuples)
			}
		})
	}
}

func TestQueriesRoundTrip(t *testing.T) {
	for _, spec := range specs() {
		t.Run(spec.Shape, func(t *testing.T) {
			text, _ := Schema(spec.Shape)
			s, err := schema.Load(spec.Shape+".rebac", []byte(text))
			if err != nil {
				t.Fatalf("schema: %v", err)
			}
			_, checks, st := generate(t, spec)
			qs, err := ReadQueries(bytes.NewReader(checks), "checks")
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != st.Queries {
				t.Fatalf("read %d queries, wrote %d", len(qs), st.Queries)
			}
			kinds := map[Kind]int{}
			allowed := map[bool]int{}
			for _, q := range qs {
				kinds[q.Kind]++
				typ := q.Object.Type
				if q.Kind == KindResources {
					typ = q.Type
				}
				if s.Relation(typ, q.Relation) == nil {
					t.Fatalf("%s: unknown relation %s#%s", q, typ, q.Relation)
				}
				if q.Kind == KindCheck {
					allowed[q.Expect.Allowed]++
				}
				back, err := ParseQuery(q.String())
				if err != nil || back != q {
					t.Fatalf("%s does not round-trip: %+v, %v", q, back, err)
				}
			}
			if kinds[KindCheck] == 0 || allowed[true] == 0 || allowed[false] == 0 {
				t.Fatalf("check list lacks positive or negative checks: %v %v", kinds, allowed)
			}
		})
	}
}

func TestCasebookSize(t *testing.T) {
	_, _, st := generate(t, Spec{Shape: ShapeCasebook, Size: 100_000, Seed: 1})
	if st.Tuples < 90_000 || st.Tuples > 110_000 {
		t.Fatalf("asked for 100k tuples, got %d", st.Tuples)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"100k": 100_000, "1m": 1_000_000, "10M": 10_000_000, "2500": 2500} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, _ := ParseSize(FormatSize(got)); back != got {
			t.Errorf("FormatSize(%d) = %q does not read back", got, FormatSize(got))
		}
	}
	for _, bad := range []string{"", "k", "-5", "1g", "x"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestBadInput(t *testing.T) {
	var b bytes.Buffer
	if _, err := Generate(context.Background(), Spec{Shape: "nope"}, &b, &b); err == nil {
		t.Fatal("unknown shape accepted")
	}
	for _, bad := range []string{"check x case:1#viewer@user:a maybe", "frob x y z", "check x case:1@user:a allowed", "resources x user:a case n=z"} {
		if _, err := ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%q) accepted", bad)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Spec{Shape: ShapeCasebook, Size: 100_000, Seed: 1}, &b, &b); err == nil {
		t.Fatal("cancelled generation succeeded")
	}
}

// TestExpectedAnswers asks the checker the checks of the agency shapes'
// lists: the generators' own models must agree with the engine, or the
// comparisons built on them would verify the peers against wrong answers.
// (The stress shapes' lists are checked by every benchmark before it
// times anything; importing them here would take most of the package's
// time under the race detector.)
func TestExpectedAnswers(t *testing.T) {
	ctx := context.Background()
	for _, spec := range specs() {
		if !Scales(spec.Shape) {
			continue
		}
		t.Run(spec.Shape, func(t *testing.T) {
			out, checks, _ := generate(t, spec)
			snap := loaded(ctx, t, spec, out)
			qs, err := ReadQueries(bytes.NewReader(checks), "checks")
			if err != nil {
				t.Fatal(err)
			}
			c := check.New(check.Options{})
			labels := map[string][2]int{}
			for _, q := range qs {
				if q.Kind != KindCheck || !q.Expect.Known {
					continue
				}
				// A few hundred of each label cover every path a label
				// takes, and keep the race-enabled suite short.
				if n := labels[q.Label]; n[0]+n[1] >= 150 {
					continue
				}
				res, err := c.Check(ctx, snap, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if res.Allowed != q.Expect.Allowed {
					t.Fatalf("%s: the checker says allowed=%v", q, res.Allowed)
				}
				n := labels[q.Label]
				if res.Allowed {
					n[0]++
				} else {
					n[1]++
				}
				labels[q.Label] = n
			}
			if len(labels) == 0 {
				t.Fatal("no checks with known answers")
			}
			t.Logf("%s: allowed/denied by label %v", spec.Name(), labels)
		})
	}
}

// TestAllCases: AllCases leaves the tuples and the usual check list as
// they are, adds queries no other entry of their label repeats (every
// case's checks, a lookup for every user and case), and their expected
// answers are the checker's.
func TestAllCases(t *testing.T) {
	ctx := context.Background()
	for _, shape := range []string{ShapeCasebook, ShapeAnchors} {
		// Large enough that most cases are not sampled.
		spec := Spec{Shape: shape, Size: 60_000, Seed: 7}
		t.Run(spec.Shape, func(t *testing.T) {
			usualTuples, usualChecks, _ := generate(t, spec)
			all := spec
			all.AllCases = true
			allTuples, allChecks, _ := generate(t, all)
			if !bytes.Equal(usualTuples, allTuples) {
				t.Fatal("AllCases changed the tuples")
			}
			if !bytes.HasPrefix(allChecks, usualChecks) {
				t.Fatal("AllCases changed the usual check list")
			}
			usual, err := ReadQueries(bytes.NewReader(usualChecks), "usual")
			if err != nil {
				t.Fatal(err)
			}
			qs, err := ReadQueries(bytes.NewReader(allChecks), "all")
			if err != nil {
				t.Fatal(err)
			}
			extra := qs[len(usual):]
			seen := map[string]bool{}
			perKind, total := map[string]int{}, map[string]int{}
			for i, q := range qs {
				// A check is one query whatever its expectation says. (A
				// case's picks of two labels may coincide: a deny-listed
				// teammate is also in the team.)
				key := fmt.Sprint(q.Kind, q.Label, q.Object, q.Relation, q.Subject, q.Type)
				if seen[key] && i >= len(usual) {
					t.Fatalf("extra query %s repeats an earlier one", q)
				}
				seen[key] = true
				total[string(q.Kind)+"/"+q.Label]++
				if i >= len(usual) {
					perKind[string(q.Kind)+"/"+q.Label]++
				}
			}
			cases := map[string]bool{}
			for _, line := range strings.Split(string(allTuples), "\n") {
				if id, ok := strings.CutPrefix(line, "case:"); ok {
					cases[id[:strings.IndexByte(id, '#')]] = true
				}
			}
			// Every case has one direct check and one lookup of its
			// viewers; every user a lookup of their cases (users are
			// u0..u4999 in both shapes, and the usual list's 20 random
			// ones may repeat).
			if total["check/direct"] != len(cases) || total["subjects/viewers_of_case"] != len(cases) ||
				perKind["check/direct"] < len(cases)/2 || total["resources/cases_of_user"] > 5000+20 || total["resources/cases_of_user"] < 5000 {
				t.Fatalf("%d cases; queries by kind %v, of which extra %v", len(cases), total, perKind)
			}
			snap := loaded(ctx, t, spec, allTuples)
			c := check.New(check.Options{})
			asked := map[string]int{}
			for _, q := range extra {
				if q.Kind != KindCheck || !q.Expect.Known || asked[q.Label] >= 100 {
					continue
				}
				asked[q.Label]++
				res, err := c.Check(ctx, snap, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if res.Allowed != q.Expect.Allowed {
					t.Fatalf("%s: the checker says allowed=%v", q, res.Allowed)
				}
			}
			t.Logf("%s: extra queries %v, checked %v", spec.Name(), perKind, asked)
		})
	}
}

// loaded is a snapshot of an in-memory store holding spec's schema and
// the tuples of text, closed with its store when the test ends.
func loaded(ctx context.Context, t *testing.T, spec Spec, text []byte) tuples.Snapshot {
	t.Helper()
	schemaText, _ := Schema(spec.Shape)
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.WriteSchema(ctx, spec.Shape+".rebac", []byte(schemaText)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Import(ctx, bytes.NewReader(text), store.ImportOptions{Format: tuples.FormatText, Name: spec.Name()}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	return snap
}
