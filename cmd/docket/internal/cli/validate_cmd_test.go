package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "case.rebac", testSchema)
	pass := writeFile(t, dir, "pass.yaml", `schema_file: case.rebac
tuples:
  - case:1#assignee@user:alice
assertions:
  allowed:
    - case:1#viewer@user:alice
  denied:
    - case:1#viewer@user:bob
expected:
  subjects:
    case:1#viewer: [user:alice]
  resources:
    user:alice: { case#viewer: [case:1] }
`)
	r := run(t, "validate", pass)
	r.want(t, 0)
	if r.stdout != "4 passed, 0 failed\n" {
		t.Errorf("validate printed %q", r.stdout)
	}

	fail := writeFile(t, dir, "fail.yaml", `schema_file: case.rebac
tuples:
  - case:1#assignee@user:alice
  - case:1#deny_list@user:alice
assertions:
  allowed:
    - case:1#viewer@user:alice
`)
	r = run(t, "validate", pass, fail)
	r.want(t, 1)
	contains(t, "stdout", r.stdout,
		fail+":7: FAIL allowed: case:1#viewer@user:alice\n  expected allowed, got denied\n",
		"case:1#deny_list@user:alice",
		"4 passed, 1 failed\n")

	broken := writeFile(t, dir, "broken.yaml", "schema_file: case.rebac\ntuples:\n  - case:1#assignee@usr:alice\n")
	r = run(t, "validate", pass, broken)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: "+broken+":3:5: ", "usr")
	contains(t, "stdout", r.stdout, "4 passed, 0 failed, 1 file with errors")

	r = run(t, "validate", "absent.yaml")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: absent.yaml: no such file; check the path")
	lacks(t, "stderr", r.stderr, "Usage:")
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("want one error line: %q", r.stderr)
	}
}

func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "case.rebac", testSchema)
	p := writeFile(t, dir, "v.yaml", "schema_file: case.rebac\nassertions:\n  allowed:\n    - case:1#viewer@user:alice\n")
	r := run(t, "validate", "-o", "json", p)
	r.want(t, 1)
	var out struct {
		Passed, Failed int
		Files          []struct {
			File     string `json:"file"`
			Failures []struct {
				Pos      string `json:"pos"`
				Expected string `json:"expected"`
				Got      string `json:"got"`
			} `json:"failures"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if out.Failed != 1 || len(out.Files) != 1 || len(out.Files[0].Failures) != 1 ||
		out.Files[0].Failures[0].Pos != p+":4" || out.Files[0].Failures[0].Got != "denied" {
		t.Errorf("json report: %s", r.stdout)
	}
}

func TestValidateOnBadger(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "case.rebac", testSchema)
	pass := writeFile(t, dir, "pass.yaml", `schema_file: case.rebac
tuples:
  - case:1#assignee@user:alice
  - case:1#deny_list@user:bob
assertions:
  allowed:
    - case:1#viewer@user:alice
  denied:
    - case:1#viewer@user:bob
`)
	// Each file gets its own temporary database, removed afterwards.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := run(t, "validate", "--store", "badger", pass, pass)
	r.want(t, 0)
	if r.stdout != "4 passed, 0 failed\n" {
		t.Errorf("validate printed %q", r.stdout)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary databases left behind: %v", left)
	}

	r = run(t, "validate", "--store", "disk", pass)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `invalid argument "disk" for "--store" flag: must be memory or badger`, "Usage:")
}
