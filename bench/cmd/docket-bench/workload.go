package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/tuples"
)

// verify runs every check with a known answer once; a wrong answer stops
// the benchmark, since timing wrong answers would mean nothing.
func verify(ctx context.Context, c *check.Checker, snap tuples.Snapshot, qs []gen.Query) error {
	for _, q := range qs {
		if q.Kind != gen.KindCheck || !q.Expect.Known {
			continue
		}
		res, err := c.Check(ctx, snap, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
		if err != nil {
			return fmt.Errorf("verify %s: %w", q, err)
		}
		if res.Allowed != q.Expect.Allowed {
			return fmt.Errorf("verify %s: checker says allowed=%v", q, res.Allowed)
		}
	}
	return nil
}

// kind is a row of the report: "check/LABEL", "resources" or "subjects".
func kindOf(q gen.Query) string {
	if q.Kind == gen.KindCheck {
		return "check/" + q.Label
	}
	return string(q.Kind)
}

type result struct {
	elapsed time.Duration
	lat     map[string][]time.Duration
}

// workload runs the mix on c.workers goroutines until c.duration is up.
// Each worker walks the query list from its own offset; lookups are
// spread in at lookupShare percent.
func workload(ctx context.Context, c config, chk *check.Checker, snap tuples.Snapshot, qs []gen.Query) (*result, error) {
	var checks, lookups []gen.Query
	for _, q := range qs {
		if q.Kind == gen.KindCheck {
			checks = append(checks, q)
		} else {
			lookups = append(lookups, q)
		}
	}
	if len(checks) == 0 {
		return nil, errors.New("the check list holds no checks")
	}
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	perWorker := make([]map[string][]time.Duration, c.workers)
	errs := make([]error, c.workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := map[string][]time.Duration{}
			perWorker[w] = lat
			ci, li := w*len(checks)/c.workers, w
			for n := 0; ctx.Err() == nil; n++ {
				var q gen.Query
				if len(lookups) > 0 && c.lookupShare > 0 && n%100 < c.lookupShare {
					q, li = lookups[li%len(lookups)], li+1
				} else {
					q, ci = checks[ci%len(checks)], ci+1
				}
				t0 := time.Now()
				if err := runQuery(ctx, chk, snap, q); err != nil {
					if ctx.Err() != nil {
						return // the clock ran out mid-query
					}
					errs[w] = err
					return
				}
				k := kindOf(q)
				lat[k] = append(lat[k], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := &result{elapsed: time.Since(start), lat: map[string][]time.Duration{}}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, m := range perWorker {
		for k, l := range m {
			res.lat[k] = append(res.lat[k], l...)
		}
	}
	for _, l := range res.lat {
		slices.Sort(l)
	}
	return res, nil
}

func runQuery(ctx context.Context, chk *check.Checker, snap tuples.Snapshot, q gen.Query) error {
	var err error
	switch q.Kind {
	case gen.KindCheck:
		_, err = chk.Check(ctx, snap, check.Query{Object: q.Object, Relation: q.Relation, Subject: q.Subject})
	case gen.KindResources:
		_, err = chk.LookupResources(ctx, snap, check.ResourceQuery{Subject: q.Subject, Type: q.Type, Relation: q.Relation},
			func(tuples.Object) bool { return true })
	case gen.KindSubjects:
		_, err = chk.LookupSubjects(ctx, snap, check.SubjectQuery{Object: q.Object, Relation: q.Relation, Type: q.Type})
	}
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}
