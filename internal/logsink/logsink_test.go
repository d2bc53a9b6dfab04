package logsink

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowWriter records what it is given, taking a while per write, so that
// lines pile up behind it.
type slowWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.buf.Write(p)
}

func TestLinesWholeInOrderAndCoalesced(t *testing.T) {
	sw := &slowWriter{}
	l := New(sw)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(l, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	l.Close()
	lines := strings.Split(strings.TrimSuffix(sw.buf.String(), "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d lines written; want 2000", len(lines))
	}
	next := map[string]int{}
	for _, line := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(line, "%s line %d", &g, &i); err != nil {
			t.Fatalf("line %q is not whole: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("line %q out of order; want %s line %d", line, g, next[g])
		}
		next[g]++
	}
	if sw.writes >= 2000 {
		t.Errorf("%d writes for 2000 lines: nothing was coalesced", sw.writes)
	}
}

func TestWriteAfterCloseGoesThrough(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	fmt.Fprintln(l, "before")
	l.Close()
	fmt.Fprintln(l, "after")
	l.Close()
	if got := buf.String(); got != "before\nafter\n" {
		t.Fatalf("got %q", got)
	}
}

func TestLineWrittenPromptly(t *testing.T) {
	sw := &slowWriter{}
	l := New(sw)
	defer l.Close()
	fmt.Fprintln(l, "one")
	deadline := time.Now().Add(5 * time.Second)
	for {
		sw.mu.Lock()
		got := sw.buf.String()
		sw.mu.Unlock()
		if got == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a line waited for more lines (got %q)", got)
		}
		time.Sleep(time.Millisecond)
	}
}
