package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestImportInputForms(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "bom.tuples", "\xEF\xBB\xBFcase:20#assignee@user:zoe\n# a shell-style comment\n   # indented too\n\n// and this\ncase:21#assignee@user:zoe\n")
	r := f.run("tuple", "import", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "imported 2 tuples")
	p = writeFile(t, f.dir, "export.json", `{"object":"case:22","relation":"assignee","subject":"user:zoe"}`+"\n")
	r = f.run("tuple", "import", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "imported 1 tuple")
	r = f.run("lookup", "resources", "user:zoe", "case#assignee")
	if r.stdout != "case:20\ncase:21\ncase:22\n" {
		t.Errorf("lookup printed %q", r.stdout)
	}

	rev := f.run("tuple", "changes", "-o", "json").stdout
	p = writeFile(t, f.dir, "long.tuples", "case:23#assignee@user:zoe\n"+strings.Repeat("x", 2<<20)+"\n")
	r = f.run("tuple", "import", p)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "long.tuples:2: line is longer than 1048576 bytes")
	r = f.run("tuple", "import", f.dir)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, f.dir+" is a directory")
	if f.run("tuple", "changes", "-o", "json").stdout != rev {
		t.Error("a refused import wrote something")
	}
}

func TestImportCancelledSaysNothingWasWritten(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "many.tuples", strings.Repeat("case:30#assignee@user:zoe\n", 1000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the import gets going
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, shared: f.store}
	code := e.run(ctx, []string{"tuple", "import", p})
	if code != 2 || !strings.Contains(errb.String(), "import cancelled; nothing was written") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if r := f.run("tuple", "read", "case:30"); r.stdout != "" {
		t.Errorf("a cancelled import wrote %q", r.stdout)
	}
}

// The bar goes to stderr, so stderr decides whether it is drawn.
func TestImportProgressFollowsStderr(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "more.tuples", "case:5#assignee@user:zoe\n")
	for _, c := range []struct {
		name     string
		terminal func(out, errw *strings.Builder) func(io.Writer) bool
		drawn    bool
	}{
		{"stdout a terminal, stderr a file", func(out, _ *strings.Builder) func(io.Writer) bool {
			return func(w io.Writer) bool { return w == out }
		}, false},
		{"stdout a file, stderr a terminal", func(_, errw *strings.Builder) func(io.Writer) bool {
			return func(w io.Writer) bool { return w == errw }
		}, true},
	} {
		var out, errb strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(string) string { return "" }, shared: f.store, isTerminal: c.terminal(&out, &errb)}
		if code := e.run(t.Context(), []string{"tuple", "import", p}); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errb.String())
		}
		if drawn := strings.Contains(errb.String(), "reading"); drawn != c.drawn {
			t.Errorf("%s: bar drawn %v, want %v: %q", c.name, drawn, c.drawn, errb.String())
		}
	}
}

// A file with one tuple twice once reported two tuples imported.
func TestImportCountsDuplicateLines(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "dup.tuples", "case:30#assignee@user:zoe\ncase:30#assignee@user:zoe\ncase:31#assignee@user:zoe\n")
	r := f.run("tuple", "import", "--dry-run", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "would import 2 tuples", "(1 duplicate line)")
	r = f.run("tuple", "import", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "imported 2 tuples", "(1 duplicate line)")
	// Again: every tuple is stored, so nothing changes and no revision
	// is made.
	before := f.run("tuple", "changes", "-o", "json").stdout
	r = f.run("-o", "json", "tuple", "write", "-f", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"duplicate_lines": 1`, `"new_revision": false`)
	r = f.run("tuple", "import", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "imported 0 tuples: all 2 already stored; no new revision")
	if f.run("tuple", "changes", "-o", "json").stdout != before {
		t.Error("an import of stored tuples made a revision")
	}
}
