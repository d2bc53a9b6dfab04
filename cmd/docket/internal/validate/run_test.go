package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot finds the module root by walking up to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// TestSeedSchemas runs every validation file shipped under schemas/.
func TestSeedSchemas(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "schemas", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no schemas/*/*.yaml validation files: the seed schemas moved or are gone")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			rep, err := Run(context.Background(), f, nil)
			if err != nil {
				t.Fatalf("%v", err)
			}
			for _, fl := range rep.Failures {
				t.Errorf("%s: %s: expected %s, got %s\n%s", fl.Pos, fl.Assertion, fl.Expected, fl.Got, fl.Explanation)
			}
			if rep.Passed == 0 {
				t.Errorf("%s: no assertions or expectations ran", f)
			}
		})
	}
}

const schemaText = `type user

type team {
  relation member: user | team#member
}

type case {
  relation assignee: user
  relation access_list: user | team#member
  relation deny_list: user
  relation public: user:*
  relation viewer = assignee | access_list | public - deny_list
}
`

func write(t *testing.T, dir, name, content string) string {
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

func TestRunPassesAndFails(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/case.rebac", schemaText)
	write(t, dir, "s/case.tuples", "case:2#public@user:*\ncase:2#deny_list@user:bob\n")
	p := write(t, dir, "s/case.yaml", `schema_file: case.rebac
tuples_file: case.tuples
assertions:
  allowed:
    - case:2#viewer@user:alice
    - case:2#viewer@user:bob   # line 6: fails
  denied:
    - case:1#viewer@user:alice
expected:
  subjects:
    case:2#viewer: [user:*, -user:bob]
    case:2#viewer@user: [user:*]    # line 12: fails, bob is excluded
  resources:
    user:alice: { case#viewer: [case:2] }
    user:bob: { case#viewer: [case:2] }   # line 15: fails
`)
	rep, err := Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 4 || len(rep.Failures) != 3 {
		t.Fatalf("passed %d, failures %+v", rep.Passed, rep.Failures)
	}
	want := []string{p + ":6", p + ":12", p + ":15"}
	for i, f := range rep.Failures {
		if f.Pos != want[i] {
			t.Errorf("failure %d at %s, want %s", i, f.Pos, want[i])
		}
	}
	f := rep.Failures[0]
	if f.Expected != "allowed" || f.Got != "denied" || !strings.Contains(f.Explanation, "case:2#deny_list@user:bob") {
		t.Errorf("assertion failure: %+v", f)
	}
	if f := rep.Failures[1]; f.Assertion != "subjects of case:2#viewer@user" || f.Expected != "[user:*]" ||
		!strings.Contains(f.Got, "-user:bob") || !strings.Contains(f.Explanation, "case:2#deny_list@user:bob") {
		t.Errorf("subjects failure: %+v", f)
	}
	if f := rep.Failures[2]; f.Assertion != "resources case#viewer of user:bob" ||
		!strings.Contains(f.Got, "missing case:2") || !strings.Contains(f.Explanation, "case:2#deny_list@user:bob") {
		t.Errorf("resources failure: %+v", f)
	}
}

func TestRunInlineSchemaErrorsPointIntoTheFile(t *testing.T) {
	p := write(t, t.TempDir(), "v.yaml", "schema: |\n  type user\n  type doc {\n    relation owner: usr\n  }\n")
	_, err := Run(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), p+":4:21: ") {
		t.Errorf("error %v, want one at %s:4:21", err, p)
	}
}

func TestRunFileErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "case.rebac", schemaText)
	for name, c := range map[string]struct {
		content string
		wants   []string
	}{
		"unknown type in tuples": {
			"schema_file: case.rebac\ntuples:\n  - kase:1#assignee@user:alice\n",
			[]string{":3:5: ", "kase"}},
		"malformed tuple": {
			"schema_file: case.rebac\ntuples:\n  - case:1#assignee user:alice\n",
			[]string{":3:"}},
		"computed relation in tuples": {
			"schema_file: case.rebac\ntuples:\n  - case:1#viewer@user:alice\n",
			[]string{":3:5: ", "computed"}},
		"unknown relation in assertion": {
			"schema_file: case.rebac\nassertions:\n  allowed:\n    - case:1#veiwer@user:alice\n",
			[]string{":4:7: ", `no relation "veiwer"`}},
		"unknown type in expected": {
			"schema_file: case.rebac\nexpected:\n  subjects:\n    case:1#viewer@usr: []\n",
			[]string{":4:5: ", `unknown type "usr"`}},
		"missing schema file": {
			"schema_file: nope.rebac\n",
			[]string{":1:14: ", "no such file", "relative to the validation file"}},
		"no schema": {
			"tuples: []\n",
			[]string{":1: no schema"}},
		"unknown key": {
			"schema_file: case.rebac\nasserts: {}\n",
			[]string{":2:1: ", `unknown key "asserts"`}},
		"yaml syntax": {
			"schema_file: case.rebac\ntuples: [a\n",
			[]string{"fix the YAML syntax"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(name, " ", "_")+".yaml", c.content)
			_, err := Run(context.Background(), p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	var e *Error
	if _, err := Run(context.Background(), filepath.Join(dir, "absent.yaml"), nil); !errors.As(err, &e) {
		t.Errorf("missing file: %v", err)
	}
}
