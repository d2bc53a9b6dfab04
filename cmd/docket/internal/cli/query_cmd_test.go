package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckAllowedAndDenied(t *testing.T) {
	f := newFixture(t)
	r := f.run("check", "case:1#viewer@user:bob")
	r.want(t, 0)
	if r.stdout != "allowed\n" {
		t.Errorf("check printed %q", r.stdout)
	}
	r = f.run("check", "case:1#viewer@user:mallory")
	r.want(t, 1)
	if r.stdout != "denied\n" || r.stderr != "" {
		t.Errorf("check printed %q / %q", r.stdout, r.stderr)
	}
	r = f.run("check", "case:1#viewer@user:alice", "case:1#editor@user:bob")
	r.want(t, 1)
	if r.stdout != "case:1#viewer@user:alice allowed\ncase:1#editor@user:bob denied\n" {
		t.Errorf("batch check printed %q", r.stdout)
	}
	// A subject set and a wildcard as subjects.
	f.run("check", "case:1#viewer@team:east#member").want(t, 0)
	f.run("check", "case:2#viewer@user:*").want(t, 0)
}

func TestCheckExplain(t *testing.T) {
	f := newFixture(t)
	r := f.run("check", "--explain", "case:1#viewer@user:mallory")
	r.want(t, 1)
	contains(t, "stdout", r.stdout, "denied\n  case:1#viewer@user:mallory denied", "case:1#deny_list@user:mallory")
	r = f.run("check", "--explain", "case:1#viewer@user:bob")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "allowed\n  case:1#viewer@user:bob allowed", "team:east#member@user:bob")
}

func TestCheckJSON(t *testing.T) {
	f := newFixture(t)
	r := f.run("check", "-o", "json", "--explain", "case:1#viewer@user:alice", "case:1#viewer@user:mallory")
	r.want(t, 1)
	var out struct {
		Revision int `json:"revision"`
		Results  []struct {
			Query       string          `json:"query"`
			Allowed     bool            `json:"allowed"`
			Explanation json.RawMessage `json:"explanation"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(out.Results) != 2 || !out.Results[0].Allowed || out.Results[1].Allowed || len(out.Results[1].Explanation) == 0 {
		t.Errorf("json results: %s", r.stdout)
	}
}

func TestCheckWithContextualTuples(t *testing.T) {
	f := newFixture(t)
	f.run("check", "case:1#viewer@user:carol").want(t, 1)
	f.run("check", "case:1#viewer@user:carol", "--with", "case:1#assignee@user:carol").want(t, 0)
	// Never written.
	f.run("check", "case:1#viewer@user:carol").want(t, 1)
	r := f.run("check", "case:1#viewer@user:carol", "--with", "case:1#viewer@user:carol")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--with", "computed")
}

func TestCheckAtRevision(t *testing.T) {
	f := newFixture(t)
	f.run("tuple", "delete", "case:1#assignee@user:alice").want(t, 0)
	f.run("check", "case:1#viewer@user:alice").want(t, 1)
	f.run("check", "case:1#viewer@user:alice", "--at", "2").want(t, 0)
	r := f.run("check", "case:1#viewer@user:alice", "--at", "two")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `invalid argument "two"`, "Usage:")
}

func TestCheckBadInput(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"check", "kase:1#viewer@user:alice"}, []string{`unknown type "kase"; did you mean "case"? (types in the schema: user, team, case)`}},
		{[]string{"check", "case:1#veiwer@user:alice"}, []string{`type case has no relation "veiwer"; did you mean "viewer"? (relations of case:`}},
		{[]string{"check", "case:1#viewer@usr:alice"}, []string{`unknown type "usr"; did you mean "user"?`}},
		{[]string{"check", "case:1#viewer@user:alice#zzzzzz"}, []string{`error: argument 1 "case:1#viewer@user:alice#zzzzzz": type user has no relation "zzzzzz"; it declares none`}},
		{[]string{"check", "case:1#viewer"}, []string{"error: argument 1 \"case:1#viewer\": column 14: missing `@subject` after the relation; write object#relation@subject\n"}},
		{[]string{"check", "--with", "case:1#deny_list", "case:1#viewer@user:alice"}, []string{"error: --with \"case:1#deny_list\": column 17: missing `@subject`"}},
		{[]string{"check", "--at", "99", "case:1#viewer@user:alice"}, []string{"error: revision 99 is not written yet; the latest is 2; use 0 for the latest\n"}},
	} {
		r := f.run(c.args...)
		r.want(t, 2)
		contains(t, strings.Join(c.args, " "), r.stderr, c.wants...)
		if n := strings.Count(r.stderr, "\n"); n != 1 {
			t.Errorf("%v: want one error line, got:\n%s", c.args, r.stderr)
		}
	}
	r := f.run("check")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "requires at least 1 check, -f FILE, or - for standard input", "Usage:\n  docket check")
}

func TestCheckDepthExceeded(t *testing.T) {
	f := newFixture(t)
	// A chain of nested teams deeper than the limit.
	args := []string{"tuple", "write", "case:9#access_list@team:t0#member"}
	for i := 0; i < 8; i++ {
		args = append(args, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	args = append(args, "team:t8#member@user:deep")
	f.run(args...).want(t, 0)
	f.run("check", "case:9#viewer@user:deep").want(t, 0)
	r := f.run("check", "--max-depth", "4", "case:9#viewer@user:deep")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: ", "depth limit 4 exceeded", "raise --max-depth")
	lacks(t, "stderr", r.stderr, "denied", "Usage:")
}

func TestExpand(t *testing.T) {
	f := newFixture(t)
	r := f.run("expand", "case:1#access_list")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "team:east#member  [case:1#access_list]")
	lacks(t, "stdout", r.stdout, "user:bob")

	r = f.run("expand", "case:1#access_list", "--depth", "2")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "team:east#member", "user:bob", "user:mallory")

	r = f.run("expand", "case:1#viewer", "-o", "dot")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "digraph userset {", "exclusion case:1#viewer")

	r = f.run("expand", "case:1#viewer", "-o", "json")
	r.want(t, 0)
	var tree struct {
		Kind     string `json:"kind"`
		Revision int    `json:"revision"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tree); err != nil || tree.Kind != "exclusion" || tree.Revision == 0 {
		t.Errorf("json tree: %v %s", err, r.stdout)
	}

	// Contextual tuples show in the tree, once, and are not written.
	r = f.run("expand", "case:1#access_list", "--with", "case:1#access_list@user:carol", "--with", "case:1#access_list@team:east#member")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "user:carol  [case:1#access_list]")
	if n := strings.Count(r.stdout, "team:east#member  [case:1#access_list]"); n != 1 {
		t.Errorf("a tuple both stored and contextual shows %d times:\n%s", n, r.stdout)
	}
	lacks(t, "expand after --with", f.run("expand", "case:1#access_list").stdout, "carol")
	r = f.run("expand", "case:1#access_list", "--with", "case:1#access_list@usr:carol")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--with: ", `"usr"`)

	r = f.run("expand", "case:1#viewer", "-o", "svg")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "must be one of tree, json, dot")
	r = f.run("expand", "case:1#watcher")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `type case has no relation "watcher"`)
	r = f.run("expand", "case:1")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "is not OBJECT#RELATION")
}

func TestLookupResources(t *testing.T) {
	f := newFixture(t)
	r := f.run("lookup", "resources", "user:bob", "case#viewer")
	r.want(t, 0)
	if r.stdout != "case:1\n" {
		t.Errorf("lookup printed %q", r.stdout)
	}
	// Wildcards count: everyone but the deny-listed sees case 2.
	r = f.run("lookup", "resources", "user:carol", "case#viewer")
	r.want(t, 0)
	if r.stdout != "case:2\n" {
		t.Errorf("lookup printed %q", r.stdout)
	}
	r = f.run("lookup", "resources", "user:alice", "case#viewer", "--limit", "1")
	r.want(t, 0)
	if r.stdout != "case:1\n" {
		t.Errorf("limited lookup printed %q", r.stdout)
	}
	_, cursor, ok := strings.Cut(r.stderr, "--cursor ")
	if !ok {
		t.Fatalf("truncated lookup did not print a cursor: %q", r.stderr)
	}
	r = f.run("lookup", "resources", "user:alice", "case#viewer", "--limit", "1", "--cursor", strings.TrimSpace(cursor))
	r.want(t, 0)
	if r.stdout != "case:2\n" {
		t.Errorf("second page printed %q", r.stdout)
	}

	r = f.run("lookup", "resources", "user:alice", "case#viewer", "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"resources": [`, `"case:1"`, `"case:2"`)

	r = f.run("lookup", "resources", "user:alice", "kase#viewer")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `unknown type "kase"`)
	r = f.run("lookup", "resources", "user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "accepts 2 arg(s)", "Usage:")
}

func TestLookupSubjects(t *testing.T) {
	f := newFixture(t)
	r := f.run("lookup", "subjects", "case:1#viewer")
	r.want(t, 0)
	if r.stdout != "user:alice\nuser:bob\n" {
		t.Errorf("lookup subjects printed %q", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:2#viewer", "--type", "user")
	r.want(t, 0)
	if r.stdout != "user:* - {user:bob}\n" {
		t.Errorf("wildcard lookup printed %q", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:1#viewer", "--type", "team#member")
	r.want(t, 0)
	if r.stdout != "team:east#member\n" {
		t.Errorf("subject set lookup printed %q", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:2#viewer", "-o", "json")
	r.want(t, 0)
	var got struct {
		Revision uint64 `json:"revision"`
		Subjects []struct {
			Subject  string   `json:"subject"`
			Excluded []string `json:"excluded"`
		} `json:"subjects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("lookup subjects -o json: %v\n%s", err, r.stdout)
	}
	if len(got.Subjects) != 1 || got.Subjects[0].Subject != "user:*" ||
		!slices.Equal(got.Subjects[0].Excluded, []string{"user:bob"}) || got.Revision == 0 {
		t.Errorf("lookup subjects -o json printed %s", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:1#viewer", "--type", "team#boss")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `type team has no relation "boss"`)
}

func TestLookupDepthExceeded(t *testing.T) {
	f := newFixture(t)
	args := []string{"tuple", "write", "case:9#access_list@team:t0#member"}
	for i := 0; i < 8; i++ {
		args = append(args, fmt.Sprintf("team:t%d#member@team:t%d#member", i, i+1))
	}
	args = append(args, "team:t8#member@user:deep")
	f.run(args...).want(t, 0)
	r := f.run("lookup", "subjects", "case:9#viewer", "--max-depth", "4")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "depth limit 4 exceeded")
	r = f.run("lookup", "resources", "user:deep", "case#viewer", "--max-depth", "4")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "depth limit 4 exceeded")
}

func TestShellCompletionFromSchema(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"__complete", "check", ""}, []string{"user:\n", "team:\n", "case:\n", ":6\n"}},
		{[]string{"__complete", "check", "case:1#"}, []string{"case:1#viewer@\n", "case:1#assignee@\n"}},
		{[]string{"__complete", "check", "case:1#viewer@team:east#"}, []string{"case:1#viewer@team:east#member\n"}},
		{[]string{"__complete", "lookup", "resources", "user:bob", "case#"}, []string{"case#viewer\n", ":4\n"}},
		{[]string{"__complete", "expand", "team:x#"}, []string{"team:x#member\n"}},
		{[]string{"__complete", "--output", ""}, []string{"text\n", "json\n"}},
	} {
		r := f.run(c.args...)
		r.want(t, 0)
		contains(t, strings.Join(c.args, " "), r.stdout, c.wants...)
	}
}

func TestCheckFromFile(t *testing.T) {
	f := newFixture(t)
	checks := writeFile(t, f.dir, "audit.checks", `// nightly audit
case:1#viewer@user:alice
  case:1#viewer@user:mallory   // on the deny list

case:2#viewer@user:carol
`)
	r := f.run("check", "-f", checks)
	r.want(t, 1)
	want := "case:1#viewer@user:alice allowed\ncase:1#viewer@user:mallory denied\ncase:2#viewer@user:carol allowed\n"
	if r.stdout != want {
		t.Errorf("check -f printed %q, want %q", r.stdout, want)
	}

	r = f.runIn("case:1#viewer@user:alice\n", "check", "-")
	r.want(t, 0)
	if r.stdout != "case:1#viewer@user:alice allowed\n" {
		t.Errorf("check - printed %q", r.stdout)
	}

	// Every bad line is reported with its position, and nothing is answered.
	bad := writeFile(t, f.dir, "bad.checks", "case:1#viewer@user:alice\n  case:1#viewer\ncase:1#veiwer@user:bob\n")
	r = f.run("check", "-f", bad)
	r.want(t, 2)
	contains(t, "stderr", r.stderr,
		"error: "+bad+":2:16: missing `@subject` after the relation; write object#relation@subject\n",
		"error: "+bad+":3:1: type case has no relation \"veiwer\"; did you mean \"viewer\"?")
	if r.stdout != "" {
		t.Errorf("bad file answered checks: %q", r.stdout)
	}

	empty := writeFile(t, f.dir, "empty.checks", "// nothing yet\n")
	r = f.run("check", "-f", empty)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: "+empty+": no checks in the file")

	r = f.run("check", "-f", filepath.Join(f.dir, "absent.checks"))
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "absent.checks: no such file")

	r = f.run("check", "-f", checks, "case:1#viewer@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "give either checks as arguments or -f", "Usage:")
}

func TestLookupWithContextualTuples(t *testing.T) {
	f := newFixture(t)
	r := f.run("lookup", "resources", "user:carol", "case#viewer", "--with", "case:9#assignee@user:carol")
	r.want(t, 0)
	if r.stdout != "case:2\ncase:9\n" {
		t.Errorf("lookup resources --with printed %q", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:1#viewer", "--type", "user", "--with", "case:1#deny_list@user:bob")
	r.want(t, 0)
	if r.stdout != "user:alice\n" {
		t.Errorf("lookup subjects --with printed %q", r.stdout)
	}
	// Nothing was written.
	r = f.run("lookup", "subjects", "case:1#viewer", "--type", "user")
	if r.stdout != "user:alice\nuser:bob\n" {
		t.Errorf("lookup subjects after --with printed %q", r.stdout)
	}
	r = f.run("lookup", "subjects", "case:1#viewer", "--with", "case:1#viewer@user:bob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--with: ", "computed")
}
