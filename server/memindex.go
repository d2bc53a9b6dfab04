package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/prometheus/client_golang/prometheus"
)

// defaultMemIndexPoll is how often the server looks at the state of the
// store's membership index in memory to log its changes.
const defaultMemIndexPoll = 10 * time.Second

// memIndexOf returns the store's membership index in memory, false when
// the store keeps none (a SQL datastore, or a store opened with it off).
func memIndexOf(st store.Store) (store.MemIndexer, bool) {
	m, ok := st.(store.MemIndexer)
	if !ok || m.MemIndexStatus().Mode == store.MemIndexOff {
		return nil, false
	}
	return m, true
}

// memIndexCollector exports the state of the store's membership index in
// memory, read once per scrape so that the series of one scrape agree.
type memIndexCollector struct {
	m store.MemIndexer

	ready, tuples, relations, tainted, left, built, applied, over, limit *prometheus.Desc
	builds, catchUps, fallbacks, errors                                  *prometheus.Desc
}

func newMemIndexCollector(m store.MemIndexer) *memIndexCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("docket_store_mem_index_"+name, help, nil, nil)
	}
	return &memIndexCollector{
		m:         m,
		ready:     d("ready", "1 when the membership index in memory is built: snapshots at its built revision or later answer the reads of the relations it holds from memory."),
		tuples:    d("tuples", "Tuples the membership index in memory holds: of nesting relations, of the relations hops take into them, and of deny lists (relations an exclusion subtracts)."),
		relations: d("relations", "Relations the membership index in memory holds: nesting relations, the relations hops take into them, and deny lists (relations an exclusion subtracts)."),
		left:      d("left_relations", "Deny lists (relations an exclusion subtracts) the index in memory leaves out because they do not fit in its limit: read from the store."),
		tainted:   d("tainted_relations", "Relations the index in memory holds but reads from the store, because one of their tuples carries a condition or an expiry."),
		built:     d("built_revision", "The revision the membership index in memory was built at (0 while not built)."),
		applied:   d("applied_revision", "The latest revision whose changes the membership index in memory holds (0 while not built)."),
		over:      d("over_limit", "1 when the nesting relations and hop relations the index in memory must hold have more tuples than its limit, so it holds none; snapshots read the store."),
		limit:     d("limit_tuples", "The most tuples the index in memory may hold (--mem-index-limit)."),
		errors:    d("errors_total", "Builds and catch-ups of the index in memory that failed with an error; the snapshots they could not serve read the store."),
		builds:    d("builds_total", "Builds of the membership index in memory from the store's tuples."),
		catchUps:  d("catch_ups_total", "Catch-ups of the membership index in memory from the store's change log."),
		fallbacks: d("fallbacks_total", "Snapshots that read the store's index instead of the index in memory: it was not built, was built after their revision, or a catch-up was running or failed."),
	}
}

func (c *memIndexCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.tuples, c.relations, c.tainted, c.left, c.built, c.applied, c.over, c.limit, c.builds, c.catchUps, c.fallbacks, c.errors} {
		ch <- d
	}
}

func (c *memIndexCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.MemIndexStatus()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.ready, bit(s.Ready))
	gauge(c.tuples, float64(s.Tuples))
	gauge(c.relations, float64(len(s.Relations)))
	gauge(c.tainted, float64(len(s.Tainted)))
	gauge(c.left, float64(len(s.Left)))
	gauge(c.built, float64(s.Built))
	gauge(c.applied, float64(s.Applied))
	gauge(c.over, bit(s.OverLimit))
	gauge(c.limit, float64(s.Limit))
	counter(c.builds, s.Builds)
	counter(c.catchUps, s.CatchUps)
	counter(c.fallbacks, s.Fallbacks)
	counter(c.errors, s.Errors)
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// watchMemIndex starts building the store's membership index in memory as
// the server starts, so that the first requests do not all read the
// store's index while snapshots would each start it, and logs one line
// when it becomes ready (and again at each rebuild), goes over its limit
// or fails. It runs until ctx ends or shutdown begins; readiness does not
// wait for it.
func (s *Server) watchMemIndex(ctx context.Context) {
	m, ok := memIndexOf(s.store)
	if !ok {
		return
	}
	began := time.Now()
	cur, err := m.WaitMemIndex(ctx)
	if err != nil {
		return // shutting down before the build ended
	}
	s.logMemIndex(store.MemIndexStatus{}, cur, time.Since(began))
	s.every(ctx, s.memIndexPoll, func() {
		next := m.MemIndexStatus()
		s.logMemIndex(cur, next, 0)
		cur = next
	})
}

// logMemIndex logs what changed from prev to cur; took, when set, is how
// long the first build took.
func (s *Server) logMemIndex(prev, cur store.MemIndexStatus, took time.Duration) {
	if cur.Ready && (!prev.Ready || cur.Builds != prev.Builds) {
		attrs := []slog.Attr{
			slog.Uint64("built_revision", uint64(cur.Built)),
			slog.Int("relations", len(cur.Relations)),
			slog.Int64("tuples", cur.Tuples),
			slog.Uint64("builds", cur.Builds),
		}
		if len(cur.Tainted) > 0 {
			attrs = append(attrs, slog.Int("tainted_relations", len(cur.Tainted)))
		}
		if len(cur.Left) > 0 {
			left := make([]string, len(cur.Left))
			for i, ir := range cur.Left {
				left[i] = ir.Type + "#" + ir.Relation
			}
			attrs = append(attrs, slog.Any("left_out_for_the_limit", left))
		}
		if took > 0 {
			attrs = append(attrs, slog.Duration("took", took))
		}
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "membership index in memory ready", attrs...)
	}
	if cur.OverLimit && !prev.OverLimit {
		var attrs []slog.Attr
		if !cur.NextTry.IsZero() {
			attrs = append(attrs, slog.Time("next_try", cur.NextTry))
		}
		s.log.LogAttrs(context.Background(), slog.LevelWarn,
			"membership index in memory over its limit: the nesting relations and hop relations it must hold have more tuples than it may, so it holds none and snapshots read the store's index; it tries again a minute later, then after doubling waits up to an hour",
			attrs...)
	}
	if cur.Err != "" && cur.Err != prev.Err {
		s.log.LogAttrs(context.Background(), slog.LevelWarn,
			"membership index in memory: a build or catch-up failed; the snapshots it could not answer read the store's index",
			slog.String("error", cur.Err))
	}
}
