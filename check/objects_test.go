package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// objectCountingSnap counts a snapshot's reads of objects whole, passing
// on its membership index and counts so that the walk is the one the
// store's snapshot gets.
type objectCountingSnap struct {
	tuples.Snapshot
	objects atomic.Int64
}

func (s *objectCountingSnap) ReadsObjects() bool {
	return s.Snapshot.(tuples.ObjectReader).ReadsObjects()
}

func (s *objectCountingSnap) ObjectTuples(ctx context.Context, obj tuples.Object, max int) ([]tuples.ObjectTuple, bool, error) {
	s.objects.Add(1)
	return s.Snapshot.(tuples.ObjectReader).ObjectTuples(ctx, obj, max)
}

func (s *objectCountingSnap) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	if gi, ok := s.Snapshot.(tuples.GroupIndex); ok {
		return gi.GroupsAbove(ctx, group, relation)
	}
	return nil, false, nil
}

func (s *objectCountingSnap) NestingCounts(ctx context.Context, typ, relation string) (tuples.NestingCounts, bool, error) {
	if nc, ok := s.Snapshot.(tuples.NestingCounter); ok {
		return nc.NestingCounts(ctx, typ, relation)
	}
	return tuples.NestingCounts{}, false, nil
}

// newObjectSnap serves lines from a Badger store, whose snapshots read
// objects whole (the in-memory store's do not).
func newObjectSnap(t *testing.T, schemaText string, lines ...string) tuples.Snapshot {
	t.Helper()
	snap := openCondStore(t, true, schemaText, lines)
	if !snap.(tuples.ObjectReader).ReadsObjects() {
		t.Fatal("the Badger snapshot reads no object whole")
	}
	return snap
}

// TestDifferentialObjects holds the walk that reads objects whole
// (objects.go) to the reference evaluator on random schemas and tuples in
// a Badger store, with objects read whole at their second read (the
// default), at their first (so that every read of such an object comes
// from its tuples), and with a bound of two tuples (so that most objects
// fall back to reads relation by relation after trying); and its answers
// and explanations to those of the walk that reads relation by relation.
func TestDifferentialObjects(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 40)
	ctx := context.Background()
	tunings := []objectTuning{{}, {first: true}, {first: true, max: 2}}
	checks, mismatches, explained := 0, 0, 0
	var wholeReads int64
	for i := 0; i < n && mismatches < 5; i++ {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		in := genInstance(rng)
		ref := newReference(in)
		var lines []string
		for _, tp := range in.tuples {
			lines = append(lines, tp.String())
		}
		snap := &objectCountingSnap{Snapshot: newObjectSnap(t, in.text, lines...)}
		var qs []Query
		for _, r := range in.sch.Relations {
			for _, id := range in.objects[r.Type.Name] {
				for _, x := range ref.universe {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
		tuning := tunings[i%len(tunings)]
		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		c.plans.order = planOrder(i % 3)
		c.objects = tuning
		off := New(Options{MaxDepth: 1000, CacheSize: -1})
		off.plans.order = c.plans.order
		off.objects.off = true
		got, err := checkAll(ctx, c, snap, qs, i%2 == 0)
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, describe(in))
		}
		for j, q := range qs {
			checks++
			if want := ref.member(q.Object, q.Relation, q.Subject); got[j].Allowed != want {
				mismatches++
				t.Errorf("instance %d (%+v): check %s = %v, reference %v\n%s", i, tuning, q, got[j].Allowed, want, describe(in))
				break
			}
		}
		// Explanations name the same path either way.
		if i%3 == 0 {
			for _, q := range qs {
				q.Explain = true
				a, errA := c.Check(ctx, snap, q)
				b, errB := off.Check(ctx, snap, q)
				if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
					mismatches++
					t.Errorf("instance %d (%+v): explained check %s:\n%+v, %v\nrelation by relation:\n%+v, %v\n%s", i, tuning, q, a.Explanation, errA, b.Explanation, errB, describe(in))
					break
				}
				explained++
			}
		}
		wholeReads += snap.objects.Load()
	}
	if wholeReads == 0 {
		t.Fatal("no object was read whole: the test does not reach the path it is for")
	}
	t.Logf("%d random instances, %d checks compared with the reference, %d explanations with the walk relation by relation, %d objects read whole, %d mismatches",
		n, checks, explained, wholeReads, mismatches)
}

// objectReadsSnap counts every read of a snapshot that reads objects
// whole, index rows included.
type objectReadsSnap struct {
	*countingSnap
}

func (s objectReadsSnap) ReadsObjects() bool {
	return s.Snapshot.(tuples.ObjectReader).ReadsObjects()
}

func (s objectReadsSnap) ObjectTuples(ctx context.Context, obj tuples.Object, max int) ([]tuples.ObjectTuple, bool, error) {
	s.note("object:" + obj.Type)
	return s.Snapshot.(tuples.ObjectReader).ObjectTuples(ctx, obj, max)
}

func (s objectReadsSnap) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	s.note("index:" + relation)
	return s.Snapshot.(tuples.GroupIndex).GroupsAbove(ctx, group, relation)
}

// TestObjectReadsPerCheck bounds the reads of the casebook's checks when
// a case is read whole: its first read relation by relation, then one
// read of all its tuples, whatever the number of relations viewer asks
// (deny list, creator, assignee, access list, public: five point reads
// and three scans relation by relation), plus what lies beyond the case
// (the assignee's team, the user's teams and their index row). A check
// its first read decides (a user on the deny list) reads nothing whole.
// Badger; the in-memory store reads relation by relation.
func TestObjectReadsPerCheck(t *testing.T) {
	base := newObjectSnap(t, casebook,
		"case:1#creator@user:cr",
		"case:1#assignee@user:as",
		"case:1#access_list@user:al",
		"case:1#access_list@team:sub#member",
		"case:1#deny_list@user:dn",
		"case:1#deny_list@team:bad#member",
		"user:as#team@team:top",
		"team:top#member@team:sub#member",
		"team:sub#member@user:nested",
		"team:top#member@user:lead",
		"team:other#member@user:nobody",
	)
	c := New(Options{CacheSize: -1})
	off := New(Options{CacheSize: -1})
	off.objects.off = true
	for _, tc := range []struct {
		q           string
		want        bool
		max, maxOff int
		whole       int
	}{
		// Denied on the deny list: one point read either way.
		{"case:1#viewer@user:dn", false, 1, 1, 0},
		// The assignee: the deny list's point read, then the case whole,
		// and the user's teams (none) for the team on the deny list.
		{"case:1#viewer@user:as", true, 3, 5, 1},
		// In a team on the access list through nesting: the case's two
		// reads, the user's teams and their row, the assignee's team.
		{"case:1#viewer@user:nested", true, 5, 11, 1},
		// In a team of the assignee's: the same.
		{"case:1#viewer@user:lead", true, 5, 11, 1},
		// No grant: every branch.
		{"case:1#viewer@user:nobody", false, 5, 11, 1},
	} {
		for _, variant := range []struct {
			name  string
			c     *Checker
			max   int
			whole int
		}{{"whole", c, tc.max, tc.whole}, {"by relation", off, tc.maxOff, 0}} {
			snap := objectReadsSnap{newCountingSnap(base)}
			if got := checkQ(t, variant.c, snap, tc.q); got != tc.want {
				t.Fatalf("%s (%s) = %v, want %v", tc.q, variant.name, got, tc.want)
			}
			if n := snap.total(); n > variant.max {
				t.Errorf("%s (%s): %d reads, want at most %d: %v", tc.q, variant.name, n, variant.max, snap.reads)
			}
			if n := snap.reads["object:case"]; n != variant.whole {
				t.Errorf("%s (%s): the case read whole %d times, want %d: %v", tc.q, variant.name, n, variant.whole, snap.reads)
			}
			t.Logf("%s (%s): %d reads: %v", tc.q, variant.name, snap.total(), snap.reads)
		}
	}
}

// TestObjectsBound: a batch over more objects than a walk keeps whole
// reads the first objectsMax of them whole and the rest relation by
// relation, with the same answers.
func TestObjectsBound(t *testing.T) {
	var lines []string
	var qs []Query
	for i := range objectsMax + 50 {
		c := fmt.Sprintf("case:c%d", i)
		lines = append(lines, c+"#creator@user:u"+fmt.Sprint(i%7), c+"#assignee@user:u"+fmt.Sprint(i%5))
		for _, u := range []string{"u1", "u3", "nobody"} {
			qs = append(qs, Query{Object: mustObject(t, c), Relation: "viewer", Subject: mustSubject(t, "user:"+u)})
		}
	}
	snap := &objectCountingSnap{Snapshot: newObjectSnap(t, casebook, lines...)}
	c := New(Options{CacheSize: -1})
	c.objects.first = true
	off := New(Options{CacheSize: -1})
	off.objects.off = true
	ctx := context.Background()
	got, err := c.CheckBatch(ctx, snap, qs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := off.CheckBatch(ctx, snap, qs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the answers differ from those read relation by relation")
	}
	if n := snap.objects.Load(); n != objectsMax {
		t.Fatalf("%d objects read whole in one batch over %d, want %d", n, objectsMax+50, objectsMax)
	}
}
