package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/server"
	"github.com/docketdb/docket/store/memory"
)

// serveFixture serves the fixture's store on a real listener on
// 127.0.0.1, with one read-write and one read-only key.
func serveFixture(t *testing.T, f *fixture) string {
	t.Helper()
	keys, err := server.ParseKeys("keys", []byte("rw-key\nro-key read\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: f.store, StoreID: server.NewStoreID(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "", 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestClientMode: every query command prints, byte for byte, what it
// prints on the server's store directly, with the same exit status; writes
// through the server land in its store and print their token.
func TestClientMode(t *testing.T) {
	f := newFixture(t)
	url := serveFixture(t, f)
	remote := func(args ...string) result {
		t.Helper()
		return runOn(t, nil, "", append([]string{"--server", url, "--token", "rw-key"}, args...)...)
	}
	for _, args := range [][]string{
		{"schema", "show"},
		{"check", "case:1#viewer@user:bob"},
		{"check", "case:1#viewer@user:mallory"},
		{"check", "--explain", "case:1#viewer@user:mallory"},
		{"check", "-o", "json", "--explain", "case:1#viewer@user:bob", "case:2#viewer@user:bob"},
		{"check", "case:2#viewer@user:zed", "--with", "case:2#deny_list@user:zed"},
		{"check", "--at", "2", "case:2#viewer@user:anyone"},
		{"check", "kase:1#viewer@user:bob"},
		{"expand", "case:1#viewer"},
		{"expand", "--depth", "3", "-o", "json", "case:1#viewer"},
		{"lookup", "resources", "user:bob", "case#viewer"},
		{"lookup", "resources", "-o", "json", "user:alice", "case#viewer"},
		{"lookup", "subjects", "case:1#viewer"},
		{"lookup", "subjects", "case:2#viewer", "--type", "user"},
		{"tuple", "read"},
		{"tuple", "read", "case:1"},
		{"tuple", "read", "-o", "json", "--relation", "deny_list"},
		{"tuple", "export"},
		{"tuple", "export", "--format", "jsonl"},
		{"tuple", "changes", "--since", "1"},
	} {
		local := f.run(args...)
		got := remote(args...)
		if got.stdout != local.stdout || got.code != local.code {
			t.Errorf("docket %s:\nlocal (exit %d):\n%s\nclient mode (exit %d):\n%s%s", strings.Join(args, " "), local.code, local.stdout, got.code, got.stdout, got.stderr)
		}
	}

	// Writes go to the server's store; the token they print reads them.
	w := remote("tuple", "write", "case:3#assignee@user:carol")
	w.want(t, 0)
	contains(t, "write output", w.stdout, "wrote 1 tuple")
	contains(t, "write stderr", w.stderr, "token: ")
	tok := strings.Fields(strings.TrimPrefix(w.stderr[strings.Index(w.stderr, "token: "):], "token: "))[0]
	f.run("check", "case:3#viewer@user:carol").want(t, 0)
	remote("--consistency", "at-least:"+tok, "check", "case:3#viewer@user:carol").want(t, 0)
	remote("--consistency", "exact:"+tok, "check", "case:3#viewer@user:carol").want(t, 0)
	remote("--consistency", "latency", "check", "case:3#viewer@user:carol").want(t, 0)
	remote("tuple", "delete", "case:3#assignee@user:carol").want(t, 0)
	remote("check", "case:3#viewer@user:carol").want(t, exitNo)
	remote("--consistency", "exact:"+tok, "check", "case:3#viewer@user:carol").want(t, 0)
	imp := runOn(t, nil, "case:4#assignee@user:dan\n", "--server", url, "--token", "rw-key", "tuple", "import", "-")
	imp.want(t, 0)
	f.run("check", "case:4#viewer@user:dan").want(t, 0)

	// Keys and bad flags.
	ro := runOn(t, nil, "", "--server", url, "--token", "ro-key", "tuple", "write", "case:5#assignee@user:x")
	ro.want(t, exitFailure)
	contains(t, "read-only key", ro.stderr, "may only read")
	nokey := runOn(t, nil, "", "--server", url, "check", "case:1#viewer@user:bob")
	nokey.want(t, exitFailure)
	contains(t, "no key", nokey.stderr, "bearer key")
	bad := remote("--consistency", "sometimes", "check", "case:1#viewer@user:bob")
	bad.want(t, exitFailure)
	contains(t, "bad consistency", bad.stderr, "--consistency \"sometimes\"")
	local := run(t, "--memory", "--consistency", "full", "check", "case:1#viewer@user:bob")
	local.want(t, exitFailure)
	contains(t, "consistency without a server", local.stderr, "client mode only")
	down := runOn(t, nil, "", "--server", "http://127.0.0.1:1", "check", "case:1#viewer@user:bob")
	down.want(t, exitFailure)
}

// TestClientModeConditions: with conditioned and expiring tuples, every
// command prints in client mode what it prints on the store directly:
// checks with --context, --context-file and --now (conditional answers
// included), lookups, expand, reads, exports and the change log. The
// tuples are written through the server.
func TestClientModeConditions(t *testing.T) {
	dir := t.TempDir()
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{t: t, store: s, dir: dir}
	url := serveFixture(t, f)
	remote := func(args ...string) result {
		t.Helper()
		return runOn(t, nil, "", append([]string{"--server", url, "--token", "rw-key"}, args...)...)
	}
	remote("schema", "write", writeFile(t, dir, "c.rebac", conditionSchema)).want(t, 0)
	remote("tuple", "write", "case:1#assignee@user:bob", "case:1#assignee@user:ana", "case:2#assignee@user:bob",
		`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-02-01T00:00:00Z]`,
		`case:2#deny_list@user:bob[under_review:{"review_ends":"2026-01-01T00:00:00Z"}][expiration:2027-01-01T00:00:00Z]`,
		"case:1#deny_list@user:ana[under_review][expiration:2020-01-01T00:00:00Z]").want(t, 0)
	ctxFile := writeFile(t, dir, "ctx.json", `{"now":"2027-01-20T00:00:00Z"}`)
	for _, args := range [][]string{
		{"check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z"},
		{"check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "-o", "json"},
		{"check", "--explain", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z"},
		{"check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "--context", `{"now":"2027-01-10T00:00:00Z"}`},
		{"check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "--context-file", ctxFile},
		{"check", "-o", "json", "--explain", "case:1#viewer@user:bob", "case:2#viewer@user:bob", "case:1#viewer@user:ana", "--now", "2026-12-01T00:00:00Z"},
		{"check", "case:2#viewer@user:bob", "--now", "2027-01-01T00:00:00Z"},
		{"check", "case:1#viewer@user:bob", "--now", "2027-02-01T00:00:00Z"},
		{"check", "case:1#viewer@user:bob", "--context", `{"now":5}`, "--now", "2027-01-01T00:00:00Z"},
		{"check", "case:1#viewer@user:bob", "--context", `[1]`},
		{"check", "case:1#viewer@user:bob", "--now", "tomorrow"},
		{"expand", "case:1#deny_list", "--now", "2026-12-01T00:00:00Z"},
		{"expand", "-o", "json", "case:1#viewer", "--now", "2026-12-01T00:00:00Z"},
		{"lookup", "resources", "user:bob", "case#viewer", "--now", "2026-12-01T00:00:00Z"},
		{"lookup", "subjects", "case:1#deny_list", "--now", "2026-12-01T00:00:00Z"},
		{"lookup", "subjects", "case:1#viewer", "--now", "2026-12-01T00:00:00Z"},
		{"lookup", "subjects", "-o", "json", "case:1#viewer", "--now", "2026-12-01T00:00:00Z", "--context", `{"now":"2027-01-20T00:00:00Z"}`},
		{"lookup", "resources", "-o", "json", "user:bob", "case#viewer", "--now", "2026-12-01T00:00:00Z"},
		{"lookup", "resources", "user:bob", "case#viewer", "--now", "2026-12-01T00:00:00Z", "--context-file", ctxFile},
		{"lookup", "resources", "user:bob", "case#viewer", "--now", "2027-03-01T00:00:00Z"},
		{"tuple", "read"},
		{"tuple", "read", "-o", "json", "--relation", "deny_list"},
		{"tuple", "export"},
		{"tuple", "export", "--format", "jsonl"},
		{"tuple", "changes"},
	} {
		local := f.run(args...)
		got := remote(args...)
		if got.stdout != local.stdout || got.code != local.code || got.stderr != local.stderr {
			t.Errorf("docket %s:\nlocal (exit %d):\n%s%s\nclient mode (exit %d):\n%s%s", strings.Join(args, " "), local.code, local.stdout, local.stderr, got.code, got.stdout, got.stderr)
		}
	}
	// The conditional check is the one its exit status says.
	remote("check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z").want(t, exitConditional)
	// An import through the server keeps payloads.
	remote("tuple", "import", writeFile(t, dir, "more.txt", "case:3#deny_list@user:cy[under_review:{\"review_ends\":\"2030-01-01T00:00:00Z\"}]\ncase:3#assignee@user:cy\n")).want(t, 0)
	r := f.run("check", "case:3#viewer@user:cy", "--context", `{"now":"2029-01-01T00:00:00Z"}`)
	r.want(t, exitNo)
}
