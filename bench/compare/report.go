package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docketdb/docket/bench/gen"
)

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[(len(l)-1)*p/100]
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d.Nanoseconds())/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d.Nanoseconds())/1e6)
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

func report(w io.Writer, es []engine, loads map[string]time.Duration, tuples int, timings map[string]map[string]*timing,
	verified int, mismatches, failures []string) {
	fmt.Fprintln(w, "## Engines")
	fmt.Fprintln(w)
	for _, e := range es {
		fmt.Fprintf(w, "- %s: %s\n", e.Name(), e.Settings())
	}
	for _, f := range failures {
		fmt.Fprintf(w, "- FAILED %s\n", f)
	}
	fmt.Fprintf(w, "\n## Answers\n\n%d queries asked of every engine; %d disagreements.\n", verified, len(mismatches))
	for i, m := range mismatches {
		if i == 20 {
			fmt.Fprintf(w, "- ... %d more\n", len(mismatches)-20)
			break
		}
		fmt.Fprintf(w, "- %s\n", m)
	}
	ref := es[0].Name()
	fmt.Fprintf(w, "\n## Load\n\n| engine | time | tuples/s | time over %s |\n|---|--:|--:|--:|\n", ref)
	for _, e := range es {
		l := loads[e.Name()]
		fmt.Fprintf(w, "| %s | %s | %.0f | %.1fx |\n", e.Name(), fmtDur(l), float64(tuples)/l.Seconds(), l.Seconds()/loads[ref].Seconds())
	}
	var kinds []string
	for k := range timings[ref] {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "\n## Queries\n\nRatio: the engine's median over %s's median (how many times faster %s is).\n\n", ref, ref)
	fmt.Fprintln(w, "Calls: the timed calls over all rounds; \"all\" when the engine asked every query of the kind's pool.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| kind | engine | p50 | p99 | ops/s | calls | ratio |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
	for _, k := range kinds {
		base := timings[ref][k]
		slices.Sort(base.lat)
		for _, e := range es {
			t := timings[e.Name()][k]
			if t == nil {
				continue
			}
			slices.Sort(t.lat)
			ratio := float64(pct(t.lat, 50)) / float64(pct(base.lat, 50))
			calls := fmt.Sprint(len(t.lat))
			if t.exhausted {
				calls += " (all)"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f | %s | %s |\n", k, e.Name(), fmtDur(pct(t.lat, 50)), fmtDur(pct(t.lat, 99)),
				float64(len(t.lat))/t.busy.Seconds(), calls, fmt.Sprintf("%.1fx", ratio))
		}
	}
}

// reportTimedAnswers states what the timed calls answered: checks against
// the generator's expectation, lookups between every two engines that
// asked the same one.
func reportTimedAnswers(w io.Writer, es []engine, pools []pool, timings map[string]map[string]*timing) {
	fmt.Fprintf(w, "\n## Timed answers\n\n")
	for _, p := range pools {
		fmt.Fprintf(w, "- %s: a pool of %d queries", p.kind, len(p.qs))
		if p.qs[0].Kind == gen.KindCheck {
			var wrong []string
			for _, e := range es {
				if t := timings[e.Name()][p.kind]; t != nil {
					wrong = append(wrong, fmt.Sprintf("%s %d", e.Name(), t.wrong.Load()))
				}
			}
			fmt.Fprintf(w, "; answers not the generator's: %s\n", strings.Join(wrong, ", "))
			continue
		}
		compared, differ := 0, 0
		var examples []string
		for i := range p.qs {
			var got []uint64
			for _, e := range es {
				if t := timings[e.Name()][p.kind]; t != nil {
					if a, ok := t.answers[int64(i)]; ok {
						got = append(got, a)
					}
				}
			}
			if len(got) < 2 {
				continue
			}
			compared++
			for _, a := range got[1:] {
				if a != got[0] {
					differ++
					if len(examples) < 3 {
						examples = append(examples, p.qs[i].String())
					}
					break
				}
			}
		}
		fmt.Fprintf(w, "; %d asked of more than one engine, %d answered differently", compared, differ)
		if len(examples) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(examples, "; "))
		}
		fmt.Fprintln(w)
	}
}
