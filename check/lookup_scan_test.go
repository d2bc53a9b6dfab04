package check

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/tuples"
)

// countingReads counts what a snapshot reads for a lookup: reads opened
// (a Reverse, a subject of an ObjectsOf, a chunk of a forward scan), and
// tuples read (objects those yield, tuples a scan reads).
type countingReads struct {
	tuples.Snapshot
	opened, keys int
}

func (s *countingReads) Reverse(ctx context.Context, subj tuples.Subject, objectType, rel string) iter.Seq2[tuples.Object, error] {
	s.opened++
	return func(yield func(tuples.Object, error) bool) {
		for o, err := range s.Snapshot.Reverse(ctx, subj, objectType, rel) {
			s.keys++
			if !yield(o, err) {
				return
			}
		}
	}
}

func (s *countingReads) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, rel string) iter.Seq2[tuples.Tuple, error] {
	s.opened += len(subjs)
	return func(yield func(tuples.Tuple, error) bool) {
		for t, err := range s.Snapshot.ObjectsOf(ctx, subjs, objectType, rel) {
			s.keys++
			if !yield(t, err) {
				return
			}
		}
	}
}

func (s *countingReads) ScanObjects(ctx context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	sc, ok := s.Snapshot.(tuples.ObjectScanner)
	if !ok {
		return nil, false
	}
	seq, ok := sc.ScanObjects(ctx, objectType, after, wants, budget)
	s.opened++
	return func(yield func(tuples.ScanMatch, error) bool) {
		read := 0
		defer func() { s.keys += read }()
		for m, err := range seq {
			read = m.Scanned
			if !yield(m, err) {
				return
			}
		}
	}, ok
}

// pagedSchema reaches a case from a user along the assignee's team: a
// lookup defers one reverse read per user of each of the subject's
// teams, the shape of the Casebook benchmark.
const pagedSchema = `type user {
  relation team: team
}
type team {
  relation member: user | team#member
}
type case {
  relation assignee: user | user with expiration
  relation access_list: user | team#member
  relation deny_list: user
  relation viewer = assignee.team#member | access_list - deny_list
}
`

// A page of a lookup reads in proportion to its size, even where the
// walk defers a hundred reverse reads: ana's team has 100 users, each
// assigned a few of 3,000 cases, so the whole list opens a read per user
// (100) and a page of 1, scanning the cases forward from its cursor,
// opens a few and reads a few dozen tuples beyond the users of the team
// (which it reads to know whose cases it looks for). Every page, of every size
// and whether it scans or hands over to the reverse reads, is the slice
// of the whole list, with expired assignments left out as every read
// leaves them.
func TestLookupPageReadsBoundedBySize(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []string{"team:t0#member@user:ana", "user:ana#team@team:t0"}
	for u := range 1000 {
		team := "t1"
		if u < 100 {
			team = "t0"
		}
		lines = append(lines, fmt.Sprintf("user:u%03d#team@team:%s", u, team), fmt.Sprintf("team:%s#member@user:u%03d", team, u))
	}
	for k := range 3000 {
		c := fmt.Sprintf("case:c%04d", k)
		a := fmt.Sprintf("%s#assignee@user:u%03d", c, (k*7)%1000)
		if k%13 == 0 {
			a += "[expiration:" + tuples.FormatExpiry(now.Add(-time.Hour)) + "]"
		}
		lines = append(lines, a, fmt.Sprintf("%s#access_list@user:u%03d", c, (k*11)%1000))
		if k%10 == 3 {
			lines = append(lines, c+"#deny_list@user:ana")
		}
	}
	snap, closeStore, err := fixture.Load(tuples.WithClock(ctx, now), pagedSchema, lines...)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	q := ResourceQuery{Subject: tuples.Subject{Type: "user", ID: "ana"}, Type: "case", Relation: "viewer"}
	lookup := func(c *Checker, q ResourceQuery) (*countingReads, []string, string) {
		t.Helper()
		cs := &countingReads{Snapshot: snap}
		got, next, err := lookupPage(ctx, c, cs, q)
		if err != nil {
			t.Fatal(err)
		}
		return cs, got, next
	}
	c := New(Options{CacheSize: -1})
	whole, full, _ := lookup(c, q)
	if len(full) < 200 {
		t.Fatalf("the whole list has %d cases: the test measures nothing", len(full))
	}
	q.Limit = 1
	first, page, next := lookup(c, q)
	if !slices.Equal(page, full[:1]) || next == "" {
		t.Fatalf("page of 1: %v (cursor %q), want %v", page, next, full[:1])
	}
	if whole.opened < 100 || first.opened > 20 || first.keys > 100+100 {
		t.Fatalf("whole list: %d reads opened, %d tuples read; page of 1: %d and %d", whole.opened, whole.keys, first.opened, first.keys)
	}
	t.Logf("whole list (%d cases): %d reads opened, %d tuples read; page of 1: %d and %d", len(full), whole.opened, whole.keys, first.opened, first.keys)
	// A page of 5 scans too; one of 10 would need its members closer
	// together than a scan's least chunk to beat 100 reverse reads, and
	// opens them (lookup_scan.go).
	q.Limit = 5
	if five, page, _ := lookup(c, q); !slices.Equal(page, full[:5]) || five.opened > 20 || five.keys > 100+200 {
		t.Fatalf("page of 5: %v, %d reads opened, %d tuples read", page, five.opened, five.keys)
	}

	// Walked page by page, with the default tuning and with scans that
	// hand over to the reverse reads after a tuple or two.
	for _, tuning := range []scanTuning{{}, {minSources: 1, keysPerSource: 1, minChunk: 1}, {minSources: 1, keysPerSource: 2, minChunk: 3}} {
		c := New(Options{CacheSize: -1})
		c.scan = tuning
		for _, limit := range []int{1, 7, 64, 1000} {
			q.Limit, q.Cursor = limit, ""
			var all []string
			for range len(full) + 2 {
				_, page, next := lookup(c, q)
				all = append(all, page...)
				if next == "" {
					break
				}
				q.Cursor = next
			}
			if !slices.Equal(all, full) {
				t.Fatalf("tuning %+v, pages of %d: %d cases, the whole list %d", tuning, limit, len(all), len(full))
			}
		}
	}
}
