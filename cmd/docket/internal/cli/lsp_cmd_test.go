package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lspClient drives `docket lsp` as an editor does: a child process, the
// protocol's Content-Length framing on its standard input and output.
type lspClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	nextID int
	// responses by id, notifications by arrival.
	responses chan lspMessage
	notes     chan lspMessage
	stderr    *bytes.Buffer
	done      chan error
}

type lspMessage struct {
	ID     *int            `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startLSP(t *testing.T) *lspClient {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childArgsEnv+"=lsp")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &lspClient{t: t, cmd: cmd, in: in, responses: make(chan lspMessage, 16), notes: make(chan lspMessage, 64),
		stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(bufio.NewReader(out))
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// read splits the server's output into messages: headers, a blank line,
// then exactly Content-Length bytes of JSON.
func (c *lspClient) read(r *bufio.Reader) {
	defer close(c.responses)
	defer close(c.notes)
	for {
		length := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				c.done <- c.cmd.Wait()
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			c.done <- c.cmd.Wait()
			return
		}
		var m lspMessage
		if err := json.Unmarshal(body, &m); err != nil {
			c.t.Errorf("server sent invalid JSON: %v\n%s", err, body)
			continue
		}
		if m.Method != "" {
			c.notes <- m
		} else {
			c.responses <- m
		}
	}
}

func (c *lspClient) send(v any) {
	c.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatalf("write to server: %v\nstderr: %s", err, c.stderr)
	}
}

func (c *lspClient) notify(method string, params any) {
	c.t.Helper()
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and decodes its result into out (unless nil); it
// returns the error message when the server answered with an error.
func (c *lspClient) call(method string, params, out any) string {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	select {
	case m, ok := <-c.responses:
		if !ok {
			c.t.Fatalf("%s: server exited\nstderr: %s", method, c.stderr)
		}
		if m.ID == nil || *m.ID != id {
			c.t.Fatalf("%s: response for id %v, want %d", method, m.ID, id)
		}
		if m.Error != nil {
			return m.Error.Message
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				c.t.Fatalf("%s: decode %s: %v", method, m.Result, err)
			}
		}
		return ""
	case <-time.After(20 * time.Second):
		c.t.Fatalf("%s: no response\nstderr: %s", method, c.stderr)
	}
	return ""
}

type lspPos struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start lspPos `json:"start"`
	End   lspPos `json:"end"`
}

type lspDiag struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Message  string   `json:"message"`
}

type lspLocation struct {
	URI   string   `json:"uri"`
	Range lspRange `json:"range"`
}

type lspEdit struct {
	Range   lspRange `json:"range"`
	NewText string   `json:"newText"`
}

// diagnostics waits for the diagnostics of uri at version.
func (c *lspClient) diagnostics(uri string, version int) []lspDiag {
	c.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-c.notes:
			if !ok {
				c.t.Fatalf("server exited\nstderr: %s", c.stderr)
			}
			if m.Method != "textDocument/publishDiagnostics" {
				continue
			}
			var p struct {
				URI         string    `json:"uri"`
				Version     int       `json:"version"`
				Diagnostics []lspDiag `json:"diagnostics"`
			}
			if err := json.Unmarshal(m.Params, &p); err != nil {
				c.t.Fatal(err)
			}
			if p.URI == uri && p.Version == version {
				return p.Diagnostics
			}
		case <-deadline:
			c.t.Fatalf("no diagnostics for %s version %d", uri, version)
		}
	}
}

// checkDiagnostics is what `schema check --output json` reports for path,
// in the shape the server's diagnostics are compared in: 1-based line and
// column, severity and the text after the position.
func checkDiagnostics(t *testing.T, path string) []string {
	t.Helper()
	r := run(t, "schema", "check", "--output", "json", path)
	var rep struct {
		Files []struct {
			Diagnostics []struct {
				Line, Column      int
				Severity, Message string
				Hint              string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("schema check --output json: %v\n%s", err, r.stdout)
	}
	var out []string
	for _, d := range rep.Files[0].Diagnostics {
		msg := d.Message
		if d.Hint != "" {
			msg += "; " + d.Hint
		}
		out = append(out, fmt.Sprintf("%d:%d %s %s", d.Line, d.Column, d.Severity, msg))
	}
	return out
}

func diagStrings(ds []lspDiag) []string {
	var out []string
	for _, d := range ds {
		sev := map[int]string{1: "error", 2: "warning"}[d.Severity]
		out = append(out, fmt.Sprintf("%d:%d %s %s", d.Range.Start.Line+1, d.Range.Start.Character+1, sev, d.Message))
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func fileURI(path string) string { return "file://" + filepath.ToSlash(path) }

const lspGood = `// A person.
type user

type team {
  // Who is in the team; teams nest.
  relation member: user | team#member
}

type doc {
  relation owner: user | team#member
  relation parent: doc
  relation banned: user
  // Who may read the document.
  relation viewer = owner | parent#viewer - banned
}
`

// TestLSPSession runs one editing session through the real standard
// streams of a `docket lsp` process.
func TestLSPSession(t *testing.T) {
	dir := t.TempDir()
	c := startLSP(t)

	var init struct {
		Capabilities map[string]any `json:"capabilities"`
		ServerInfo   struct{ Name string }
	}
	if msg := c.call("initialize", map[string]any{"processId": nil, "rootUri": fileURI(dir), "capabilities": map[string]any{}}, &init); msg != "" {
		t.Fatalf("initialize: %s", msg)
	}
	for _, capName := range []string{"hoverProvider", "definitionProvider", "referencesProvider", "completionProvider", "documentFormattingProvider", "renameProvider", "textDocumentSync"} {
		if init.Capabilities[capName] == nil {
			t.Errorf("initialize: no %s in %v", capName, init.Capabilities)
		}
	}
	if init.ServerInfo.Name != "docket" {
		t.Errorf("server name %q", init.ServerInfo.Name)
	}
	c.notify("initialized", map[string]any{})

	// A schema with several errors: the diagnostics are those of schema
	// check, at the same positions, with the same words.
	bad := strings.NewReplacer("relation parent: doc", "relation parent: dok", "parent#viewer", "parent#veiwer", "| team#member\n}", "| team#membr\n}", "banned: user", "banned: usr").Replace(lspGood)
	path := writeFile(t, dir, "doc.rebac", bad)
	uri := fileURI(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "rebac", "version": 1, "text": bad}})
	got := diagStrings(c.diagnostics(uri, 1))
	want := checkDiagnostics(t, path)
	if len(want) < 3 {
		t.Fatalf("schema check found %d problems in the bad schema, want at least 3: %v", len(want), want)
	}
	sameLines(t, "diagnostics of the bad schema", got, want)

	// An incremental change that leaves a warning: still what schema
	// check says.
	loose := strings.Replace(lspGood, "parent#viewer - banned", "banned - parent#viewer | owner", 1)
	writeFile(t, dir, "doc.rebac", loose)
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": loose}}})
	got = diagStrings(c.diagnostics(uri, 2))
	want = checkDiagnostics(t, path)
	if len(want) != 1 || !strings.Contains(want[0], "warning") {
		t.Fatalf("schema check on the loose exclusion: %v, want one warning", want)
	}
	sameLines(t, "diagnostics of the loose exclusion", got, want)

	// A syntax error, through a ranged (incremental) change.
	pipe := strings.Index(strings.Split(lspGood, "\n")[13], "| parent")
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 3},
		"contentChanges": []any{map[string]any{"text": lspGood}, map[string]any{
			"range": lspRange{Start: lspPos{Line: 13, Character: pipe}, End: lspPos{Line: 13, Character: pipe}}, "text": "|"}}})
	syntax := strings.Replace(lspGood, "owner | parent", "owner || parent", 1)
	writeFile(t, dir, "doc.rebac", syntax)
	got = diagStrings(c.diagnostics(uri, 3))
	want = checkDiagnostics(t, path)
	if len(want) != 1 {
		t.Fatalf("schema check on the syntax error: %v", want)
	}
	sameLines(t, "diagnostics of the syntax error", got, want)

	// Fixed: no diagnostics.
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 4},
		"contentChanges": []any{map[string]any{"text": lspGood}}})
	if ds := c.diagnostics(uri, 4); len(ds) != 0 {
		t.Fatalf("diagnostics after the fix: %v", diagStrings(ds))
	}

	at := func(line, char int) map[string]any {
		return map[string]any{"textDocument": map[string]any{"uri": uri}, "position": lspPos{Line: line, Character: char}}
	}
	// Positions in lspGood (0-based): line 13 is the viewer relation.
	const viewerLine = 13
	viewerCol := strings.Index(strings.Split(lspGood, "\n")[viewerLine], "viewer")
	parentRef := strings.Index(strings.Split(lspGood, "\n")[viewerLine], "parent#")
	memberRef := strings.Index(strings.Split(lspGood, "\n")[5], "team#member") + len("team#")

	t.Run("hover", func(t *testing.T) {
		var h struct {
			Contents struct{ Kind, Value string }
			Range    lspRange
		}
		c.call("textDocument/hover", at(viewerLine, viewerCol+2), &h)
		contains(t, "hover on viewer", h.Contents.Value,
			"relation viewer = owner | parent#viewer - banned", "Who may read the document.",
			"Computed relation", "`parent#viewer`: follows `parent` (doc) and reads `doc#viewer`",
			"- any of:\n  - `owner`: stored, user | team#member\n  - `parent#viewer`", "\n- minus `banned`: stored, user", "Can be held by: `user`")
		if h.Contents.Kind != "markdown" {
			t.Errorf("hover kind %q", h.Contents.Kind)
		}
		c.call("textDocument/hover", at(5, memberRef), &h)
		contains(t, "hover on team#member", h.Contents.Value,
			"relation member: user | team#member", "Who is in the team; teams nest.", "Allowed subjects: `user`, `team#member`")
		c.call("textDocument/hover", at(1, 6), &h)
		contains(t, "hover on user", h.Contents.Value, "type user", "A person.")
	})

	t.Run("definition", func(t *testing.T) {
		var locs []lspLocation
		c.call("textDocument/definition", at(viewerLine, parentRef+1), &locs)
		if len(locs) != 1 || locs[0].URI != uri || locs[0].Range != (lspRange{Start: lspPos{10, 11}, End: lspPos{10, 17}}) {
			t.Errorf("definition of parent: %+v", locs)
		}
		c.call("textDocument/definition", at(9, 19), &locs) // `user` in owner's subjects
		if len(locs) != 1 || locs[0].Range.Start != (lspPos{1, 5}) {
			t.Errorf("definition of user: %+v", locs)
		}
	})

	t.Run("references", func(t *testing.T) {
		var locs []lspLocation
		p := at(1, 6) // type user
		p["context"] = map[string]any{"includeDeclaration": true}
		c.call("textDocument/references", p, &locs)
		var lines []int
		for _, l := range locs {
			lines = append(lines, l.Range.Start.Line)
		}
		sort.Ints(lines)
		if fmt.Sprint(lines) != "[1 5 9 11]" {
			t.Errorf("references of user on lines %v, want [1 5 9 11]", lines)
		}
		p = at(viewerLine, viewerCol)
		p["context"] = map[string]any{"includeDeclaration": false}
		c.call("textDocument/references", p, &locs)
		if len(locs) != 1 || locs[0].Range.Start != (lspPos{viewerLine, parentRef + len("parent#")}) {
			t.Errorf("references of viewer without its declaration: %+v", locs)
		}
	})

	t.Run("completion", func(t *testing.T) {
		edit := strings.Replace(lspGood, "  relation banned: user\n", "  relation banned: user\n  relation editor: \n  relation writer = \n", 1)
		c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 5},
			"contentChanges": []any{map[string]any{"text": edit}}})
		c.diagnostics(uri, 5)
		labels := func(line, char int) []string {
			var items []struct{ Label string }
			c.call("textDocument/completion", at(line, char), &items)
			var out []string
			for _, it := range items {
				out = append(out, it.Label)
			}
			return out
		}
		if got := labels(12, len("  relation editor: ")); fmt.Sprint(got) != "[user team doc]" {
			t.Errorf("completion after `relation editor:` = %v, want the types", got)
		}
		if got := labels(13, len("  relation writer = ")); fmt.Sprint(got) != "[owner parent banned editor writer viewer]" {
			t.Errorf("completion after `relation writer =` = %v, want the relations of doc", got)
		}
		if got := labels(9, len("  relation owner: user | team#")); fmt.Sprint(got) != "[member]" {
			t.Errorf("completion after `team#` = %v, want team's relations", got)
		}
		if got := labels(8, len("type doc {")); fmt.Sprint(got) != "[relation ...]" {
			t.Errorf("completion after `{` = %v, want [relation ...]", got)
		}
		// Between types: the keywords that start a top-level declaration.
		if got := labels(7, 0); len(got) == 0 || got[0] != "type" || slices.Contains(got, "relation") || slices.Contains(got, "user") {
			t.Errorf("completion between types = %v, want the top-level keywords, type first", got)
		}
		c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 6},
			"contentChanges": []any{map[string]any{"text": lspGood}}})
		c.diagnostics(uri, 6)
	})

	t.Run("formatting", func(t *testing.T) {
		messy := strings.NewReplacer("relation owner: user | team#member", "relation   owner :user|team#member", "type user", "type user\n\n\n").Replace(lspGood)
		c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 7},
			"contentChanges": []any{map[string]any{"text": messy}}})
		c.diagnostics(uri, 7)
		var edits []lspEdit
		c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": uri}, "options": map[string]any{"tabSize": 2, "insertSpaces": true}}, &edits)
		fmtPath := writeFile(t, dir, "messy.rebac", messy)
		want := run(t, "schema", "fmt", fmtPath).stdout
		if got := applyEdits(t, messy, edits); got != want {
			t.Errorf("formatted:\n%s\nwant (schema fmt):\n%s", got, want)
		}
		c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 8},
			"contentChanges": []any{map[string]any{"text": lspGood}}})
		c.diagnostics(uri, 8)
	})

	t.Run("rename", func(t *testing.T) {
		var prep lspRange
		if msg := c.call("textDocument/prepareRename", at(5, memberRef), &prep); msg != "" {
			t.Fatalf("prepareRename: %s", msg)
		}
		var we struct {
			Changes map[string][]lspEdit `json:"changes"`
		}
		p := at(5, memberRef)
		p["newName"] = "members"
		c.call("textDocument/rename", p, &we)
		renamed := applyEdits(t, lspGood, we.Changes[uri])
		if want := strings.ReplaceAll(lspGood, "member\n", "members\n"); renamed != strings.ReplaceAll(want, "relation member:", "relation members:") {
			t.Errorf("renamed member:\n%s", renamed)
		}
		p = at(3, 6) // type team
		p["newName"] = "group"
		c.call("textDocument/rename", p, &we)
		renamed = applyEdits(t, lspGood, we.Changes[uri])
		if want := strings.NewReplacer("type team", "type group", "team#member", "group#member").Replace(lspGood); renamed != want {
			t.Errorf("renamed team:\n%s\nwant:\n%s", renamed, want)
		}
		p["newName"] = "doc"
		if msg := c.call("textDocument/rename", p, nil); !strings.Contains(msg, "type `doc` already exists") {
			t.Errorf("rename to an existing type: %q", msg)
		}
		p["newName"] = "Group"
		if msg := c.call("textDocument/rename", p, nil); !strings.Contains(msg, "lowercase") {
			t.Errorf("rename to an invalid name: %q", msg)
		}
	})

	t.Run("validation file", func(t *testing.T) {
		yamlText := "schema: |\n  type user\n  type doc {\n    relation viewer: usr\n  }\nassertions:\n  allowed: []\n"
		ypath := writeFile(t, dir, "v.yaml", yamlText)
		yuri := fileURI(ypath)
		c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": yuri, "languageId": "yaml", "version": 1, "text": yamlText}})
		got := diagStrings(c.diagnostics(yuri, 1))
		r := run(t, "validate", ypath)
		want := strings.TrimPrefix(strings.SplitN(r.stderr, "\n", 2)[0], "error: "+ypath+":")
		if len(got) != 1 || strings.Replace(got[0], " error ", ": ", 1) != want {
			t.Errorf("diagnostics in a validation file: %v, validate says %q", got, want)
		}
	})

	if msg := c.call("shutdown", nil, nil); msg != "" {
		t.Fatalf("shutdown: %s", msg)
	}
	c.notify("exit", nil)
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("docket lsp exited with %v after shutdown and exit\nstderr: %s", err, c.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("docket lsp did not exit")
	}
}

// applyEdits applies non-overlapping edits to text.
func applyEdits(t *testing.T, text string, edits []lspEdit) string {
	t.Helper()
	lines := strings.SplitAfter(text, "\n")
	offset := func(p lspPos) int {
		o := 0
		for i := 0; i < p.Line && i < len(lines); i++ {
			o += len(lines[i])
		}
		return o + p.Character // ASCII text: characters are bytes
	}
	sort.Slice(edits, func(i, j int) bool { return offset(edits[i].Range.Start) > offset(edits[j].Range.Start) })
	for _, e := range edits {
		text = text[:offset(e.Range.Start)] + e.NewText + text[offset(e.Range.End):]
	}
	return text
}
