package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestSchemaCheckValid(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ok.rebac", testSchema)
	r := run(t, "schema", "check", p)
	r.want(t, 0)
	if r.stdout != p+": ok\n" || r.stderr != "" {
		t.Errorf("valid schema: want only %q on stdout, got %q and stderr %q", p+": ok", r.stdout, r.stderr)
	}
}

func TestSchemaCheckInvalidReportsEveryErrorWithPosition(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.rebac", "type user\n\ntype doc {\n  relation owner: usr\n  relation viewer = owner | editr\n}\n")
	good := writeFile(t, dir, "good.rebac", testSchema)
	r := run(t, "schema", "check", good, bad)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, bad+":4:19: ", bad+":5:29: ", "usr", "editr")
	lacks(t, "stderr", r.stderr, "Usage:", good)
	if r.stdout != good+": ok\n" {
		t.Errorf("stdout: want only %q, got %q", good+": ok", r.stdout)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; n != 2 {
		t.Errorf("want one line per error, got %d lines:\n%s", n, r.stderr)
	}
}

func TestSchemaCheckWarningsDoNotFail(t *testing.T) {
	// `never` can never be true: an intersection with a relation that
	// allows no subject reachable from the other side.
	src := "type user\ntype bot\n\ntype doc {\n  relation a: user\n  relation b: bot\n  relation never = a & b\n}\n"
	p := writeFile(t, t.TempDir(), "warn.rebac", src)
	r := run(t, "schema", "check", p)
	r.want(t, 0)
	contains(t, "stderr", r.stderr, p+":7:", "warning: ")
	contains(t, "stdout", r.stdout, p+": ok (1 warning)")
}

func TestSchemaCheckMissingFile(t *testing.T) {
	r := run(t, "schema", "check", "no/such.rebac")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: no/such.rebac: no such file; check the path")
	lacks(t, "stderr", r.stderr, "Usage:", "goroutine")
}

func TestSchemaCheckNeedsAFile(t *testing.T) {
	r := run(t, "schema", "check")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: requires at least 1 arg", "Usage:\n  docket schema check FILE...")
}

func TestSchemaFmtPrintsCanonicalForm(t *testing.T) {
	p := writeFile(t, t.TempDir(), "messy.rebac", "type user\ntype doc {\nrelation owner:user\n  relation viewer=(owner)|owner\n}\n")
	r := run(t, "schema", "fmt", p)
	r.want(t, 0)
	want := "type user\n\ntype doc {\n  relation owner: user\n  relation viewer = owner | owner\n}\n"
	if r.stdout != want {
		t.Errorf("fmt printed\n%s\nwant\n%s", r.stdout, want)
	}
	if src, _ := os.ReadFile(p); string(src) == want {
		t.Error("fmt without -w changed the file")
	}
}

func TestSchemaFmtWrite(t *testing.T) {
	dir := t.TempDir()
	messy := writeFile(t, dir, "messy.rebac", "type user\ntype doc {\nrelation owner:user\n}\n")
	canonical := writeFile(t, dir, "canonical.rebac", testSchema)
	before, _ := os.Stat(canonical)

	r := run(t, "schema", "fmt", "-l", messy, canonical)
	r.want(t, 0)
	if r.stdout != messy+"\n" {
		t.Errorf("fmt -l printed %q, want only %s", r.stdout, messy)
	}

	r = run(t, "schema", "fmt", "-w", messy, canonical)
	r.want(t, 0)
	got, _ := os.ReadFile(messy)
	if string(got) != "type user\n\ntype doc {\n  relation owner: user\n}\n" {
		t.Errorf("rewritten file:\n%s", got)
	}
	after, _ := os.Stat(canonical)
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("a file already in canonical form was rewritten")
	}
}

func TestSchemaFmtWriteRefusesInvalidFile(t *testing.T) {
	src := "type doc {\nrelation owner:usr\n}\n"
	p := writeFile(t, t.TempDir(), "bad.rebac", src)
	r := run(t, "schema", "fmt", "-w", p)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, p+":2:", "usr")
	if got, _ := os.ReadFile(p); string(got) != src {
		t.Errorf("invalid file was rewritten:\n%s", got)
	}
}

func TestSchemaFmtSyntaxError(t *testing.T) {
	p := writeFile(t, t.TempDir(), "syntax.rebac", "type doc {\n  relation owner user\n}\n")
	r := run(t, "schema", "fmt", p)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, p+":2:")
	if r.stdout != "" {
		t.Errorf("printed output for a file that does not parse: %q", r.stdout)
	}
}

func TestOutputFlagRejectsUnknownFormat(t *testing.T) {
	r := run(t, "--output", "xml", "version")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `invalid argument "xml"`, "must be one of text, json", "Usage:")
}

func TestVersion(t *testing.T) {
	r := run(t, "version")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "docket ", "go1.")
	r = run(t, "version", "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"version":`, `"go": "go1.`)
}

func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := run(t, "completion", sh)
		r.want(t, 0)
		contains(t, sh+" script", r.stdout, "docket")
	}
	r := run(t, "completion", "tcsh")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `invalid argument "tcsh"`, "Usage:")
}

func TestUnknownCommand(t *testing.T) {
	r := run(t, "frobnicate")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `unknown command "frobnicate"`, "docket --help")
}

func TestHelpGoesToStdout(t *testing.T) {
	r := run(t, "schema", "check", "--help")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "FILE:LINE:COL", "Examples:")
	if r.stderr != "" {
		t.Errorf("help wrote to stderr: %q", r.stderr)
	}
}

func TestSchemaCheckJSON(t *testing.T) {
	p := writeFile(t, t.TempDir(), "bad.rebac", "type doc {\n  relation owner: usr\n}\n")
	r := run(t, "schema", "check", "-o", "json", p)
	r.want(t, 1)
	var out struct {
		Files []struct {
			File        string `json:"file"`
			Valid       bool   `json:"valid"`
			Diagnostics []struct {
				Line, Column int
				Severity     string
				Message      string
			} `json:"diagnostics"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(out.Files) != 1 || out.Files[0].Valid || len(out.Files[0].Diagnostics) != 1 {
		t.Fatalf("report: %s", r.stdout)
	}
	d := out.Files[0].Diagnostics[0]
	if d.Line != 2 || d.Column != 19 || d.Severity != "error" || !strings.Contains(d.Message, "usr") {
		t.Errorf("diagnostic: %+v", d)
	}
	if r.stderr != "" {
		t.Errorf("json mode wrote to stderr: %q", r.stderr)
	}
}

// schema check reports every syntax error of a file in one run, in order.
func TestSchemaCheckReportsEverySyntaxError(t *testing.T) {
	src := "type user\ntype doc {\n  relation owner user\n  relation viewer = owner |\n}\ntype folder {\n  relation parent: folder,\n}\n"
	p := writeFile(t, t.TempDir(), "syntax.rebac", src)
	r := run(t, "schema", "check", p)
	r.want(t, 1)
	want := p + ":3:18: expected `:` or `=` after the relation name, found `user`; a relation is written `relation NAME: TYPES` (stored) or `relation NAME = EXPRESSION` (computed)\n" +
		p + ":5:1: expected a relation name or `(` after `|`, found `}`\n" +
		p + ":7:26: unexpected character `,`; separate subject types and operands with `|`\n"
	if r.stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, want)
	}
}
