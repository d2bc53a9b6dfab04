package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer is a stdout several goroutines share.
type lineBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listeningURL = regexp.MustCompile(`listening on (http://\S+)`)

// serveInProcess runs `docket serve` with args in this process until the
// test ends, and returns the URL it listens on.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb lineBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- e.run(ctx, append([]string{"serve", "--no-auth", "--addr", "127.0.0.1:0"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, errb.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningURL.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before listening:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not say where it listens:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getMetrics(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
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

// TestServeMemIndexLimit: `docket serve` holds the membership index in
// memory on a --db or --memory store and exports its state; with
// --mem-index-limit 0 it holds none and exports nothing of it; a limit
// below the nesting relations' tuples leaves it over the limit.
func TestServeMemIndexLimit(t *testing.T) {
	dir := t.TempDir()
	db := dir + "/docket.db"
	schema := writeFile(t, dir, "s.rebac", "type user {}\ntype team {\n  relation member: user | team#member\n}\n")
	run(t, "--db", db, "schema", "write", schema).want(t, exitOK)
	run(t, "--db", db, "tuple", "write", "team:a#member@user:x", "team:a#member@team:b#member", "team:b#member@user:y").want(t, exitOK)

	ready := func(url string, want ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			text := getMetrics(t, url)
			missing := ""
			for _, w := range want {
				if !strings.Contains(text, "\n"+w+"\n") {
					missing += " " + w
				}
			}
			if missing == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics never showed%s:\n%s", missing, text)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Run("badger default", func(t *testing.T) {
		// Built as the server starts, before any request asks.
		url := serveInProcess(t, "--db", db)
		ready(url, "docket_store_mem_index_ready 1", "docket_store_mem_index_tuples 3", "docket_store_mem_index_relations 1")
	})
	t.Run("badger over the limit", func(t *testing.T) {
		url := serveInProcess(t, "--db", db, "--mem-index-limit", "2")
		ready(url, "docket_store_mem_index_over_limit 1", "docket_store_mem_index_ready 0")
	})
	t.Run("memory", func(t *testing.T) {
		url := serveInProcess(t, "--memory")
		ready(url, "docket_store_mem_index_ready 1", "docket_store_mem_index_relations 0")
	})
	for _, args := range [][]string{{"--db", db, "--mem-index-limit", "0"}, {"--memory", "--mem-index-limit", "0"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			url := serveInProcess(t, args...)
			if text := getMetrics(t, url); strings.Contains(text, "docket_store_mem_index_") || !strings.Contains(text, "docket_store_revision") {
				t.Errorf("with --mem-index-limit 0, /metrics:\n%s", text)
			}
		})
	}
}
