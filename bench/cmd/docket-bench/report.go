package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[(len(l)-1)*p/100]
}

// printReport writes the machine, the settings and one Markdown table row
// per query kind, ready to paste into a README.
func printReport(out io.Writer, c config, r *result) {
	fmt.Fprintf(out, "machine  %d CPUs (%s), %s/%s, %s\n", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	cache := "default"
	switch {
	case c.cacheSize < 0:
		cache = "off"
	case c.cacheSize > 0:
		cache = fmt.Sprint(c.cacheSize)
	}
	walk := "up from the subject"
	if c.downward {
		walk = "down from the group"
	}
	fmt.Fprintf(out, "workload %d workers for %s, %d%% lookups, checker cache %s, nested groups walked %s\n\n", c.workers, r.elapsed.Round(time.Millisecond), c.lookupShare, cache, walk)
	kinds := make([]string, 0, len(r.lat))
	total := 0
	for k, l := range r.lat {
		kinds = append(kinds, k)
		total += len(l)
	}
	slices.Sort(kinds)
	fmt.Fprintln(out, "| kind | ops | ops/s | p50 | p95 | p99 |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|--:|")
	for _, k := range kinds {
		l := r.lat[k]
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s |\n", k, len(l), float64(len(l))/r.elapsed.Seconds(),
			short(pct(l, 50)), short(pct(l, 95)), short(pct(l, 99)))
	}
	fmt.Fprintf(out, "| **all** | %d | %.0f | | | |\n", total, float64(total)/r.elapsed.Seconds())
}

// short prints a latency with three significant digits in a fitting unit.
func short(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d.Nanoseconds())/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d.Nanoseconds())/1e6)
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

// cpuModel reads the processor name on Linux; elsewhere it is left out.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
