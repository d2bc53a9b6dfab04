package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
)

// child is a `docket serve` process.
type child struct {
	cmd    *exec.Cmd
	url    string
	stderr *strings.Builder
	out    chan string // stdout lines after the listening line
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServe starts docket serve and waits for the line saying where it
// listens.
func startServe(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKET_DB=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &strings.Builder{}, out: make(chan string, 16)}
	cmd.Stderr = &lockedWriter{w: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				continue
			}
			c.out <- sc.Text()
		}
		close(c.out)
	}()
	select {
	case c.url = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("docket serve did not say where it listens; stderr:\n%s", c.stderr)
	}
	return c
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const crashSchema = `type user {}
type doc {
  relation owner: user
  relation viewer: user
  relation view = owner | viewer
}
`

// TestServeCrash kills a serving process with SIGKILL while clients write
// pairs of tuples, each pair one write. After a restart on the same
// database every acknowledged write is there, and every write is there
// whole or not at all. Then SIGTERM stops the server cleanly, exit 0.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the docket binary")
	}
	bin := buildDocket(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "docket.db")
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("crash-test-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, bin, "--db", db, "--keys-file", keys)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(srv.url, client.Options{Token: "crash-test-key", GRPC: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Text: crashSchema})); err != nil {
		t.Fatal(err)
	}

	// Another process cannot open the database while the server holds it.
	if out, err := exec.Command(bin, "--db", db, "check", "doc:1#view@user:a").CombinedOutput(); err == nil || !strings.Contains(string(out), "in use by another docket process") {
		t.Errorf("a second process on the served database: %v\n%s", err, out)
	}

	var (
		mu    sync.Mutex
		acked []int
		wg    sync.WaitGroup
	)
	const writers = 4
	for w := range writers {
		wg.Go(func() {
			for i := w; ; i += writers {
				_, err := c.Touch(ctx, fmt.Sprintf("doc:%d#owner@user:u%d", i, i), fmt.Sprintf("doc:%d#viewer@user:v%d", i, i))
				if err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, i)
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	wg.Wait()
	mu.Lock()
	done := append([]int(nil), acked...)
	mu.Unlock()
	if len(done) == 0 {
		t.Fatal("no write acknowledged before the kill")
	}

	srv = startServe(t, bin, "--db", db, "--keys-file", keys, "--metrics-addr", "127.0.0.1:0")
	metricsLine := <-srv.out
	m := regexp.MustCompile(`metrics on (http://\S+)`).FindStringSubmatch(metricsLine)
	if m == nil {
		t.Fatalf("no metrics line: %q", metricsLine)
	}
	res, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "docket_store_revision") {
		t.Errorf("metrics on --metrics-addr: %d %.300s", res.StatusCode, body)
	}
	if res, err := http.Get(srv.url + "/metrics"); err != nil || res.StatusCode != 404 {
		t.Errorf("metrics still on the main port with --metrics-addr: %v %v", res, err)
	}
	c, err = client.New(srv.url, client.Options{Token: "crash-test-key"})
	if err != nil {
		t.Fatal(err)
	}
	owners, viewers := map[string]bool{}, map[string]bool{}
	cursor := ""
	for {
		res, err := c.Read(ctx, connect.NewRequest(&pb.ReadRequest{Filter: &pb.Filter{ObjectType: "doc"}, Limit: 1000, Cursor: cursor}))
		if err != nil {
			t.Fatalf("read after restart: %v", err)
		}
		for _, tp := range res.Msg.Tuples {
			if tp.Relation == "owner" {
				owners[tp.Object.Id] = true
			} else {
				viewers[tp.Object.Id] = true
			}
		}
		if cursor = res.Msg.NextCursor; cursor == "" {
			break
		}
	}
	for _, i := range done {
		if id := fmt.Sprint(i); !owners[id] || !viewers[id] {
			t.Errorf("acknowledged write %d lost after the kill", i)
		}
	}
	for id := range owners {
		if !viewers[id] {
			t.Errorf("write %s half visible: owner without viewer", id)
		}
	}
	for id := range viewers {
		if !owners[id] {
			t.Errorf("write %s half visible: viewer without owner", id)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d found after restart", len(done), len(owners))

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, srv.stderr)
	}
	var rest []string
	for l := range srv.out {
		rest = append(rest, l)
	}
	if !strings.Contains(strings.Join(rest, "\n"), "stopped") {
		t.Errorf("no stop line after SIGTERM: %q", rest)
	}
	if !strings.Contains(srv.stderr.String(), `"msg":"request"`) || strings.Contains(srv.stderr.String(), "crash-test-key") {
		t.Errorf("request log missing, or a key logged:\n%.2000s", srv.stderr)
	}
}
