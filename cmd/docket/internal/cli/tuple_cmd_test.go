package cli

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestTupleWriteAndRead(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "write", "case:3#assignee@user:ana@example.org", "case:3#public@user:*")
	r.want(t, 0)
	if r.stdout != "wrote 2 tuples at revision 3\n" {
		t.Errorf("write printed %q", r.stdout)
	}
	// Writing again is harmless; the summary says what was already there.
	r = f.run("tuple", "write", "case:3#public@user:*", "case:3#public@user:*", "case:3#deny_list@user:carol")
	r.want(t, 0)
	if r.stdout != "wrote 2 tuples at revision 4 (1 already stored)\n" {
		t.Errorf("second write printed %q", r.stdout)
	}
	r = f.run("tuple", "read", "case:3")
	r.want(t, 0)
	if r.stdout != "case:3#assignee@user:ana@example.org\ncase:3#deny_list@user:carol\ncase:3#public@user:*\n" {
		t.Errorf("read printed %q", r.stdout)
	}
	r = f.run("tuple", "read", "case#deny_list@user:bob")
	r.want(t, 0)
	if r.stdout != "case:2#deny_list@user:bob\n" {
		t.Errorf("partial tuple read printed %q", r.stdout)
	}
	r = f.run("tuple", "read", "--subject-type", "team", "-o", "json")
	r.want(t, 0)
	var out struct {
		Tuples []jsonTuple `json:"tuples"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Tuples) != 1 ||
		!reflect.DeepEqual(out.Tuples[0], jsonTuple{Object: "case:1", Relation: "access_list", Subject: "team:east#member"}) {
		t.Errorf("json read: %v %s", err, r.stdout)
	}
}

func TestTupleReadPagesWithCursor(t *testing.T) {
	f := newFixture(t)
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		args := []string{"tuple", "read", "--limit", "3"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		r := f.run(args...)
		r.want(t, 0)
		seen = append(seen, strings.Fields(r.stdout)...)
		_, after, ok := strings.Cut(r.stderr, "--cursor ")
		if !ok {
			break
		}
		cursor = strings.TrimSpace(after)
	}
	if len(seen) != 7 {
		t.Errorf("paged read saw %d tuples, want 7: %v", len(seen), seen)
	}
}

func TestTupleWriteFromFileAndStdin(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "more.tuples", "// more cases\ncase:5#assignee@user:zoe\n\ncase:6#assignee@user:zoe\n")
	f.run("tuple", "write", "-f", p).want(t, 0)
	r := f.runIn(`{"object":"case:7","relation":"assignee","subject":"user:zoe"}`+"\n", "tuple", "write", "--format", "jsonl", "-")
	r.want(t, 0)
	r = f.run("lookup", "resources", "user:zoe", "case#viewer")
	r.want(t, 0)
	if r.stdout != "case:2\ncase:5\ncase:6\ncase:7\n" {
		t.Errorf("lookup after file writes printed %q", r.stdout)
	}
}

func TestTupleWriteMalformed(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "write", "case:9#assignee@user:zed", "case:9#assignee-user:zed")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `argument 2 "case:9#assignee-user:zed": column 25: missing `+"`@subject`"+` after the relation; write object#relation@subject`)
	lacks(t, "stderr", r.stderr, "Usage:")
	// Nothing of the request was written.
	if out := f.run("tuple", "read", "case:9").stdout; out != "" {
		t.Errorf("partial write: %q", out)
	}
}

func TestTupleWriteUnknownType(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "write", "kase:1#assignee@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "kase:1#assignee@user:alice", "kase")
}

func TestTupleWriteComputedRelation(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "write", "case:1#viewer@user:zed", "case:1#assignee@user:zed")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "case:1#viewer@user:zed", "computed")
	lacks(t, "stderr", r.stderr, "case:1#assignee@user:zed")
	if out := f.run("tuple", "read", "case:1#assignee@user:zed").stdout; out != "" {
		t.Errorf("partial write: %q", out)
	}
}

func TestTupleWriteFileErrorsNameLines(t *testing.T) {
	f := newFixture(t)
	// Syntax is checked first, every line; then the tuples against the schema.
	p := writeFile(t, f.dir, "bad.tuples", "case:5#assignee@user:zoe\ncase:5 assignee\ncase:5#assignee@usr:zoe\ncase:5#x@\n")
	r := f.run("tuple", "import", p)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: "+p+":2:7: ", "error: "+p+":4:")
	p = writeFile(t, f.dir, "bad2.tuples", "case:5#assignee@user:zoe\ncase:5#viewer@user:zoe\n")
	r = f.run("tuple", "write", "-f", p)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: "+p+":2", "computed")
	if out := f.run("tuple", "read", "case:5").stdout; out != "" {
		t.Errorf("partial import: %q", out)
	}
}

func TestTupleWriteMissingFile(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "import", "nope.tuples")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "error: nope.tuples: no such file; check the path")
}

func TestTupleWriteNeedsInput(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "write")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "nothing to write")
}

func TestTupleDelete(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "delete", "case:1#deny_list@user:mallory")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "deleted 1 tuple at revision 3")
	f.run("check", "case:1#viewer@user:mallory").want(t, 0)

	r = f.run("tuple", "delete", "--object-type", "team")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "deleted 2 tuples at revision 4")

	r = f.run("tuple", "delete", "--filter", "case:2#deny_list")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "deleted 1 tuple at revision 5")
	f.run("check", "case:2#viewer@user:bob").want(t, 0)

	// A tuple that is not stored is named on stderr and not counted; one
	// named twice counts once; with nothing to delete, no revision is made.
	r = f.run("tuple", "delete", "case:2#public@user:*", "case:2#public@user:*", "case:2#assignee@user:zed")
	r.want(t, 0)
	if r.stdout != "deleted 1 tuple at revision 6 (1 not stored)\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	if r.stderr != "warning: case:2#assignee@user:zed is not stored; nothing to delete\n" {
		t.Errorf("delete warned %q", r.stderr)
	}
	r = f.run("tuple", "delete", "case:2#assignee@user:zed", "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"deleted": 0`, `"not_stored": 1`, `"revision": 6`)

	// A tuple the schema could never hold is a typo, and nothing is deleted.
	r = f.run("tuple", "delete", "case:1#assignee@user:alice", "case:1#asignee@user:alice")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "nothing deleted: ", `"asignee"`)
	f.run("check", "case:1#viewer@user:alice").want(t, 0)

	r = f.run("tuple", "delete")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "nothing to delete")
	r = f.run("tuple", "delete", "--filter", "case:2", "case:2#public@user:*")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "both tuple arguments and a filter")
}

func TestTupleImportAndExport(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "export")
	r.want(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 7 {
		t.Fatalf("export printed %d lines:\n%s", len(lines), r.stdout)
	}
	jsonl := f.run("tuple", "export", "--format", "jsonl").stdout
	p := writeFile(t, f.dir, "backup.jsonl", jsonl)

	g := newFixture(t)
	g.run("tuple", "delete", "--object-type", "case").want(t, 0)
	r = g.run("tuple", "import", p)
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "imported 7 tuples at revision")
	if r.stderr != "" {
		t.Errorf("import drew progress when stdout is not a terminal: %q", r.stderr)
	}
	if got := g.run("tuple", "export").stdout; got != f.run("tuple", "export").stdout {
		t.Errorf("round trip differs:\n%s", got)
	}
}

func TestTupleImportProgressOnTerminal(t *testing.T) {
	f := newFixture(t)
	p := writeFile(t, f.dir, "more.tuples", "case:5#assignee@user:zoe\ncase:6#assignee@user:zoe\n")
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" }, shared: f.store,
		isTerminal: func(io.Writer) bool { return true }}
	if code := e.run(t.Context(), []string{"tuple", "import", p}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	contains(t, "stderr", errb.String(), "reading")

	errb.Reset()
	if code := e.run(t.Context(), []string{"tuple", "import", "--quiet", p}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if errb.String() != "" {
		t.Errorf("--quiet drew progress: %q", errb.String())
	}
}

func TestTupleChanges(t *testing.T) {
	f := newFixture(t)                                                // schema at 1, seven tuples at 2
	f.run("tuple", "delete", "case:1#assignee@user:alice").want(t, 0) // 3
	f.run("tuple", "write", "case:3#assignee@user:carol").want(t, 0)  // 4
	f.run("tuple", "write", "case:3#deny_list@user:carol").want(t, 0) // 5

	r := f.run("tuple", "changes", "--since", "2")
	r.want(t, 0)
	want := "3 delete case:1#assignee@user:alice\n4 write case:3#assignee@user:carol\n5 write case:3#deny_list@user:carol\n"
	if r.stdout != want {
		t.Errorf("changes --since 2 printed %q, want %q", r.stdout, want)
	}

	// A limit cuts at a revision boundary and says where to go on.
	r = f.run("tuple", "changes", "--limit", "1")
	r.want(t, 0)
	if n := strings.Count(r.stdout, "\n"); n != 7 || !strings.HasPrefix(r.stdout, "2 write ") {
		t.Errorf("changes --limit 1 printed %d lines, want revision 2 whole:\n%s", n, r.stdout)
	}
	contains(t, "stderr", r.stderr, "more after revision 2: docket tuple changes --since 2")

	r = f.run("tuple", "changes", "--since", "4", "-o", "json")
	r.want(t, 0)
	var got struct {
		Revision int `json:"revision"`
		Changes  []struct {
			Revision int    `json:"revision"`
			Kind     string `json:"kind"`
			Tuple    string `json:"tuple"`
		} `json:"changes"`
		NextSince *int `json:"next_since"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("changes -o json: %v\n%s", err, r.stdout)
	}
	if got.Revision != 5 || len(got.Changes) != 1 || got.Changes[0].Revision != 5 || got.Changes[0].Kind != "write" ||
		got.Changes[0].Tuple != "case:3#deny_list@user:carol" || got.NextSince != nil {
		t.Errorf("changes -o json printed %s", r.stdout)
	}

	r = f.run("tuple", "changes", "--since", "9")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--since 9: revision not written yet; the latest is 5")
	r = f.run("tuple", "changes", "--limit", "-1")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--limit -1: must not be negative")

	// Trimming drops the log below a revision; asking for it then fails.
	r = f.run("tuple", "trim-changes", "--before", "4")
	r.want(t, 0)
	if r.stdout != "dropped 8 changes of revisions before 4\n" {
		t.Errorf("trim-changes printed %q", r.stdout)
	}
	r = f.run("tuple", "changes", "--since", "2")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "changes after revision 2: the log starts at revision 4: change log trimmed; the log was trimmed")
	r = f.run("tuple", "changes", "--since", "3")
	r.want(t, 0)
	if r.stdout != "4 write case:3#assignee@user:carol\n5 write case:3#deny_list@user:carol\n" {
		t.Errorf("changes after trim printed %q", r.stdout)
	}
	r = f.run("tuple", "trim-changes")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--before is required")
	r = f.run("tuple", "trim-changes", "--before", "99")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "--before 99: revision not written yet")
}
