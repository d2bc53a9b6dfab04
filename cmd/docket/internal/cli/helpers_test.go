package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// result is what one in-process run of docket produced.
type result struct {
	code           int
	stdout, stderr string
}

// runIn runs docket with stdin and a clean environment (DOCKET_DB unset).
func runIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" },
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
