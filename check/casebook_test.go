package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

func expectChecks(t *testing.T, c *Checker, snap tuples.Snapshot, allowed, denied []string) {
	t.Helper()
	for _, q := range allowed {
		if !checkQ(t, c, snap, q) {
			t.Errorf("%s: denied, want allowed", q)
		}
	}
	for _, q := range denied {
		if checkQ(t, c, snap, q) {
			t.Errorf("%s: allowed, want denied", q)
		}
	}
}

func TestCasebookRules(t *testing.T) {
	snap := newSnap(t, casebook,
		"case:1#creator@user:cora",
		"case:1#assignee@user:ana",
		"user:ana#team@team:east",
		"team:east#member@user:bo",
		"team:east#member@team:intake#member",
		"team:intake#member@user:ida",
		"team:intake#member@team:night#member",
		"team:night#member@user:nia",
		"case:1#deny_list@user:bo",
		"case:1#access_list@user:liz",
		"case:2#access_list@team:east#member",
		"case:2#deny_list@team:intake#member",
	)
	for _, size := range []int{-1, 0} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			c := New(Options{CacheSize: size})
			for range 2 { // the second round is served by the cache when on
				expectChecks(t, c, snap, []string{
					"case:1#viewer@user:cora",          // creator
					"case:1#viewer@user:ana",           // assignee
					"case:1#viewer@user:ida",           // assignee's team, nested
					"case:1#viewer@user:nia",           // three deep
					"case:1#viewer@user:liz",           // access list
					"case:1#editor@user:ana",           // assignment role & viewer
					"case:1#editor@user:liz",           // access list & viewer
					"case:2#viewer@user:bo",            // via team on access list
					"case:1#viewer@team:east#member",   // subject set reached
					"case:1#viewer@team:intake#member", // nested in the assignee team
					"case:1#viewer@case:1#viewer",      // a set includes itself
					"team:east#member@team:night#member",
				}, []string{
					"case:1#viewer@user:bo",   // deny list beats team access
					"case:1#editor@user:cora", // creator is not an editor
					"case:1#editor@user:ida",  // team access is not assignment
					"case:2#viewer@user:ida",  // denied through a team on the deny list
					"case:2#viewer@user:nia",  // ... nested
					"case:2#viewer@user:ana",
					"case:1#viewer@user:*",
					"case:1#viewer@team:other#member",
					"case:2#viewer@team:intake#member", // the set itself is on the deny list
				})
			}
			if size == 0 && c.Stats().CacheHits == 0 {
				t.Errorf("second round had no cache hits: %+v", c.Stats())
			}
			if st := c.Stats(); size < 0 && (st.CacheHits != 0 || st.CacheMisses != 0 || st.CacheEntries != 0) {
				t.Errorf("cache off but stats %+v", c.Stats())
			}
		})
	}
}

func TestSubjectSetIncludesItself(t *testing.T) {
	snap := newSnap(t, `
type user
type doc {
  relation editor: user
  relation viewer = editor
}`)
	c := New(Options{})
	expectChecks(t, c, snap, []string{
		"doc:1#viewer@doc:1#viewer",
		"doc:1#editor@doc:1#editor",
	}, []string{
		"doc:1#viewer@doc:2#viewer",
		"doc:1#editor@doc:1#viewer",
	})
	// viewer = editor: the set doc:1#editor is in doc:1#viewer.
	expectChecks(t, c, snap, []string{"doc:1#viewer@doc:1#editor"}, nil)
}

func TestParadoxExclusionDenies(t *testing.T) {
	snap := newSnap(t, `
type user
type doc {
  relation direct: user
  relation restricted: user | doc#viewer
  relation viewer = direct - restricted
}`,
		"doc:1#direct@user:a",
		"doc:1#restricted@doc:1#viewer",
		"doc:2#direct@user:a",
	)
	c := New(Options{})
	expectChecks(t, c, snap, []string{"doc:2#viewer@user:a"},
		[]string{"doc:1#viewer@user:a", "doc:1#restricted@user:a"})
	r, err := c.Check(context.Background(), snap, Query{Object: mustObject(t, "doc:1"), Relation: "viewer",
		Subject: mustSubject(t, "user:a"), Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Explanation.String(), "cycle") {
		t.Errorf("paradox explanation does not mention the cycle:\n%s", r.Explanation)
	}
}

func TestDataCyclesTerminate(t *testing.T) {
	snap := newSnap(t, casebook,
		"team:a#member@team:b#member",
		"team:b#member@team:c#member",
		"team:c#member@team:a#member",
		"team:b#member@user:bob",
		"case:1#access_list@team:a#member",
	)
	c := New(Options{})
	expectChecks(t, c, snap,
		[]string{"team:a#member@user:bob", "team:c#member@user:bob", "case:1#viewer@user:bob",
			"team:a#member@team:c#member", "team:c#member@team:a#member"},
		[]string{"team:a#member@user:eve", "case:1#viewer@user:eve", "case:1#viewer@team:z#member"})
}

func TestDepthLimit(t *testing.T) {
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	lines = append(lines, "team:t60#member@user:deep")
	snap := newSnap(t, casebook, lines...)
	c := New(Options{})
	_, err := c.Check(context.Background(), snap, query(t, "team:t0#member@user:deep"))
	var de *DepthError
	if !errors.As(err, &de) {
		t.Fatalf("want a depth error, got %v", err)
	}
	if de.Limit != 50 || !strings.Contains(err.Error(), "depth limit 50 exceeded at team:t50#member <- team:t49#member") {
		t.Errorf("unexpected error text: %v", err)
	}
	// A higher limit answers.
	c = New(Options{MaxDepth: 100})
	if !checkQ(t, c, snap, "team:t0#member@user:deep") {
		t.Error("deep member denied with limit 100")
	}
	// Walked down, a denied walk of the same depth is an error too, never
	// a silent false. Walked up from the subject there is no deep walk: a
	// subject in no group is in none of them.
	c = New(Options{MaxDepth: 10, DownwardOnly: true})
	if _, err := c.Check(context.Background(), snap, query(t, "team:t0#member@user:nobody")); err == nil {
		t.Error("denied walk past the limit gave no error")
	}
	c = New(Options{MaxDepth: 10})
	if checkQ(t, c, snap, "team:t0#member@user:nobody") {
		t.Error("a subject in no group is a member")
	}
	if !checkQ(t, c, snap, "team:t55#member@user:deep") {
		t.Error("member five groups down denied with limit 10")
	}
	// The limit counts from where the nesting relation is met: through a
	// case's access list the chain starts one deeper.
	snap = newSnap(t, casebook, append(lines, "case:1#access_list@team:t51#member")...)
	c = New(Options{MaxDepth: 12})
	if !checkQ(t, c, snap, "case:1#viewer@user:deep") {
		t.Error("case viewer through ten groups denied with limit 12")
	}
	var texts []string
	for _, down := range []bool{false, true} {
		c = New(Options{MaxDepth: 11, DownwardOnly: down})
		_, err = c.Check(context.Background(), snap, query(t, "case:1#viewer@user:deep"))
		if !errors.As(err, &de) {
			t.Fatalf("downward only %v: want a depth error, got %v", down, err)
		}
		texts = append(texts, err.Error())
	}
	if texts[0] != texts[1] || !strings.Contains(texts[0], "depth limit 11 exceeded at team:t60#member <- team:t59#member") ||
		!strings.Contains(texts[0], "<- case:1#viewer; raise the limit") {
		t.Errorf("the two walks report the limit differently:\nup:   %s\ndown: %s", texts[0], texts[1])
	}
}

func TestCancellation(t *testing.T) {
	snap := newSnap(t, casebook, "team:a#member@user:x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(Options{}).Check(ctx, snap, query(t, "team:a#member@user:x"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, err := New(Options{}).Check(ctx, snap, query(t, "team:a#member@user:x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want deadline exceeded, got %v", err)
	}
}

func TestContextualTuples(t *testing.T) {
	snap := newSnap(t, casebook, "team:east#member@user:bo", "case:1#deny_list@user:eve")
	c := New(Options{})
	q := query(t, "case:1#viewer@user:bo")
	q.Context = []tuples.Tuple{mustTuple(t, "case:1#access_list@team:east#member")}
	for range 2 {
		r, err := c.Check(context.Background(), snap, q)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Allowed {
			t.Fatal("contextual access list ignored")
		}
	}
	// Nothing of it stays behind: not in the store, not in the cache.
	if checkQ(t, c, snap, "case:1#viewer@user:bo") {
		t.Error("contextual tuple leaked into a later query")
	}
	if st := c.Stats(); st.CacheEntries != 1 {
		t.Errorf("cache holds %d entries, want only the context-free query", st.CacheEntries)
	}
	// A contextual deny-list entry takes access away.
	q = query(t, "case:1#viewer@user:ann")
	q.Context = []tuples.Tuple{mustTuple(t, "case:1#creator@user:ann"), mustTuple(t, "case:1#deny_list@user:ann")}
	if r, err := c.Check(context.Background(), snap, q); err != nil || r.Allowed {
		t.Errorf("contextual deny list: allowed=%v err=%v", r.Allowed, err)
	}
	// Invalid contextual tuples are refused with the reason.
	q.Context = []tuples.Tuple{mustTuple(t, "case:1#viewer@user:ann")}
	if _, err := c.Check(context.Background(), snap, q); err == nil || !strings.Contains(err.Error(), "contextual tuple 0") {
		t.Errorf("computed relation in context accepted: %v", err)
	}
}

func mustTuple(t testing.TB, s string) tuples.Tuple {
	t.Helper()
	tp, err := tuples.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestWildcardWithExclusion(t *testing.T) {
	snap := newSnap(t, casebook,
		"case:1#public@user:*",
		"case:1#deny_list@user:mal",
		"case:1#creator@user:cora",
	)
	c := New(Options{})
	expectChecks(t, c, snap,
		[]string{"case:1#viewer@user:anyone", "case:1#viewer@user:*", "case:1#public@user:*"},
		[]string{"case:1#viewer@user:mal", "case:2#viewer@user:anyone", "case:1#creator@user:*"})
	got, err := c.LookupSubjects(context.Background(), snap, SubjectQuery{Object: mustObject(t, "case:1"), Relation: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[user:* - {user:mal}]" {
		t.Errorf("lookup subjects = %v", got)
	}
	var objs []string
	next, err := c.LookupResources(context.Background(), snap, ResourceQuery{Subject: mustSubject(t, "user:x"), Type: "case", Relation: "viewer"},
		func(o tuples.Object) bool { objs = append(objs, o.String()); return true })
	if err != nil || next != "" || fmt.Sprint(objs) != "[case:1]" {
		t.Errorf("lookup resources = %v, %q, %v", objs, next, err)
	}
	objs = nil
	if _, err := c.LookupResources(context.Background(), snap, ResourceQuery{Subject: mustSubject(t, "user:mal"), Type: "case", Relation: "viewer"},
		func(o tuples.Object) bool { objs = append(objs, o.String()); return true }); err != nil || len(objs) != 0 {
		t.Errorf("excluded subject finds %v, %v", objs, err)
	}
}

func TestExplainAllowed(t *testing.T) {
	snap := newSnap(t, casebook,
		"case:7#assignee@user:ana",
		"user:ana#team@team:east",
		"team:east#member@user:bo",
		"case:7#access_list@team:big#member",
		"team:big#member@team:mid#member",
		"team:mid#member@user:bo",
	)
	c := New(Options{})
	q := query(t, "case:7#viewer@user:bo")
	q.Explain = true
	r, err := c.Check(context.Background(), snap, q)
	if err != nil || !r.Allowed {
		t.Fatalf("allowed=%v err=%v", r.Allowed, err)
	}
	want := "case:7#viewer@user:bo allowed: case:7#viewer <- unless deny_list <- assignee.team#member <- " +
		"case:7#assignee@user:ana <- user:ana#team@team:east <- team:east#member@user:bo"
	if got := r.Explanation.String(); got != want {
		t.Errorf("explanation:\n got %s\nwant %s", got, want)
	}
	b, err := json.Marshal(r.Explanation)
	if err != nil || !strings.Contains(string(b), `"kind":"tuple","text":"user:ana#team@team:east"`) {
		t.Errorf("json: %s %v", b, err)
	}
	// No explanation unless asked.
	q.Explain = false
	if r, _ := c.Check(context.Background(), snap, q); r.Explanation != nil {
		t.Error("explanation computed without being asked")
	}
}

func TestExplainDenyList(t *testing.T) {
	snap := newSnap(t, casebook,
		"case:1#assignee@user:ana",
		"user:ana#team@team:east",
		"team:east#member@user:bob",
		"case:1#deny_list@team:blocked#member",
		"team:blocked#member@user:bob",
	)
	c := New(Options{})
	q := query(t, "case:1#viewer@user:bob")
	q.Explain = true
	r, err := c.Check(context.Background(), snap, q)
	if err != nil || r.Allowed {
		t.Fatalf("allowed=%v err=%v", r.Allowed, err)
	}
	got := r.Explanation.String()
	if !strings.Contains(got, "excluded by deny_list: case:1#deny_list@team:blocked#member <- team:blocked#member@user:bob") {
		t.Errorf("deny explanation lacks the deny-list entry:\n%s", got)
	}
	// A plain miss names the failed branches.
	q = query(t, "case:1#editor@user:bob")
	q.Explain = true
	r, err = c.Check(context.Background(), snap, q)
	if err != nil || r.Allowed {
		t.Fatalf("allowed=%v err=%v", r.Allowed, err)
	}
	got = r.Explanation.String()
	if !strings.Contains(got, "branch assignee | access_list does not hold") {
		t.Errorf("editor denial does not name the failed branch:\n%s", got)
	}
}

func TestBatchAndErrors(t *testing.T) {
	snap := newSnap(t, casebook, "case:1#creator@user:a")
	c := New(Options{})
	rs, err := c.CheckBatch(context.Background(), snap, []Query{
		query(t, "case:1#viewer@user:a"), query(t, "case:1#viewer@user:b"), query(t, "case:1#creator@user:a"),
	})
	if err != nil || len(rs) != 3 || !rs[0].Allowed || rs[1].Allowed || !rs[2].Allowed {
		t.Fatalf("batch = %+v, %v", rs, err)
	}
	for _, bad := range []string{"case:1#nope@user:a", "nope:1#viewer@user:a", "case:1#viewer@nope:a", "case:1#viewer@team:x#nope"} {
		if _, err := c.Check(context.Background(), snap, query(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestBatchWithContext(t *testing.T) {
	snap := newSnap(t, casebook, "case:1#creator@user:a")
	c := New(Options{})
	q := query(t, "case:1#viewer@user:b")
	q.Context = []tuples.Tuple{mustTuple(t, "case:1#assignee@user:b")}
	rs, err := c.CheckBatch(context.Background(), snap, []Query{query(t, "case:1#viewer@user:b"), q, query(t, "case:1#viewer@user:b")})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Allowed || !rs[1].Allowed || rs[2].Allowed {
		t.Errorf("context applied to the wrong queries: %+v", rs)
	}
}

func TestConcurrentUse(t *testing.T) {
	snap := newSnap(t, casebook,
		"case:1#assignee@user:ana", "user:ana#team@team:east", "team:east#member@user:bo",
		"case:1#deny_list@user:eve", "team:east#member@user:eve")
	c := New(Options{CacheSize: 64})
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				for _, s := range []struct {
					q    string
					want bool
				}{{"case:1#viewer@user:bo", true}, {"case:1#viewer@user:eve", false}, {fmt.Sprintf("case:1#viewer@user:u%d", i), false}} {
					r, err := c.Check(context.Background(), snap, query(t, s.q))
					if err == nil && r.Allowed != s.want {
						err = fmt.Errorf("%s = %v", s.q, r.Allowed)
					}
					if err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if st := c.Stats(); st.CacheEntries > 64+16 || st.CacheHits == 0 {
		t.Errorf("cache stats %+v: bound not kept or no hits", st)
	}
}

func TestCacheFollowsRevisions(t *testing.T) {
	ctx := context.Background()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WriteSchema(ctx, "casebook.rebac", []byte(casebook)); err != nil {
		t.Fatal(err)
	}
	grant := mustTuple(t, "case:1#creator@user:a")
	if _, err := st.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: grant}}}); err != nil {
		t.Fatal(err)
	}
	c := New(Options{})
	snapAt := func() tuples.Snapshot {
		s, err := st.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	old := snapAt()
	if !checkQ(t, c, old, "case:1#viewer@user:a") || !checkQ(t, c, snapAt(), "case:1#viewer@user:a") {
		t.Fatal("creator denied")
	}
	if st := c.Stats(); st.CacheHits != 1 {
		t.Errorf("a second snapshot at the same revision missed the cache: %+v", st)
	}
	if _, err := st.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpDelete, Tuple: grant}}}); err != nil {
		t.Fatal(err)
	}
	if checkQ(t, c, snapAt(), "case:1#viewer@user:a") {
		t.Error("revoked access still allowed: a cached answer outlived its revision")
	}
	if !checkQ(t, c, old, "case:1#viewer@user:a") {
		t.Error("the old snapshot lost its answer")
	}
}
