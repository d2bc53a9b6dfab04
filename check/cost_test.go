package check

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// countingSnap records which relations a walk reads.
type countingSnap struct {
	tuples.Snapshot
	mu    sync.Mutex
	reads map[string]int // "has:rel", "subjects:rel", "reverse:rel"
}

func newCountingSnap(s tuples.Snapshot) *countingSnap {
	return &countingSnap{Snapshot: s, reads: map[string]int{}}
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

func (s *countingSnap) Reverse(ctx context.Context, subj tuples.Subject, objectType, rel string) iter.Seq2[tuples.Object, error] {
	s.note("reverse:" + rel)
	return s.Snapshot.Reverse(ctx, subj, objectType, rel)
}

// A set-at-a-time read is one call, as it is one round trip to a store.

func (s *countingSnap) HasAny(ctx context.Context, objs []tuples.Object, rel string, subjs []tuples.Subject) (bool, error) {
	s.note("hasany:" + rel)
	return s.Snapshot.HasAny(ctx, objs, rel, subjs)
}

func (s *countingSnap) SubjectsOf(ctx context.Context, objs []tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	s.note("subjectsof:" + rel)
	return s.Snapshot.SubjectsOf(ctx, objs, rel, f)
}

func (s *countingSnap) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, rel string) iter.Seq2[tuples.Tuple, error] {
	s.note("objectsof:" + rel)
	return s.Snapshot.ObjectsOf(ctx, subjs, objectType, rel)
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
	// An intersection stops at its first false branch: editor is
	// (assignee | access_list) & viewer, and the creator is in neither list.
	if s := run("case:1#editor@user:a", false); s.reads["has:creator"] != 0 {
		t.Errorf("intersection evaluated viewer after a false branch: %v", s.reads)
	}
}

// guardedBook has exclusions with a cheap base (a direct-only relation)
// or a cheap subtracted side, and an intersection written with its
// expensive operand first.
const guardedBook = `
type user {
  relation team: team
}

type team {
  relation member: user | team#member
}

type case {
  relation creator:     user
  relation assignee:    user
  relation access_list: user | team#member
  relation deny_list:   user | team#member
  relation banned:      user

  relation viewer  = creator | assignee | assignee.team#member | access_list - deny_list
  relation owner   = creator - deny_list
  relation reader  = assignee.team#member | access_list - banned
  relation checked = viewer & (creator | assignee)
}
`

// TestCheaperSideFirst pins down the reads an exclusion or intersection
// saves by evaluating its cheaper side first; without the cost-ordered
// plan every check here walks the expensive side too.
func TestCheaperSideFirst(t *testing.T) {
	base := newSnap(t, guardedBook,
		"case:1#creator@user:a",
		"case:1#assignee@user:b",
		"user:b#team@team:t",
		"team:t#member@user:c",
		"case:1#access_list@team:big#member",
		"team:big#member@team:t#member",
		"team:big#member@user:mallory",
		"team:big#member@user:eve",
		"case:1#deny_list@user:mallory",
		"case:1#deny_list@team:blocked#member",
		"team:blocked#member@user:eve",
		"case:1#banned@user:c",
		"case:1#deny_list@user:zed",
	)
	c := New(Options{CacheSize: -1})
	run := func(q string, want bool) *countingSnap {
		t.Helper()
		snap := &countingSnap{Snapshot: base, reads: map[string]int{}}
		if checkQ(t, c, snap, q) != want {
			t.Fatalf("%s: want %v", q, want)
		}
		return snap
	}
	// A user on the deny list is denied after one read, though the base
	// would grant through nested teams.
	if s := run("case:1#viewer@user:mallory", false); s.total() != 1 || s.reads["has:deny_list"] != 1 {
		t.Errorf("deny-listed subject: want only the deny-list read, got %v", s.reads)
	}
	// Denied through a team on the deny list: the deny side's walk, and
	// nothing of the base.
	s := run("case:1#viewer@user:eve", false)
	for _, rel := range []string{"creator", "assignee", "access_list", "team"} {
		if s.reads["has:"+rel]+s.reads["subjects:"+rel] != 0 {
			t.Errorf("subject denied through a team: base relation %s read: %v", rel, s.reads)
		}
	}
	// A direct-only subtracted side is one read that spares the base.
	if s := run("case:1#reader@user:c", false); s.total() != 1 || s.reads["has:banned"] != 1 {
		t.Errorf("banned subject: want only the banned read, got %v", s.reads)
	}
	// Where the base is the cheap side, a false base skips the deny list.
	if s := run("case:1#owner@user:nobody", false); s.reads["has:deny_list"]+s.reads["subjects:deny_list"] != 0 || s.total() != 1 {
		t.Errorf("exclusion read its subtracted side for a false base: %v", s.reads)
	}
	// Either order answers allowed subjects.
	run("case:1#viewer@user:c", true)
	run("case:1#owner@user:a", true)
	// An intersection tries its cheap operand first, whatever the order
	// it was written in, and stops when it is false.
	if s := run("case:1#checked@user:nobody", false); s.total() != 2 {
		t.Errorf("intersection walked its expensive operand after a false cheap one: %v", s.reads)
	}
	run("case:1#checked@user:b", true)

	// Explanations name the side that decided.
	for q, want := range map[string]string{
		"case:1#viewer@user:zed":      "excluded by deny_list: case:1#deny_list@user:zed",
		"case:1#viewer@user:mallory":  "excluded by deny_list: case:1#deny_list@user:mallory",
		"case:1#viewer@user:eve":      "excluded by deny_list: case:1#deny_list@team:blocked#member <- team:blocked#member@user:eve",
		"case:1#owner@user:zed":       "the base creator does not grant it",
		"case:1#checked@user:nobody":  "branch creator | assignee does not hold",
		"case:1#reader@user:c":        "excluded by banned: case:1#banned@user:c",
		"case:1#viewer@user:outsider": "the base creator | assignee | assignee.team#member | access_list does not grant it",
	} {
		qq := query(t, q)
		qq.Explain = true
		r, err := c.Check(context.Background(), base, qq)
		if err != nil || r.Allowed {
			t.Fatalf("%s: allowed %v, %v", q, r.Allowed, err)
		}
		if got := r.Explanation.String(); !strings.Contains(got, want) {
			t.Errorf("%s: explanation lacks %q:\n%s", q, want, got)
		}
	}
}

// TestPlanOncePerSchema checks that operand orders are worked out once per
// schema and read from the compiled schema's shape.
func TestPlanOncePerSchema(t *testing.T) {
	snap := newSnap(t, guardedBook, "case:1#creator@user:a")
	c := New(Options{})
	checkQ(t, c, snap, "case:1#viewer@user:a")
	p := c.plans.get(snap.Schema())
	checkQ(t, c, snap, "case:1#owner@user:a")
	if c.plans.get(snap.Schema()) != p {
		t.Fatal("plan recomputed for the same schema")
	}
	other := newSnap(t, guardedBook)
	if q := c.plans.get(other.Schema()); q == p || c.plans.get(snap.Schema()) != p {
		t.Fatal("plans of two schemas mixed up")
	}
	rel := func(name string) *op { return p.rels[snap.Schema().Relation("case", name).ID] }
	for _, tc := range []struct {
		rel           string
		subtractFirst bool
	}{{"viewer", true}, {"owner", false}, {"reader", true}} {
		if got := rel(tc.rel).subtractFirst; got != tc.subtractFirst {
			t.Errorf("%s: subtractFirst = %v, want %v", tc.rel, got, tc.subtractFirst)
		}
	}
	var order []string
	for _, a := range rel("viewer").base.args {
		order = append(order, schema.NodeString(a.src))
	}
	if got, want := strings.Join(order, ", "), "creator, assignee, access_list, assignee.team#member"; got != want {
		t.Errorf("viewer's union tried in order %s, want %s", got, want)
	}
	if got := schema.NodeString(rel("checked").args[0].src); got != "creator | assignee" {
		t.Errorf("checked's intersection starts with %s", got)
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

// The set-at-a-time reads go through the failing one-object reads.

func (s *failingSnap) HasAny(ctx context.Context, objs []tuples.Object, rel string, subjs []tuples.Subject) (bool, error) {
	return tuples.LoopHasAny(ctx, s, objs, rel, subjs)
}

func (s *failingSnap) SubjectsOf(ctx context.Context, objs []tuples.Object, rel string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopSubjectsOf(ctx, s, objs, rel, f)
}

func (s *failingSnap) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, rel string) iter.Seq2[tuples.Tuple, error] {
	return tuples.LoopObjectsOf(ctx, s, subjs, objectType, rel)
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

// precheckBook has an arrow that can only ever lead to users, beside a
// stored relation that also holds bots, and a stored relation whose
// subject sets can only hold bots.
const precheckBook = `
type user
type bot
type crew {
  relation member: bot
}
type folder {
  relation viewer: user
}
type doc {
  relation parent: folder
  relation reader: user | bot | crew#member
  relation viewer = reader | parent#viewer
}
`

// The arrow precheck skips an arrow whose far side can never hold the
// subject: a bot is never a folder viewer, so its check reads no parent.
// A user's check walks the same arrow, so the test tells the two apart.
func TestArrowPrecheckSkipsUnreachableArrow(t *testing.T) {
	base := newSnap(t, precheckBook, "doc:1#parent@folder:f", "folder:f#viewer@user:u", "doc:1#reader@bot:b")
	c := New(Options{CacheSize: -1})
	parentReads := func(q string, want bool) int {
		t.Helper()
		snap := newCountingSnap(base)
		if checkQ(t, c, snap, q) != want {
			t.Fatalf("%s: want %v", q, want)
		}
		return snap.reads["subjects:parent"] + snap.reads["subjectsof:parent"]
	}
	if n := parentReads("doc:1#viewer@bot:other", false); n != 0 {
		t.Errorf("a bot's check read the parent arrow %d times; it can never lead to a bot", n)
	}
	if n := parentReads("doc:1#viewer@user:u", true); n == 0 {
		t.Error("a user's check did not read the parent arrow")
	}
}

// A check on a stored relation whose subject sets can never hold the
// subject (a leaf for that subject) is the one read of the subject's own
// tuple, with no scan of its subject sets, whichever path of the walker
// answers it.
func TestStoredLeafIsOneRead(t *testing.T) {
	base := newSnap(t, precheckBook, "doc:1#reader@crew:c#member", "crew:c#member@bot:b")
	c := New(Options{CacheSize: -1})
	snap := newCountingSnap(base)
	if checkQ(t, c, snap, "doc:1#reader@user:u") {
		t.Fatal("user:u is no reader")
	}
	if snap.total() != 1 || snap.reads["has:reader"] != 1 {
		t.Errorf("a leaf check read %v; want one has:reader", snap.reads)
	}
	// The bot's check must look through the crew, so it reads more.
	snap = newCountingSnap(base)
	if !checkQ(t, c, snap, "doc:1#reader@bot:b") {
		t.Fatal("bot:b reads doc:1 through its crew")
	}
	if snap.total() < 2 {
		t.Errorf("a check through a subject set read only %v", snap.reads)
	}
}
