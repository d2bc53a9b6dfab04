package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's quick start is run as written, so that it cannot drift from
// what the binary does. Its conventions, which the README states:
//   - the first ```sh block after "## Quick start" holds the commands;
//   - `cat > FILE <<'EOF'` ... `EOF` writes a file;
//   - every other line is one command, run from an empty directory with
//     `go run ./cmd/docket` replaced by the freshly built binary;
//   - a command's trailing comment says what it prints: the parts before
//     any ";" separated by ", " must each appear in its output, and
//     "exit status N" gives its exit status (0 when absent).

// step is one command of the quick start.
type step struct {
	line       int // in README.md
	script     string
	wantOutput []string
	wantStatus int
}

const (
	goRun      = "go run ./cmd/docket"
	mainJobTag = "# the main job"
	testTag    = "# the tests"
)

// TestReadme runs the README's quick start and keeps the two commands at
// its top true: the main job runs and passes, and the test command is the
// one CI runs.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the docket binary")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the README's shell commands")
	}
	readme, root := readReadme(t)
	bin := buildDocket(t)

	t.Run("quick start", func(t *testing.T) {
		steps, err := quickStart(readme)
		if err != nil {
			t.Fatalf("README.md: %v", err)
		}
		dir := t.TempDir()
		for _, s := range steps {
			script := strings.ReplaceAll(s.script, goRun, shellQuote(bin))
			out, status := runShell(t, bash, dir, script)
			if status != s.wantStatus {
				t.Fatalf("README.md:%d: exit status %d, want %d\n%s\noutput:\n%s", s.line, status, s.wantStatus, s.script, out)
			}
			for _, w := range s.wantOutput {
				if !strings.Contains(out, w) {
					t.Errorf("README.md:%d: output lacks %q\n%s\noutput:\n%s", s.line, w, s.script, out)
				}
			}
		}
	})

	t.Run("headline commands", func(t *testing.T) {
		mainJob := headline(t, readme, mainJobTag)
		testCmd := headline(t, readme, testTag)
		if !strings.HasPrefix(mainJob, goRun+" ") {
			t.Fatalf("README.md: main job %q does not run %s", mainJob, goRun)
		}
		ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(testCmd) + `$`).Match(ci) {
			t.Errorf(".ci/run does not run the README's test command %q", testCmd)
		}
		out, status := runShell(t, bash, root, strings.Replace(mainJob, goRun, shellQuote(bin), 1))
		if status != 0 {
			t.Fatalf("main job %q: exit status %d\n%s", mainJob, status, out)
		}
		if !regexp.MustCompile(`(?m)^[1-9][0-9]* passed, 0 failed$`).MatchString(out) {
			t.Errorf("main job %q: want a summary with passes and no failures, got:\n%s", mainJob, out)
		}
	})
}

func readReadme(t *testing.T) (text, root string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), root
}

// headline finds the indented command tagged with tag near the top.
func headline(t *testing.T, readme, tag string) string {
	t.Helper()
	for _, l := range strings.Split(readme, "\n") {
		if strings.HasPrefix(l, "    ") {
			if cmd, _, ok := strings.Cut(l, tag); ok {
				return strings.TrimSpace(cmd)
			}
		}
	}
	t.Fatalf("README.md: no indented command tagged %q", tag)
	return ""
}

// trailingComment splits a command from its comment. A "#" starts a
// comment only after a space: inside a tuple (case:1#viewer) it does not.
var trailingComment = regexp.MustCompile(`\s+#\s`)

var exitStatusNote = regexp.MustCompile(`^exit status (\d+)$`)

// quickStart extracts the steps of the README's quick start.
func quickStart(readme string) ([]step, error) {
	lines := strings.Split(readme, "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "## Quick start") {
		i++
	}
	for i < len(lines) && lines[i] != "```sh" {
		i++
	}
	if i == len(lines) {
		return nil, errors.New("no ```sh block after a \"## Quick start\" heading")
	}
	var steps []step
	for i++; i < len(lines) && lines[i] != "```"; i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		s := step{line: i + 1}
		if strings.HasSuffix(l, "<<'EOF'") {
			start := i
			for i++; i < len(lines) && lines[i] != "EOF"; i++ {
			}
			if i == len(lines) {
				return nil, errors.New("line " + strconv.Itoa(start+1) + ": here-document without EOF")
			}
			s.script = strings.Join(lines[start:i+1], "\n") + "\n"
			steps = append(steps, s)
			continue
		}
		cmd, comment := l, ""
		if loc := trailingComment.FindStringIndex(l); loc != nil {
			cmd, comment = l[:loc[0]], l[loc[1]:]
		}
		s.script = cmd
		want, notes, _ := strings.Cut(comment, ";")
		for _, n := range strings.Split(notes, ";") {
			if m := exitStatusNote.FindStringSubmatch(strings.TrimSpace(n)); m != nil {
				s.wantStatus, _ = strconv.Atoi(m[1])
			}
		}
		for _, w := range strings.Split(want, ", ") {
			if w = strings.TrimSpace(w); w != "" {
				s.wantOutput = append(s.wantOutput, w)
			}
		}
		steps = append(steps, s)
	}
	if i == len(lines) {
		return nil, errors.New("quick start block is not closed with ```")
	}
	if len(steps) == 0 {
		return nil, errors.New("quick start block is empty")
	}
	return steps, nil
}

// buildDocket builds the command into a temporary directory.
func buildDocket(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "docket")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runShell runs script with bash in dir, with a clean DOCKET_DB so the
// default ./docket.db is used, and returns its combined output and status.
func runShell(t *testing.T, bash, dir, script string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKET_DB=", "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	}
	t.Fatalf("run %q: %v", script, err)
	return "", 0
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
