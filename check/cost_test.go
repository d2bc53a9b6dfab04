package check

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"

	"github.com/docketdb/docket/tuples"
)

// countingSnap records which relations a walk reads.
type countingSnap struct {
	tuples.Snapshot
	mu    sync.Mutex
	reads map[string]int // "has:rel", "subjects:rel", "reverse:rel"
}

func (s *countingSnap) note(k string) {
	s.mu.Lock()
	s.reads[k]++
	s.mu.Unlock()
}

func (s *countingSnap) Has(ctx context.Context, obj tuples.Object, rel string, subj tuples.Subject) (bool, error) {
	s.note("has:" + rel)
	return s.Snapshot.Has(ctx, obj, rel, subj)
}

func (s *countingSnap) Subjects(ctx context.Context, obj tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	s.note("subjects:" + rel)
	return s.Snapshot.Subjects(ctx, obj, rel, f)
}

func (s *countingSnap) total() int {
	n := 0
	for _, v := range s.reads {
		n += v
	}
	return n
}

func TestWalkCosts(t *testing.T) {
	base := newSnap(t, casebook, "case:1#creator@user:a", "case:1#assignee@user:b", "user:b#team@team:t", "team:t#member@user:c")
	c := New(Options{CacheSize: -1})
	run := func(q string, want bool) *countingSnap {
		t.Helper()
		snap := &countingSnap{Snapshot: base, reads: map[string]int{}}
		if checkQ(t, c, snap, q) != want {
			t.Fatalf("%s: want %v", q, want)
		}
		return snap
	}
	// Precheck: a team object can never be a viewer; nothing is read.
	if s := run("case:1#viewer@team:t", false); s.total() != 0 {
		t.Errorf("impossible subject read the store: %v", s.reads)
	}
	// A direct stored check is one read.
	if s := run("case:1#creator@user:a", true); s.total() != 1 {
		t.Errorf("direct check reads %v", s.reads)
	}
	// The union stops at the creator: no arrow walked, no access list read.
	if s := run("case:1#viewer@user:a", true); s.reads["subjects:assignee"] != 0 || s.reads["has:access_list"] != 0 {
		t.Errorf("union did not stop at its first true branch: %v", s.reads)
	}
	// A base that does not hold skips the deny list.
	if s := run("case:1#viewer@user:nobody", false); s.reads["has:deny_list"] != 0 || s.reads["subjects:deny_list"] != 0 {
		t.Errorf("exclusion read its subtracted side for a false base: %v", s.reads)
	}
	// An intersection stops at its first false branch: editor is
	// (assignee | access_list) & viewer, and the creator is in neither list.
	if s := run("case:1#editor@user:a", false); s.reads["has:creator"] != 0 {
		t.Errorf("intersection evaluated viewer after a false branch: %v", s.reads)
	}
}

// failingSnap fails every read of one relation.
type failingSnap struct {
	tuples.Snapshot
	rel string
}

var errDisk = errors.New("disk on fire")

func (s *failingSnap) Has(ctx context.Context, obj tuples.Object, rel string, subj tuples.Subject) (bool, error) {
	if rel == s.rel {
		return false, errDisk
	}
	return s.Snapshot.Has(ctx, obj, rel, subj)
}

func (s *failingSnap) Subjects(ctx context.Context, obj tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	if rel == s.rel {
		return func(yield func(tuples.Subject, error) bool) { yield(tuples.Subject{}, errDisk) }
	}
	return s.Snapshot.Subjects(ctx, obj, rel, f)
}

func (s *failingSnap) Reverse(ctx context.Context, subj tuples.Subject, typ, rel string) iter.Seq2[tuples.Object, error] {
	if rel == s.rel {
		return func(yield func(tuples.Object, error) bool) { yield(tuples.Object{}, errDisk) }
	}
	return s.Snapshot.Reverse(ctx, subj, typ, rel)
}

func TestStoreErrorsSurface(t *testing.T) {
	base := newSnap(t, casebook, "case:1#assignee@user:a", "user:a#team@team:t", "team:t#member@user:b")
	c := New(Options{})
	ctx := context.Background()
	for _, rel := range []string{"deny_list", "team", "member"} {
		snap := &failingSnap{Snapshot: base, rel: rel}
		_, err := c.Check(ctx, snap, query(t, "case:1#viewer@user:b"))
		if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "case:1#viewer@user:b") {
			t.Errorf("check reading failing %s: %v", rel, err)
		}
		_, err = c.LookupResources(ctx, snap, ResourceQuery{Subject: mustSubject(t, "user:b"), Type: "case", Relation: "viewer"},
			func(tuples.Object) bool { return true })
		if !errors.Is(err, errDisk) {
			t.Errorf("lookup resources reading failing %s: %v", rel, err)
		}
		if _, err = c.LookupSubjects(ctx, snap, SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer"}); !errors.Is(err, errDisk) {
			t.Errorf("lookup subjects reading failing %s: %v", rel, err)
		}
	}
	if st := c.Stats(); st.CacheEntries != 0 {
		t.Errorf("failed walks left cache entries: %+v", st)
	}
}
