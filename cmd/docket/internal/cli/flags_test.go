package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFlagsAndOutputHardening(t *testing.T) {
	f := newFixture(t)
	for _, depth := range []string{"0", "-3"} {
		r := f.run("check", "--max-depth", depth, "case:1#viewer@user:alice")
		r.want(t, 2)
		contains(t, "--max-depth "+depth, r.stderr, `invalid argument "`+depth+`" for "--max-depth" flag: must be a whole number of at least 1`)
	}
	f.run("check", "--max-depth", "3", "case:1#viewer@user:alice").want(t, 0)

	// A misspelt command is one line, with the suggestion.
	r := f.run("chek", "case:1#viewer@user:alice")
	r.want(t, 2)
	if r.stderr != "error: unknown command \"chek\" for \"docket\"; did you mean \"check\"?\n" {
		t.Errorf("misspelt command printed %q", r.stderr)
	}

	// With -o json, an error is a JSON object on stderr.
	r = f.run("-o", "json", "check", "case:1#viewr@user:alice")
	r.want(t, 2)
	var e struct {
		Error      string   `json:"error"`
		Errors     []string `json:"errors"`
		ExitStatus int      `json:"exit_status"`
	}
	if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || !strings.Contains(e.Error, `did you mean "viewer"?`) || e.ExitStatus != 2 || len(e.Errors) != 1 {
		t.Errorf("json error %q: %v", r.stderr, err)
	}

	// Every JSON answer from the store says at which revision.
	r = f.run("-o", "json", "tuple", "trim-changes", "--before", "2")
	r.want(t, 0)
	contains(t, "trim-changes json", r.stdout, `"revision": 3`)
}
