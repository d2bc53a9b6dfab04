package cli

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// `docket playground` prints its URL once it listens, serves the page,
// and stops cleanly on Ctrl-C.
func TestPlaygroundCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childArgsEnv+"=playground --addr 127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		lines <- l
		_, _ = io.Copy(io.Discard, out)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("no URL printed\nstderr: %s", stderr.String())
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "docket playground: ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q, want the URL", line)
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Docket playground") {
		t.Fatalf("GET %s: %d\n%s", url, res.StatusCode, body)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after Ctrl-C: %v\nstderr: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on Ctrl-C")
	}
}

func TestPlaygroundCommandErrors(t *testing.T) {
	r := run(t, "playground", "no-such-file.yaml")
	r.want(t, exitFailure)
	contains(t, "stderr", r.stderr, "no-such-file.yaml")
	lacks(t, "stderr", r.stderr, "goroutine")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r = run(t, "playground", "--addr", ln.Addr().String())
	r.want(t, exitFailure)
	contains(t, "stderr", r.stderr, "listen on "+ln.Addr().String(), "choose another port with --addr")

	r = run(t, "playground", "a.yaml", "b.yaml")
	r.want(t, exitFailure)
}
