package check

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// lookupPage is one page of a lookup of resources.
func lookupPage(ctx context.Context, c *Checker, snap tuples.Snapshot, q ResourceQuery) ([]string, string, error) {
	var got []string
	next, err := c.LookupResources(ctx, snap, q, func(o tuples.Object) bool { got = append(got, o.ID); return true })
	return got, next, err
}

// A paged lookup of resources reads the walk's last hop as reverse reads
// merged by object id and stops once its page is full (lookup_stream.go).
// On random schemas and tuples, with more objects per type than the
// agreement test's, and with contextual tuples laid over the stored ones,
// every page of every size is the matching slice of the unpaged lookup,
// which the reference holds to checks, and the last page alone has no
// cursor.
func TestLookupPagesAreSlicesOfTheFullLookup(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 60)
	ctx := context.Background()
	var lookups, streamed, pages, scans, handovers int
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(11, uint64(i)))
		text, sch := genSchema(rng)
		ids := []string{"a", "b", "c", "d", "e", "f", "g"}[:4+rng.IntN(4)]
		ts := genTuples(rng, sch, ids)
		in := &instance{text: text, sch: sch, tuples: ts, objects: map[string][]string{}}
		for _, ty := range sch.Types {
			in.objects[ty.Name] = append(slices.Clone(ids), "fresh")
		}
		ref := newReference(in)
		// Some tuples stored, the others contextual on odd instances.
		stored, extra := ts, []tuples.Tuple(nil)
		if i%2 == 1 {
			stored, extra = nil, nil
			for _, tu := range ts {
				if rng.IntN(3) == 0 {
					extra = append(extra, tu)
				} else {
					stored = append(stored, tu)
				}
			}
		}
		snap := &countingScan{mapSnap: newMapSnap(sch, 1, stored)}
		c := New(Options{MaxDepth: 1000})
		if i%3 != 0 {
			// Pages scan forward for as few as one stream, and hand over
			// to the streams after a few tuples (lookup_scan.go).
			c.scan = scanTuning{minSources: 1, keysPerSource: []int{1, 2, 3, 1000}[rng.IntN(4)], minChunk: 1 + rng.IntN(3)}
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d: "+format+"\n%s\ncontextual: %v", append([]any{i}, append(args, describe(in), extra)...)...)
		}
		for _, x := range ref.universe {
			for _, r := range sch.Relations {
				q := ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name, Context: extra}
				full, next, err := lookupPage(ctx, c, snap, q)
				if err != nil || next != "" {
					fail("lookup resources %s#%s for %s: next %q, %v", r.Type.Name, r.Name, x, next, err)
				}
				if want := ref.resources(r, x); !slices.Equal(full, want) {
					fail("lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, full, want)
				}
				lookups++
				if terminal, _ := terminalRelations(sch, r, leadsTo(sch, r)); terminal != nil {
					streamed++
				}
				for limit := 1; limit <= 3; limit++ {
					q.Limit, q.Cursor = limit, ""
					for at := 0; ; at += limit {
						page, next, err := lookupPage(ctx, c, snap, q)
						if err != nil {
							fail("page at %d of %d of %s#%s for %s: %v", at, limit, r.Type.Name, r.Name, x, err)
						}
						want := full[min(at, len(full)):min(at+limit, len(full))]
						if !slices.Equal(page, want) {
							fail("page at %d of %d of %s#%s for %s = %v, want %v of %v", at, limit, r.Type.Name, r.Name, x, page, want, full)
						}
						pages++
						if more := at+limit < len(full); (next != "") != more {
							fail("page at %d of %d of %s#%s for %s: cursor %q, with %d of %d listed", at, limit, r.Type.Name, r.Name, x, next, at+len(page), len(full))
						}
						if next == "" {
							break
						}
						q.Cursor = next
					}
				}
			}
		}
		scans += snap.scans
		handovers += snap.stops
	}
	if streamed == 0 || scans == 0 || handovers == 0 {
		t.Fatalf("%d lookups had a target whose last hop streams, %d pages scanned forward, %d handed over to the streams: the test measures too little", streamed, scans, handovers)
	}
	t.Logf("%d random instances, %d lookups (%d with a streamed last hop), %d pages equal to slices of the full lookups, %d of them scanned forward (%d handing over to the streams)", n, lookups, streamed, pages, scans, handovers)
}

// countingScan counts the forward scans of a snapshot and those that
// stopped at their budget.
type countingScan struct {
	*mapSnap
	scans, stops int
}

func (s *countingScan) ScanObjects(ctx context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	seq, ok := s.mapSnap.ScanObjects(ctx, objectType, after, wants, budget)
	s.scans++
	return func(yield func(tuples.ScanMatch, error) bool) {
		for m, err := range seq {
			if m.Stopped {
				s.stops++
			}
			if !yield(m, err) {
				return
			}
		}
	}, ok
}

// countingReverse counts the objects Reverse and ObjectsOf yield.
type countingReverse struct {
	tuples.Snapshot
	objects int
}

func (s *countingReverse) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, rel string) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for t, err := range s.Snapshot.ObjectsOf(ctx, subjs, objectType, rel) {
			s.objects++
			if !yield(t, err) {
				return
			}
		}
	}
}

func (s *countingReverse) Reverse(ctx context.Context, subj tuples.Subject, objectType, rel string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		for o, err := range s.Snapshot.Reverse(ctx, subj, objectType, rel) {
			s.objects++
			if !yield(o, err) {
				return
			}
		}
	}
}

// A first page costs in proportion to its size, not to everything the
// subject holds the relation on: with a user in 40 teams, each on the
// access list of 50 cases (2,000 viewable, a tenth of them denied), a
// page of 10 reads the 40 teams, the first few cases of each team's list
// (read ahead in one read, to start the merge) and about 10 more; the
// whole lookup reads all 2,000.
func TestLookupPageReadsInProportionToItsSize(t *testing.T) {
	ctx := context.Background()
	sch, err := schema.Load("paged.rebac", []byte(`
type user
type team {
  relation member: user
}
type case {
  relation access_list: team#member
  relation deny_list: user
  relation viewer = access_list - deny_list
}`))
	if err != nil {
		t.Fatal(err)
	}
	var ts []tuples.Tuple
	add := func(s string) {
		tu, err := tuples.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tu)
	}
	for team := range 40 {
		add(fmt.Sprintf("team:t%02d#member@user:ana", team))
		for k := range 50 {
			id := fmt.Sprintf("c%04d", k*40+team)
			add("case:" + id + "#access_list@team:t" + fmt.Sprintf("%02d", team) + "#member")
			if (k*40+team)%10 == 3 {
				add("case:" + id + "#deny_list@user:ana")
			}
		}
	}
	c := New(Options{CacheSize: -1})
	q := ResourceQuery{Subject: tuples.Subject{Type: "user", ID: "ana"}, Type: "case", Relation: "viewer"}
	read := func(limit int) (int, []string) {
		snap := &countingReverse{Snapshot: newMapSnap(sch, 1, ts)}
		q.Limit = limit
		got, _, err := lookupPage(ctx, c, snap, q)
		if err != nil {
			t.Fatal(err)
		}
		return snap.objects, got
	}
	all, full := read(0)
	some, page := read(10)
	if len(full) != 1800 || !slices.Equal(page, full[:10]) {
		t.Fatalf("full lookup %d objects, page %v", len(full), page)
	}
	if all < 2000 || some > 40+40*(readAhead+1)+2*10 {
		t.Fatalf("objects read: %d for the whole lookup, %d for a page of 10", all, some)
	}
	t.Logf("objects read: %d for the whole lookup, %d for a page of 10 (%s...)", all, some, strings.Join(page[:3], " "))
}
