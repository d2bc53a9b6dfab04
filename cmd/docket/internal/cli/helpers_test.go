package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
)

// result is what one in-process run of docket produced.
type result struct {
	code           int
	stdout, stderr string
}

// runIn runs docket with stdin and a clean environment (DOCKET_DB unset).
func runIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runOn(t, nil, stdin, args...)
}

// runOn runs docket against store (nil: what the flags say), so that a
// test's commands share one in-memory store.
func runOn(t *testing.T, st store.Store, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" },
		shared: st,
	}
	code := e.run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	return runIn(t, "", args...)
}

// writeFile writes content to name inside dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func lacks(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(got, w) {
			t.Errorf("%s contains %q:\n%s", what, w, got)
		}
	}
}

const testSchema = `// Who may see a case.
type user

type team {
  relation member: user | team#member
}

type case {
  relation assignee: user
  relation access_list: user | team#member
  relation deny_list: user
  relation public: user:*
  relation viewer = assignee | access_list | public - deny_list
  relation editor = assignee & viewer
}
`

// fixture is an in-memory store holding testSchema and a few tuples.
type fixture struct {
	t     *testing.T
	store store.Store
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{t: t, store: s, dir: t.TempDir()}
	f.run("schema", "write", writeFile(t, f.dir, "case.rebac", testSchema)).want(t, 0)
	f.run("tuple", "write",
		"case:1#assignee@user:alice",
		"case:1#access_list@team:east#member",
		"team:east#member@user:bob",
		"team:east#member@user:mallory",
		"case:1#deny_list@user:mallory",
		"case:2#public@user:*",
		"case:2#deny_list@user:bob",
	).want(t, 0)
	return f
}

func (f *fixture) run(args ...string) result {
	f.t.Helper()
	return runOn(f.t, f.store, "", args...)
}

func (f *fixture) runIn(stdin string, args ...string) result {
	f.t.Helper()
	return runOn(f.t, f.store, stdin, args...)
}
