// Command compare runs an agency dataset of bench/gen (casebook or anchors) against Docket,
// OpenFGA and SpiceDB, all embedded in this one process: it loads the same
// tuples into each, checks that every engine gives the same answer to every
// query of the check list, then times them in alternating rounds and prints
// Markdown tables. See README.md; run.sh starts PostgreSQL for SpiceDB.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type options struct {
	shape     string
	size      int
	seed      uint64
	engines   []string
	pgURI     string
	rounds    int
	slot      time.Duration
	workers   int
	lookups   int
	maxChecks int
	cache     int
	// distinct: no engine is asked a timed query twice, nor one asked
	// while verifying (see timeAll).
	distinct bool
	// spicedbCache turns SpiceDB's dispatch cache on.
	spicedbCache bool
}

func run() error {
	var o options
	flag.StringVar(&o.shape, "shape", gen.ShapeCasebook, "dataset shape: casebook or anchors")
	size := flag.String("size", "100k", "dataset size in tuples (anchors: 560k is about 100k cases)")
	engines := flag.String("engines", "docket-badger,docket-memory,docket-postgres,openfga-sqlite,openfga-memory,spicedb-memory,spicedb-postgres", "engines to compare")
	flag.Uint64Var(&o.seed, "seed", 1, "generator seed")
	flag.StringVar(&o.pgURI, "postgres", os.Getenv("COMPARE_POSTGRES"), "PostgreSQL URI for spicedb-postgres and docket-postgres")
	flag.IntVar(&o.rounds, "rounds", 3, "timing rounds; engines take turns within each")
	flag.DurationVar(&o.slot, "slot", time.Second, "time per engine, query kind and round")
	flag.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "concurrent callers while timing")
	flag.IntVar(&o.lookups, "lookups", 10, "lookup queries of each kind to verify and time")
	flag.IntVar(&o.maxChecks, "verify-checks", 0, "checks to verify (0 = the whole list)")
	flag.IntVar(&o.cache, "docket-cache", -1, "Docket checker cache entries: -1 off (default, like OpenFGA's check cache), 0 the default size")
	flag.BoolVar(&o.distinct, "distinct", true, "time every engine on queries it was never asked before (false: cycle each kind's verified queries for the whole slot)")
	flag.BoolVar(&o.spicedbCache, "spicedb-dispatch-cache", true, "SpiceDB's dispatch cache (its default: on)")
	flag.Parse()
	n, err := gen.ParseSize(*size)
	if err != nil {
		return err
	}
	o.size = n
	o.engines = strings.Split(*engines, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if _, ok := peerSchemas[o.shape]; !ok {
		return fmt.Errorf("-shape %q: want casebook or anchors", o.shape)
	}
	spec := gen.Spec{Shape: o.shape, Size: o.size, Seed: o.seed, AllCases: o.distinct}
	ts, all, err := dataset(ctx, spec)
	if err != nil {
		return err
	}
	qs := trimLookups(all, o.lookups)
	if o.distinct {
		// The queries of every case beyond the sampled ones come last.
		qs = trimLookups(usualList(all), o.lookups)
	}
	fmt.Printf("# %s: %d tuples, %d queries\n\n", spec.Name(), len(ts), len(all))
	fmt.Printf("machine: %d CPUs, %s/%s, %s; %d callers\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), o.workers)

	var live []engine
	loads := map[string]time.Duration{}
	var failures []string
	for _, name := range o.engines {
		e, err := open(ctx, name, o)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		start := time.Now()
		if err := e.Load(ctx, ts); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
			e.Close()
			continue
		}
		loads[name] = time.Since(start)
		fmt.Fprintf(os.Stderr, "loaded %s in %s\n", name, loads[name].Round(time.Millisecond))
		live = append(live, e)
	}
	defer func() {
		for _, e := range live {
			e.Close()
		}
	}()
	if len(live) == 0 {
		return fmt.Errorf("no engine started:\n  %s", strings.Join(failures, "\n  "))
	}
	verified, mismatches := verify(ctx, live, qs, o.maxChecks)
	pools := timingPools(qs, all, o)
	timings := timeAll(ctx, live, pools, o)
	report(os.Stdout, live, loads, len(ts), timings, verified, mismatches, failures)
	reportTimedAnswers(os.Stdout, live, pools, timings)
	return nil
}

func open(ctx context.Context, name string, o options) (engine, error) {
	kind, backend, _ := strings.Cut(name, "-")
	// NAME-grpc: the engine's server on 127.0.0.1, asked over gRPC.
	backend, loopback := strings.CutSuffix(backend, "-grpc")
	switch kind {
	case "docket":
		if loopback {
			return newDocketServer(ctx, o.shape, backend, o.cache, o.pgURI)
		}
		return newDocket(ctx, o.shape, backend, o.cache, o.pgURI)
	case "openfga":
		return newOpenFGA(ctx, peerSchemas[o.shape].openfga, backend, loopback)
	case "spicedb":
		return newSpiceDB(ctx, peerSchemas[o.shape].spicedb, backend, o.pgURI, loopback, o.spicedbCache)
	}
	return nil, fmt.Errorf("unknown engine %q", name)
}

// dataset generates spec in memory: the tuples parsed, and the check list.
func dataset(ctx context.Context, spec gen.Spec) ([]tuples.Tuple, []gen.Query, error) {
	var tb, qb strings.Builder
	if _, err := gen.Generate(ctx, spec, &tb, &qb); err != nil {
		return nil, nil, err
	}
	var ts []tuples.Tuple
	sc := bufio.NewScanner(strings.NewReader(tb.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "//") {
			continue
		}
		t, err := tuples.Parse(line)
		if err != nil {
			return nil, nil, err
		}
		ts = append(ts, t)
	}
	qs, err := gen.ReadQueries(strings.NewReader(qb.String()), spec.Name()+".checks")
	return ts, qs, err
}

// trimLookups keeps the first n lookups of each kind: a lookup costs as
// much as thousands of checks on the slower engines.
func trimLookups(qs []gen.Query, n int) []gen.Query {
	count := map[gen.Kind]int{}
	var out []gen.Query
	for _, q := range qs {
		if q.Kind != gen.KindCheck {
			if count[q.Kind] >= n {
				continue
			}
			count[q.Kind]++
		}
		out = append(out, q)
	}
	return out
}

func kindOf(q gen.Query) string {
	if q.Kind == gen.KindCheck {
		return "check/" + q.Label
	}
	return string(q.Kind)
}

func do(ctx context.Context, e engine, q gen.Query) (string, error) {
	switch q.Kind {
	case gen.KindCheck:
		ok, err := e.Check(ctx, q)
		return fmt.Sprint(ok), err
	case gen.KindResources:
		ids, err := e.Resources(ctx, q)
		slices.Sort(ids)
		return strings.Join(slices.Compact(ids), ","), err
	default:
		ids, err := e.Subjects(ctx, q)
		slices.Sort(ids)
		return strings.Join(slices.Compact(ids), ","), err
	}
}

// verify asks every engine every query; answers must agree with each other
// and with the generator's expectation where it has one.
func verify(ctx context.Context, es []engine, qs []gen.Query, maxChecks int) (int, []string) {
	var bad []string
	n, checks := 0, 0
	for _, q := range qs {
		if q.Kind == gen.KindCheck {
			if maxChecks > 0 && checks >= maxChecks {
				continue
			}
			checks++
		}
		n++
		answers := map[string][]string{}
		for _, e := range es {
			a, err := do(ctx, e, q)
			if err != nil {
				a = "error: " + err.Error()
			}
			answers[a] = append(answers[a], e.Name())
		}
		want := ""
		if q.Kind == gen.KindCheck && q.Expect.Known {
			want = fmt.Sprint(q.Expect.Allowed)
		}
		if len(answers) > 1 || (want != "" && answers[want] == nil) {
			var parts []string
			for a, names := range answers {
				parts = append(parts, fmt.Sprintf("%s=%s", strings.Join(names, "+"), summarize(a, answers)))
			}
			slices.Sort(parts)
			bad = append(bad, fmt.Sprintf("%s (expected %s): %s", q, want, strings.Join(parts, "; ")))
		}
	}
	return n, bad
}

// summarize shortens an answer for the disagreement list. A lookup's
// answer (a comma-separated list) is given as its size and the first few
// members no other answer has, which is what tells a cut-short lookup from
// a wrong one.
func summarize(a string, all map[string][]string) string {
	if !strings.Contains(a, ",") || strings.HasPrefix(a, "error: ") {
		if len(a) > 80 {
			a = a[:80] + "..."
		}
		return a
	}
	mine := strings.Split(a, ",")
	others := map[string]bool{}
	for b := range all {
		if b == a {
			continue
		}
		for _, m := range strings.Split(b, ",") {
			others[m] = true
		}
	}
	var only []string
	for _, m := range mine {
		if !others[m] {
			only = append(only, m)
		}
	}
	out := fmt.Sprintf("%d results", len(mine))
	if len(only) > 0 {
		out += fmt.Sprintf(", %d no other engine has", len(only))
		if len(only) > 3 {
			only = append(only[:3], "...")
		}
		out += " (" + strings.Join(only, ",") + ")"
	}
	return out
}

// usualList is the check list without the queries AllCases adds (the
// generator writes those after the usual list's lookups).
func usualList(qs []gen.Query) []gen.Query {
	lookups := false
	for i, q := range qs {
		if q.Kind != gen.KindCheck {
			lookups = true
		} else if lookups {
			return qs[:i]
		}
	}
	return qs
}

// queryKey names a query whatever its label and expectation.
func queryKey(q gen.Query) string {
	return fmt.Sprint(q.Kind, q.Object, q.Relation, q.Subject, q.Type)
}

// pool is the queries of one kind that slots draw from, in order.
type pool struct {
	kind string
	qs   []gen.Query
}

// timingPools returns each kind's queries to time. With o.distinct, every
// query of the whole list (all) not asked while verifying (verified), each
// once, in the kind it first appears in, so that no engine answers a timed
// query from what it cached of an earlier one; otherwise the verified
// queries of each kind, cycled.
func timingPools(verified, all []gen.Query, o options) []pool {
	src := verified
	seen := map[string]bool{}
	if o.distinct {
		src = all
		for _, q := range verified {
			seen[queryKey(q)] = true
		}
	}
	var out []pool
	at := map[string]int{}
	for _, q := range src {
		if o.distinct {
			k := queryKey(q)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		k := kindOf(q)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, pool{kind: k})
		}
		out[i].qs = append(out[i].qs, q)
	}
	return out
}

// timing holds the latencies of one engine and query kind over all rounds.
type timing struct {
	lat  []time.Duration
	busy time.Duration // wall time spent, for throughput
	// next is the pool index the next call asks (with distinct queries a
	// pool is walked once over all rounds); exhausted is set when it ran
	// out before a slot's end.
	next      atomic.Int64
	exhausted bool
	// wrong counts timed checks whose answer is not the generator's.
	wrong atomic.Int64
	mu    sync.Mutex
	// answers holds a digest of each timed lookup's answer by pool index,
	// compared between engines afterwards.
	answers map[int64]uint64
}

// timeAll runs rounds in which every engine gets one slot per query kind;
// the engine order rotates each round so that none always goes first.
func timeAll(ctx context.Context, es []engine, pools []pool, o options) map[string]map[string]*timing {
	out := map[string]map[string]*timing{}
	for _, e := range es {
		out[e.Name()] = map[string]*timing{}
	}
	for r := range o.rounds {
		for _, p := range pools {
			for i := range es {
				e := es[(i+r)%len(es)]
				t := out[e.Name()][p.kind]
				if t == nil {
					t = &timing{answers: map[int64]uint64{}}
					out[e.Name()][p.kind] = t
				}
				slot(ctx, e, p.qs, o, t)
			}
		}
	}
	return out
}

// slot runs the queries of one kind on o.workers callers for o.slot (at
// least one query each while the pool lasts), taking the pool's queries
// in turn from where the engine's last slot of the kind stopped. With
// distinct queries a slot stops early when the pool is used up; without,
// it starts over.
func slot(ctx context.Context, e engine, qs []gen.Query, o options, t *timing) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(o.slot)
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for {
				i := t.next.Add(1) - 1
				if o.distinct && i >= int64(len(qs)) {
					t.mu.Lock()
					t.exhausted = true
					t.mu.Unlock()
					break
				}
				i %= int64(len(qs))
				q := qs[i]
				t0 := time.Now()
				a, err := do(ctx, e, q)
				if err != nil {
					break
				}
				lat = append(lat, time.Since(t0))
				t.record(i, q, a)
				if time.Now().After(deadline) {
					break
				}
			}
			mu.Lock()
			t.lat = append(t.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.busy += time.Since(start)
}

// record keeps what a timed answer tells: a check's is compared with the
// generator's expectation, a lookup's kept for comparing engines. A
// lookup of subjects that includes the wildcard is kept as the wildcard
// alone (the engines list the users besides it differently; see
// README.md).
func (t *timing) record(i int64, q gen.Query, answer string) {
	if q.Kind == gen.KindCheck {
		if q.Expect.Known && answer != fmt.Sprint(q.Expect.Allowed) {
			t.wrong.Add(1)
		}
		return
	}
	if q.Kind == gen.KindSubjects && slices.Contains(strings.Split(answer, ","), "*") {
		answer = "*"
	}
	h := fnv.New64a()
	h.Write([]byte(answer))
	t.mu.Lock()
	t.answers[i] = h.Sum64()
	t.mu.Unlock()
}
