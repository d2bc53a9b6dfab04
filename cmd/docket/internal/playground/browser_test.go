package playground

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// stepTimeout bounds each step of the browser test.
const stepTimeout = 90 * time.Second

var screenshot = flag.String("screenshot", "", "also write the page's screenshot to this PNG file (docs/playground.png)")

// chromium finds the browser: Debian's chromium package, which .ci/run
// installs when it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (apt-get install -y chromium)")
	return ""
}

// TestBrowser drives the page in headless Chromium as a schema author
// would: it types an error into the schema and sees it marked, fixes it,
// validates, opens an explanation and an expand graph, and saves a
// screenshot. Any console error or uncaught exception fails it.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	t.Parallel()
	browser := chromium(t)
	srv, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	// Generous bounds: under the race detector on a loaded machine one
	// explanation of the Casebook example can take seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// Every console message from the page's first moment; errors fail the
	// test at the end.
	var mu sync.Mutex
	var consoleErrors []string
	cctx, stopConsole := context.WithCancel(bctx)
	messages := chromedp.Console(cctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				mu.Lock()
				consoleErrors = append(consoleErrors, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, stepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	waitFor := func(what, js string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, stepTimeout)
		defer cancel()
		if _, err := chromedp.Run(sctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("open the page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	waitFor("the example checks clean", `document.getElementById("status").textContent === "schema ok"`)

	// Type an error at the end of the schema: an invalid type name.
	const typed = "\rtype Broken"
	step("type an error", chromedp.Click(chromedp.CSS("#schema .cm-content")),
		chromedp.Evaluate[chromedp.Void](`(() => { const v = docketPlayground.editors.schema; v.dispatch({selection: {anchor: v.state.doc.length}}); v.focus(); })()`),
		chromedp.KeyEvent(typed))
	waitFor("the error is marked", `(document.querySelector("#schema .cm-lintRange-error") || {}).textContent === "Broken"`)
	if s := text("#status"); s != "1 error" {
		t.Errorf("status after typing the error: %q", s)
	}

	step("fix it", chromedp.KeyEvent(strings.Repeat(kb.Backspace, len(typed))))
	waitFor("the mark goes away", `!document.querySelector("#schema .cm-lintRange-error") && document.getElementById("status").textContent === "schema ok"`)

	step("validate", chromedp.Click(chromedp.CSS("#validate")), chromedp.WaitVisible(chromedp.CSS("#results li.summary")))
	if s := text("#results li.summary"); !strings.HasSuffix(s, " passed, 0 failed") || strings.HasPrefix(s, "0 ") {
		t.Fatalf("validate: %q", s)
	}

	// The first passing assertion, explained as a graph.
	first := text("#results li.pass")
	step("explain it", chromedp.Click(chromedp.CSS("#results li.pass")), chromedp.WaitVisible(chromedp.CSS("#graph svg g.node")))
	query := strings.TrimPrefix(strings.TrimPrefix(first, "allowed: "), "denied: ")
	if s := text("#graph-title"); !strings.HasPrefix(s, query+": ") {
		t.Errorf("explanation title %q, want it to start with %q", s, query)
	}
	nodes, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll("#graph svg g.node")))
	if err != nil {
		t.Fatalf("count the path's nodes: %v", err)
	}
	if len(nodes) < 2 {
		t.Errorf("the granting path of %s has %d nodes", query, len(nodes))
	}

	// The expand tree of the object and relation of that assertion.
	target := query[:strings.Index(query, "@")]
	step("expand", chromedp.SendKeys(chromedp.CSS("#expand-target"), target), chromedp.Click(chromedp.CSS("#expand")))
	waitFor("the expand graph", fmt.Sprintf(`document.getElementById("graph-title").textContent === %q && document.querySelectorAll("#graph svg g.node").length > 2`, "expand "+target))
	if s := text("#graph-text"); !strings.Contains(s, "union") && !strings.Contains(s, "intersection") && !strings.Contains(s, "exclusion") {
		t.Errorf("expand text has no operator node:\n%s", s)
	}

	// Load a validation file from disk: its parts replace the panes.
	upload := filepath.Join(t.TempDir(), "uploaded.yaml")
	if err := os.WriteFile(upload, []byte("schema: |\n  type user\n  type ledger {\n    relation reader: user\n  }\ntuples:\n  - ledger:1#reader@user:ann\nassertions:\n  allowed:\n    - ledger:1#reader@user:ann\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step("load a file", chromedp.SetUploadFiles(chromedp.CSS("#load"), []string{upload}))
	waitFor("the loaded file's panes", `docketPlayground.editors.schema.state.doc.toString().includes("type ledger") &&
		docketPlayground.editors.tuples.state.doc.toString() === "ledger:1#reader@user:ann\n"`)
	step("validate the loaded file", chromedp.Click(chromedp.CSS("#validate")))
	waitFor("its result", `(document.querySelector("#results li.summary") || {}).textContent === "1 passed, 0 failed"`)

	// Back to the example for the picture.
	step("reopen the example", chromedp.SetValue(chromedp.CSS("#examples"), DefaultExample),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("examples").dispatchEvent(new Event("change"))`))
	waitFor("the example again", `docketPlayground.editors.schema.state.doc.toString().startsWith("// Casebook")`)
	waitFor("the results are cleared", `document.querySelectorAll("#results li").length === 0`)
	step("validate it again", chromedp.Click(chromedp.CSS("#validate")), chromedp.WaitVisible(chromedp.CSS("#results li.pass")))
	step("explain a denied assertion", chromedp.Click(chromedp.CSS("#results li.pass:last-child")))
	waitFor("its graph", `document.getElementById("graph-title").textContent.endsWith(": denied") && document.querySelectorAll("#graph svg g.node").length > 1`)
	step("explain the first assertion again", chromedp.Click(chromedp.CSS("#results li.pass")))
	waitFor("its granting path", `document.getElementById("graph-title").textContent.endsWith(": allowed")`)

	shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	out := *screenshot
	if out == "" {
		out = t.TempDir() + "/playground.png"
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)

	stopConsole()
	<-consoleDone
	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrors {
		t.Errorf("browser: %s", e)
	}
}
