package server_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
)

// metricsText reads /metrics.
func (ts *testServer) metricsText(t *testing.T) string {
	t.Helper()
	res, err := ts.http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	return string(b)
}

// metricValue is the value of the unlabelled series name in text, false
// when it is not there.
func metricValue(text, name string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitMetrics asks /metrics, after a call of poke, until every series of
// want has its value, and returns the last text.
func (ts *testServer) waitMetrics(t *testing.T, poke func(), want map[string]float64) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		poke()
		text := ts.metricsText(t)
		missing := ""
		for name, v := range want {
			if got, ok := metricValue(text, name); !ok || got != v {
				missing += "\n" + name + " " + strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		if missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed%s\n%s", missing, grepLines(text, "mem_index"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMemIndexMetrics: on a store holding the membership index in memory,
// /metrics shows it becoming ready once the schema's nesting relation is
// written and checked, holding the relation's tuples, and catching up
// from the change log after a write; the server logs when it is ready.
func TestMemIndexMetrics(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, server.MemIndexPoll(10*time.Millisecond), func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ctx := context.Background()
	ts.seed(t, fixture...)
	carol := func() {
		t.Helper()
		if allowed, _, err := ts.ro.Check(ctx, "record:record-3", "read", "user:carol", nil); err != nil || !allowed {
			t.Fatalf("carol through team:east: %v, %v", allowed, err)
		}
	}
	text := ts.waitMetrics(t, carol, map[string]float64{
		"docket_store_mem_index_ready":             1,
		"docket_store_mem_index_relations":         2, // team#member, and record#banned as a deny list
		"docket_store_mem_index_tuples":            3, // team:east's carol and dave, and dave banned
		"docket_store_mem_index_left_relations":    0,
		"docket_store_mem_index_limit_tuples":      float64(store.DefaultMemIndexLimit),
		"docket_store_mem_index_errors_total":      0,
		"docket_store_mem_index_over_limit":        0,
		"docket_store_mem_index_tainted_relations": 0,
	})
	builds, _ := metricValue(text, "docket_store_mem_index_builds_total")
	catchUps, ok := metricValue(text, "docket_store_mem_index_catch_ups_total")
	if builds < 1 || !ok {
		t.Fatalf("builds %v, catch-ups present %v:\n%s", builds, ok, grepLines(text, "mem_index"))
	}
	// Built at the schema's revision or the tuples' (whichever was the
	// latest when the build read).
	if built, _ := metricValue(text, "docket_store_mem_index_built_revision"); built < 1 || built > 2 {
		t.Errorf("built at revision %v, want 1 or 2", built)
	}
	if _, ok := metricValue(text, "docket_store_mem_index_fallbacks_total"); !ok {
		t.Errorf("no fallbacks counter:\n%s", grepLines(text, "mem_index"))
	}

	rev, err := ts.rw.Touch(ctx, "team:east#member@user:erin")
	if err != nil {
		t.Fatal(err)
	}
	erin := func() {
		t.Helper()
		if allowed, _, err := ts.ro.Check(ctx, "record:record-3", "read", "user:erin", nil); err != nil || !allowed {
			t.Fatalf("erin through team:east after her write: %v, %v", allowed, err)
		}
	}
	text = ts.waitMetrics(t, erin, map[string]float64{
		"docket_store_mem_index_ready":            1,
		"docket_store_mem_index_tuples":           4,
		"docket_store_mem_index_applied_revision": float64(rev.Number),
		"docket_store_mem_index_builds_total":     builds, // caught up, not rebuilt
	})
	if after, _ := metricValue(text, "docket_store_mem_index_catch_ups_total"); after <= catchUps {
		t.Errorf("catch-ups %v after the write, %v before", after, catchUps)
	}

	// The log says when it became ready: at the start (an empty store, no
	// relation) and once rebuilt for the schema's nesting relation and
	// deny list.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"membership index in memory ready"`) || !strings.Contains(logs.String(), `"relations":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line of the index in memory ready with its relation:\n%s", grepLines(logs.String(), "membership"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMemIndexOverLimit: nesting relations over the limit are not held;
// /metrics says so, the server logs it once, and checks still answer (from
// the store's index).
func TestMemIndexOverLimit(t *testing.T) {
	var logs syncBuffer
	b, err := memory.NewBackend(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, store.Options{MemIndex: store.MemIndexBackground, MemIndexLimit: 1})
	t.Cleanup(func() { st.Close() }) // after the server's own cleanup
	ts := startServer(t, server.MemIndexPoll(10*time.Millisecond), func(o *server.Options) {
		o.Store = st
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ctx := context.Background()
	ts.seed(t, fixture...)
	ts.waitMetrics(t, func() {
		if allowed, _, err := ts.ro.Check(ctx, "record:record-3", "read", "user:carol", nil); err != nil || !allowed {
			t.Fatalf("carol through team:east: %v, %v", allowed, err)
		}
	}, map[string]float64{
		"docket_store_mem_index_over_limit":   1,
		"docket_store_mem_index_limit_tuples": 1,
		"docket_store_mem_index_ready":        0,
		"docket_store_mem_index_tuples":       0,
	})
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "membership index in memory over its limit") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("want one log line of the index over its limit:\n%s", grepLines(logs.String(), "membership"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"membership index in memory over its limit`) {
		t.Errorf("the over-limit line is not a warning:\n%s", grepLines(logs.String(), "membership"))
	}
	if !strings.Contains(logs.String(), `"next_try":"`) {
		t.Errorf("the over-limit line does not say when it tries again:\n%s", grepLines(logs.String(), "membership"))
	}
}

// TestMemIndexOffNoSeries: a store that keeps no index in memory (as the
// SQL datastore's) exports none of its series.
func TestMemIndexOffNoSeries(t *testing.T) {
	b, err := memory.NewBackend(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, store.Options{})
	t.Cleanup(func() { st.Close() }) // after the server's own cleanup
	ts := startServer(t, func(o *server.Options) { o.Store = st })
	ts.seed(t, fixture...)
	if text := ts.metricsText(t); strings.Contains(text, "docket_store_mem_index_") {
		t.Errorf("series of an index in memory the store does not keep:\n%s", grepLines(text, "mem_index"))
	}
}

// TestMemIndexMemberships: the server's snapshots pass the index in
// memory's whole search of a subject's groups on to the checker
// (tuples.MembershipReader): a check through two levels of nested teams
// reads the subject's groups in one reverse read, where reading its
// groups and then the index rows above them takes two.
func TestMemIndexMemberships(t *testing.T) {
	ts := startServer(t, server.MemIndexPoll(10*time.Millisecond))
	ctx := context.Background()
	ts.seed(t, fixture...)
	rev, err := ts.rw.Touch(ctx, "team:west#member@user:erin", "team:east#member@team:west#member")
	if err != nil {
		t.Fatal(err)
	}
	ts.waitMetrics(t, func() {}, map[string]float64{
		"docket_store_mem_index_ready":            1,
		"docket_store_mem_index_relations":        2,
		"docket_store_mem_index_applied_revision": float64(rev.Number),
	})
	reverse := func() float64 {
		v, _ := metricValue(ts.metricsText(t), `docket_store_reads_total{kind="reverse"}`)
		return v
	}
	before := reverse()
	if allowed, _, err := ts.ro.Check(ctx, "record:record-3", "read", "user:erin", nil); err != nil || !allowed {
		t.Fatalf("erin through team:west and team:east: %v, %v", allowed, err)
	}
	if n := reverse() - before; n != 1 {
		t.Errorf("the check made %v reverse reads, want 1 (the memberships in one call)", n)
	}
}

// scriptedMemIndex is a store whose index in memory reports what the test
// sets, for the states a real one reaches rarely (a failed build, a
// tainted relation).
type scriptedMemIndex struct {
	store.Store
	mu     sync.Mutex
	status store.MemIndexStatus
}

func (s *scriptedMemIndex) set(f func(*store.MemIndexStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
}

func (s *scriptedMemIndex) MemIndexStatus() store.MemIndexStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *scriptedMemIndex) WaitMemIndex(context.Context) (store.MemIndexStatus, error) {
	return s.MemIndexStatus(), nil
}

// TestMemIndexLogsFailures: a build or catch-up error is logged once as a
// warning with the error, a rebuild once as ready, and /metrics shows the
// state as the store reports it.
func TestMemIndexLogsFailures(t *testing.T) {
	var logs syncBuffer
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() }) // after the server's own cleanup
	sm := &scriptedMemIndex{Store: mem, status: store.MemIndexStatus{Mode: store.MemIndexBackground}}
	ts := startServer(t, server.MemIndexPoll(5*time.Millisecond), func(o *server.Options) {
		o.Store = sm
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	waitLog := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(logs.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("want %d log lines with %s:\n%s", n, what, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	sm.set(func(s *store.MemIndexStatus) {
		s.Err, s.Errors = "build the membership index in memory: disk on fire", 1
	})
	waitLog(`"level":"WARN","msg":"membership index in memory: a build or catch-up failed; the snapshots it could not answer read the store's index","error":"build the membership index in memory: disk on fire"`, 1)
	sm.set(func(s *store.MemIndexStatus) {
		s.Ready, s.Builds, s.Built, s.Applied, s.Tuples = true, 1, 7, 9, 42
		s.Relations = []store.IndexedRelation{{Type: "team", Relation: "member"}, {Type: "org", Relation: "member"}}
		s.Tainted = []store.IndexedRelation{{Type: "org", Relation: "member"}}
		s.Left = []store.IndexedRelation{{Type: "case", Relation: "deny_list"}}
	})
	waitLog(`"msg":"membership index in memory ready","built_revision":7,"relations":2,"tuples":42,"builds":1,"tainted_relations":1,"left_out_for_the_limit":["case#deny_list"]`, 1)
	ts.waitMetrics(t, func() {}, map[string]float64{
		"docket_store_mem_index_ready":             1,
		"docket_store_mem_index_built_revision":    7,
		"docket_store_mem_index_applied_revision":  9,
		"docket_store_mem_index_tuples":            42,
		"docket_store_mem_index_relations":         2,
		"docket_store_mem_index_tainted_relations": 1,
		"docket_store_mem_index_left_relations":    1,
		"docket_store_mem_index_errors_total":      1,
	})
	// Polls that see nothing new log nothing more.
	time.Sleep(50 * time.Millisecond)
	if n := strings.Count(logs.String(), "disk on fire"); n != 1 {
		t.Errorf("the same error logged %d times", n)
	}
	if n := strings.Count(logs.String(), "membership index in memory ready"); n != 1 {
		t.Errorf("ready logged %d times without a rebuild", n)
	}
	sm.set(func(s *store.MemIndexStatus) { s.Builds = 2 })
	waitLog("membership index in memory ready", 2)
}
