package server

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that two servers in one process (tests) do not collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	reads    *prometheus.CounterVec
	// Per-kind children, looked up once: the read counters sit on the
	// checker's hot path.
	readHas, readSubjects, readReverse, readTuples prometheus.Counter
	// endpoints hold each path's series, so that a request finds them
	// without hashing its labels; other is every path not named.
	endpoints map[string]*endpoint
	other     *endpoint
}

// endpoint is one method's series. They are made on first use, so that
// /metrics lists only the methods called, as the vectors alone would.
type endpoint struct {
	m       *metrics
	method  string
	once    sync.Once
	latency prometheus.Observer
	// outcomes maps an outcome to its docket_requests_total counter;
	// outcomes are codes and HTTP statuses, a bounded set.
	outcomes sync.Map
}

// endpoint returns the series of path, those of "other" for a path the
// server does not serve, so that scanning random paths cannot grow the
// series.
func (m *metrics) endpoint(path string) *endpoint {
	if e, ok := m.endpoints[path]; ok {
		return e
	}
	return m.other
}

// observe counts a request with its outcome and duration.
func (e *endpoint) observe(outcome string, took time.Duration) {
	e.once.Do(func() { e.latency = e.m.latency.WithLabelValues(e.method) })
	e.latency.Observe(took.Seconds())
	c, ok := e.outcomes.Load(outcome)
	if !ok {
		c, _ = e.outcomes.LoadOrStore(outcome, e.m.requests.WithLabelValues(e.method, outcome))
	}
	c.(prometheus.Counter).Inc()
}

func newMetrics(st store.Store, checker *check.Checker, paths []string) *metrics {
	m := &metrics{registry: prometheus.NewRegistry(), endpoints: map[string]*endpoint{}}
	for _, p := range paths {
		m.endpoints[p] = &endpoint{m: m, method: p}
	}
	m.other = &endpoint{m: m, method: "other"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "docket_requests_total",
		Help: "Requests answered, by method and outcome (a gRPC code name, or the HTTP status for plain HTTP endpoints).",
	}, []string{"method", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "docket_request_duration_seconds",
		Help:    "Time from a request's arrival to its last byte, by method.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method"})
	m.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "docket_store_reads_total",
		Help: "Reads of the store's snapshots, by kind: has (one tuple), subjects (a forward scan), reverse (a reverse scan), read (a page of tuples).",
	}, []string{"kind"})
	m.readHas = m.reads.WithLabelValues("has")
	m.readSubjects = m.reads.WithLabelValues("subjects")
	m.readReverse = m.reads.WithLabelValues("reverse")
	m.readTuples = m.reads.WithLabelValues("read")
	m.registry.MustRegister(m.requests, m.latency, m.reads,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_cache_hits_total",
			Help: "Answers the checker's cross-query cache supplied.",
		}, func() float64 { return float64(checker.Stats().CacheHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_cache_misses_total",
			Help: "Cache look-ups the checker's cross-query cache could not answer.",
		}, func() float64 { return float64(checker.Stats().CacheMisses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "docket_checker_cache_entries",
			Help: "Entries held by the checker's cross-query cache.",
		}, func() float64 { return float64(checker.Stats().CacheEntries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_nested_upward_total",
			Help: "Subjects whose groups in a nesting relation (team#member: user | team#member) the checker read upwards.",
		}, func() float64 { return float64(checker.Stats().NestedUpward) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_nested_fallbacks_total",
			Help: "Subjects in more groups of a nesting relation than the bound, whose checks walked down from the group instead.",
		}, func() float64 { return float64(checker.Stats().NestedFallbacks) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_nested_indexed_total",
			Help: "Subjects whose groups in a nesting relation the checker read from the store's membership index.",
		}, func() float64 { return float64(checker.Stats().NestedIndexed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "docket_checker_nested_index_fallbacks_total",
			Help: "Subjects whose groups the membership index could not answer (a group over its bound, or the index not built), read level by level instead.",
		}, func() float64 { return float64(checker.Stats().NestedIndexFallbacks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "docket_store_revision",
			Help: "The latest committed revision of the store.",
		}, func() float64 {
			snap, err := st.Snapshot(context.Background(), 0)
			if err != nil {
				return 0
			}
			defer snap.Close()
			return float64(snap.Revision())
		}),
	)
	if mi, ok := memIndexOf(st); ok {
		m.registry.MustRegister(newMemIndexCollector(mi))
	}
	return m
}

// The wrappers must offer every optional read the checker looks for on a
// snapshot; one hidden falls back to a slower read (tuples.Get to a scan
// of the relation, GroupsAboveEach to a read per group).
var (
	_ tuples.Getter            = countingSnapshot{}
	_ tuples.ObjectReader      = countingSnapshot{}
	_ tuples.GroupIndexBatch   = countingIndexedSnapshot{}
	_ tuples.GroupsBelowReader = countingIndexedSnapshot{}
	_ tuples.NestingCounter    = countingIndexedSnapshot{}
	_ tuples.MembershipReader  = countingIndexedSnapshot{}
)

// countingSnapshot counts a snapshot's reads for docket_store_reads_total.
type countingSnapshot struct {
	tuples.Snapshot
	m *metrics
}

func (c countingSnapshot) Has(ctx context.Context, obj tuples.Object, relation string, subj tuples.Subject) (bool, error) {
	c.m.readHas.Inc()
	return c.Snapshot.Has(ctx, obj, relation, subj)
}

// Get passes the point read of a tuple with its payload on (a
// tuples.Getter): hidden, tuples.Get would scan the object's relation.
func (c countingSnapshot) Get(ctx context.Context, k tuples.Key) (tuples.Tuple, bool, error) {
	c.m.readHas.Inc()
	return tuples.Get(ctx, c.Snapshot, k)
}

func (c countingSnapshot) Subjects(ctx context.Context, obj tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	c.m.readSubjects.Inc()
	return c.Snapshot.Subjects(ctx, obj, relation, f)
}

func (c countingSnapshot) Reverse(ctx context.Context, subj tuples.Subject, objectType, relation string) iter.Seq2[tuples.Object, error] {
	c.m.readReverse.Inc()
	return c.Snapshot.Reverse(ctx, subj, objectType, relation)
}

// ObjectTuples passes the read of an object whole on where the snapshot
// offers one (tuples.ObjectReader), counted as a read of subjects: the
// checker reads an object it asks several relations of that way.
func (c countingSnapshot) ReadsObjects() bool {
	or, ok := c.Snapshot.(tuples.ObjectReader)
	return ok && or.ReadsObjects()
}

func (c countingSnapshot) ObjectTuples(ctx context.Context, obj tuples.Object, max int) ([]tuples.ObjectTuple, bool, error) {
	or, ok := c.Snapshot.(tuples.ObjectReader)
	if !ok {
		return nil, false, nil
	}
	c.m.readSubjects.Inc()
	return or.ObjectTuples(ctx, obj, max)
}

// countingIndexedSnapshot is a countingSnapshot of a store that keeps the
// membership index, which it passes on to the checker; a read of a group's
// row counts as a reverse read.
type countingIndexedSnapshot struct {
	countingSnapshot
	ix tuples.GroupIndex
}

func (c countingIndexedSnapshot) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	c.m.readReverse.Inc()
	return c.ix.GroupsAbove(ctx, group, relation)
}

// GroupsAboveEach passes the batched index read on (a
// tuples.GroupIndexBatch), one reverse read for the lot.
func (c countingIndexedSnapshot) GroupsAboveEach(ctx context.Context, groups []tuples.Object, relation string) ([][]tuples.GroupAbove, bool, error) {
	c.m.readReverse.Inc()
	return tuples.GroupsAboveEach(ctx, c.ix, groups, relation)
}

// Memberships passes the whole search of a subject's groups on where the
// index answers it (a tuples.MembershipReader: the index in memory), one
// reverse read for the lot.
func (c countingIndexedSnapshot) Memberships(ctx context.Context, subjects []tuples.Subject, typ, relation string, bound int) ([]tuples.GroupAbove, bool, error) {
	mr, ok := c.ix.(tuples.MembershipReader)
	if !ok {
		return nil, false, nil
	}
	c.m.readReverse.Inc()
	return mr.Memberships(ctx, subjects, typ, relation, bound)
}

// SubjectsWithBelow passes the downward read of the index on (a
// tuples.GroupsBelowReader), one subjects read for the lot.
func (c countingIndexedSnapshot) SubjectsWithBelow(ctx context.Context, groups []tuples.Object, relation string) (map[tuples.Object][]tuples.Subject, bool, error) {
	b, ok := c.ix.(tuples.GroupsBelowReader)
	if !ok {
		return nil, false, nil
	}
	c.m.readSubjects.Inc()
	return b.SubjectsWithBelow(ctx, groups, relation)
}

// NestingCounts passes the store's counts of nesting relations on (a
// tuples.NestingCounter): hidden, a search between a group and a
// subject's groups would step by the sizes of the two sides. Read once
// per snapshot, it counts as no read.
func (c countingIndexedSnapshot) NestingCounts(ctx context.Context, typ, relation string) (tuples.NestingCounts, bool, error) {
	if nc, ok := c.Snapshot.(tuples.NestingCounter); ok {
		return nc.NestingCounts(ctx, typ, relation)
	}
	return tuples.NestingCounts{}, false, nil
}

// ScanObjects passes a forward scan on where the snapshot offers one
// (tuples.ObjectScanner), counted as a reverse read: a paged lookup
// reads with it in place of many reverse reads.
func (c countingSnapshot) ScanObjects(ctx context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	sc, ok := c.Snapshot.(tuples.ObjectScanner)
	if !ok {
		return nil, false
	}
	c.m.readReverse.Inc()
	return sc.ScanObjects(ctx, objectType, after, wants, budget)
}

// A set-at-a-time read counts as one read of its kind: one round trip.

func (c countingSnapshot) HasAny(ctx context.Context, objs []tuples.Object, relation string, subjs []tuples.Subject) (bool, error) {
	c.m.readHas.Inc()
	return c.Snapshot.HasAny(ctx, objs, relation, subjs)
}

func (c countingSnapshot) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	c.m.readSubjects.Inc()
	return c.Snapshot.SubjectsOf(ctx, objs, relation, f)
}

func (c countingSnapshot) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	c.m.readReverse.Inc()
	return c.Snapshot.ObjectsOf(ctx, subjs, objectType, relation)
}

func (c countingSnapshot) Read(ctx context.Context, f tuples.Filter, cursor string, limit int) ([]tuples.Tuple, string, error) {
	c.m.readTuples.Inc()
	return c.Snapshot.Read(ctx, f, cursor, limit)
}
