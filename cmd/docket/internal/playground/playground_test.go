package playground

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docketdb/docket/cmd/docket/internal/validate"
	"github.com/docketdb/docket/schemas"
)

// Every seed validation file, opened in the page and run from its panes,
// gives what `docket validate` gives on the file itself.
func TestSeedsRoundTrip(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(schemas.Files, "*/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("seed validation files: %v %v", names, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, err := validate.Run(context.Background(), filepath.Join("..", "..", "..", "..", "schemas", name), nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := example(name)
			if err != nil {
				t.Fatal(err)
			}
			c := compose(p)
			got, err := validate.RunSource(context.Background(), fileName, []byte(c.yaml), nil)
			if err != nil {
				t.Fatalf("composed file: %v\n%s", err, c.yaml)
			}
			if got.Passed != want.Passed || len(got.Failures) != len(want.Failures) || got.Passed == 0 {
				t.Errorf("panes: %d passed, %d failed; the file: %d passed, %d failed", got.Passed, len(got.Failures), want.Passed, len(want.Failures))
			}
			// Splitting the composed file gives the panes back.
			again, err := split(fileName, []byte(c.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.Schema != strings.TrimRight(p.Schema, "\n")+"\n" {
				t.Errorf("split(compose(panes)) changes the schema")
			}
			if again.Assertions != p.Assertions {
				t.Errorf("split(compose(panes)) changes the assertions:\n%s\nwant:\n%s", again.Assertions, p.Assertions)
			}
			if a, b := tupleLines(again.Tuples), tupleLines(p.Tuples); strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) == 0 {
				t.Errorf("split(compose(panes)) changes the tuples")
			}
		})
	}
}

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func post(t *testing.T, ts *httptest.Server, path string, body any, out any) int {
	t.Helper()
	data, _ := json.Marshal(body)
	res, err := http.Post(ts.URL+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	return res.StatusCode
}

const testSchema = `type user
type doc {
  relation owner: user
  relation banned: user
  relation viewer = owner - banned
}
`

// Errors are placed in the pane and on the line where they were written.
func TestProblemsInPanes(t *testing.T) {
	ts := newTestServer(t)
	var check struct {
		Diagnostics []struct {
			Range struct {
				Start struct{ Line, Character int }
			}
			Severity, Message string
		}
		Problems []Problem
	}
	post(t, ts, "/api/check", Panes{Schema: strings.Replace(testSchema, "banned: user", "banned: usr", 1)}, &check)
	if len(check.Diagnostics) != 1 || check.Diagnostics[0].Range.Start.Line != 3 || check.Diagnostics[0].Range.Start.Character != 19 ||
		check.Diagnostics[0].Message != "unknown type `usr`; did you mean `user`?" {
		t.Errorf("check of a bad schema: %+v", check.Diagnostics)
	}

	tuplesText := "doc:1#owner@user:a\n\n# a comment\ndoc:1#owner@usr:b\n"
	check.Diagnostics, check.Problems = nil, nil
	post(t, ts, "/api/check", Panes{Schema: testSchema, Tuples: tuplesText}, &check)
	if len(check.Problems) != 1 || check.Problems[0].Pane != "tuples" || check.Problems[0].Line != 4 || !strings.Contains(check.Problems[0].Message, "usr") {
		t.Errorf("check of a bad tuple: %+v", check.Problems)
	}

	var v struct {
		Problems []Problem
		Passed   int
	}
	post(t, ts, "/api/validate", Panes{Schema: testSchema, Tuples: "doc:1#owner@user:a\n",
		Assertions: "assertions:\n  allowed:\n    - doc:1#viewer@user:a\n    - doc:1#viewr@user:a\n"}, &v)
	if len(v.Problems) != 1 || v.Problems[0].Pane != "assertions" || v.Problems[0].Line != 4 || !strings.Contains(v.Problems[0].Message, `"viewr"`) {
		t.Errorf("validate with a misspelt relation: %+v", v.Problems)
	}

	post(t, ts, "/api/validate", Panes{Schema: "type user\ntype doc {\n  relation owner: usr\n}\n"}, &v)
	if len(v.Problems) != 1 || v.Problems[0].Where != (Where{Pane: "schema", Line: 3, Column: 19}) {
		t.Errorf("validate with a bad schema: %+v", v.Problems)
	}
}

func TestValidateExplainExpand(t *testing.T) {
	ts := newTestServer(t)
	p := Panes{Schema: testSchema, Tuples: "doc:1#owner@user:a\ndoc:1#owner@user:b\ndoc:1#banned@user:b\n",
		Assertions: "assertions:\n  allowed:\n    - doc:1#viewer@user:a\n    - doc:1#viewer@user:b\n  denied:\n    - doc:1#viewer@user:c\n"}
	var v struct {
		Passed, Failed int
		Failures       []Failure
		Assertions     []assertionItem
	}
	post(t, ts, "/api/validate", p, &v)
	if v.Passed != 2 || v.Failed != 1 || v.Failures[0].Line != 4 || len(v.Assertions) != 3 || v.Assertions[2].Line != 6 {
		t.Errorf("validate: %+v", v)
	}

	var e struct {
		Allowed     bool
		Text        string
		Explanation struct {
			Denial *struct{ Node, Reason string }
		}
	}
	post(t, ts, "/api/explain", map[string]any{"schema": p.Schema, "tuples": p.Tuples, "query": "doc:1#viewer@user:b"}, &e)
	if e.Allowed || e.Explanation.Denial == nil || !strings.Contains(e.Text, "denied") {
		t.Errorf("explain of a banned owner: %+v", e)
	}

	var x struct {
		Tree struct {
			Kind     string
			Children []json.RawMessage
		}
		Error string
	}
	post(t, ts, "/api/expand", map[string]any{"schema": p.Schema, "tuples": p.Tuples, "target": "doc:1#viewer", "depth": 1}, &x)
	if x.Tree.Kind != "exclusion" || len(x.Tree.Children) != 2 {
		t.Errorf("expand doc:1#viewer: %+v", x)
	}
	if code := post(t, ts, "/api/expand", map[string]any{"schema": p.Schema, "target": "doc:1"}, &x); code != http.StatusBadRequest || !strings.Contains(x.Error, "OBJECT#RELATION") {
		t.Errorf("expand without a relation: %d %q", code, x.Error)
	}
}

func TestUploadNeedsInlineParts(t *testing.T) {
	ts := newTestServer(t)
	var out struct{ Error string }
	code := post(t, ts, "/api/split", map[string]string{"name": "mine.yaml", "yaml": "schema_file: x.rebac\ntuples: []\n"}, &out)
	if code != http.StatusBadRequest || !strings.Contains(out.Error, "put the schema in the file itself") {
		t.Errorf("split of a file naming schema_file: %d %q", code, out.Error)
	}
}

// A file given on the command line is opened with the files it names.
func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.rebac"), []byte(testSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v.yaml"), []byte("# mine\nschema_file: s.rebac\ntuples:\n  - doc:1#owner@user:a\nassertions:\n  allowed: [doc:1#viewer@user:a]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(filepath.Join(dir, "v.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.initial.Schema != testSchema || s.initial.Tuples != "doc:1#owner@user:a\n" || s.initial.Assertions != "# mine\nassertions:\n  allowed: [doc:1#viewer@user:a]\n" {
		t.Errorf("panes: %+v", s.initial)
	}
	if _, err := New(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing file: %v", err)
	}
}

// Only this machine's pages may call the playground.
func TestRefusesOtherHostsAndOrigins(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://evil.example/api/initial", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("request for another host: %d", rec.Code)
	}
	req = httptest.NewRequest("POST", "http://127.0.0.1:7071/api/check", strings.NewReader(`{"schema":"type user"}`))
	req.Header.Set("Origin", "http://evil.example")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", rec.Code)
	}
	req = httptest.NewRequest("GET", "http://localhost:7071/", nil)
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Docket playground") {
		t.Errorf("the page: %d", rec.Code)
	}
}

// tupleLines lists the tuples of a pane, without comments and blank lines.
func tupleLines(pane string) []string {
	var out []string
	for _, l := range strings.Split(pane, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "//") {
			out = append(out, l)
		}
	}
	return out
}

// A tuple that YAML would read differently as a plain scalar is quoted in
// the composed file and reads back as written.
func TestComposeQuotesTuples(t *testing.T) {
	tuplesText := "doc:1#owner@user:a\ndoc:1#owner@user:b[c:{\"x\": 1, \"y\": [2]}]\ndoc:2#owner@user:&x\n"
	c := compose(&Panes{Schema: "type user\n", Tuples: tuplesText})
	p, err := split(fileName, []byte(c.yaml), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, c.yaml)
	}
	if p.Tuples != tuplesText {
		t.Errorf("tuples read back as:\n%s\nwant:\n%s\ncomposed:\n%s", p.Tuples, tuplesText, c.yaml)
	}
	if !strings.Contains(c.yaml, "  - doc:1#owner@user:a\n") {
		t.Errorf("a plain tuple is quoted:\n%s", c.yaml)
	}
}
