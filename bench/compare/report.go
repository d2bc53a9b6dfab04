package main

import (
	"fmt"
	"io"
	"slices"
	"time"
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
	fmt.Fprintln(w, "| kind | engine | p50 | p99 | ops/s | ratio |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|")
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
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f | %s |\n", k, e.Name(), fmtDur(pct(t.lat, 50)), fmtDur(pct(t.lat, 99)),
				float64(len(t.lat))/t.busy.Seconds(), fmt.Sprintf("%.1fx", ratio))
		}
	}
}
