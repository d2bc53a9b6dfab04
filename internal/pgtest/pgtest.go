// Package pgtest gives tests a private PostgreSQL server: it finds the
// PostgreSQL binaries, initdb's a cluster into a temporary directory as an
// unprivileged user, starts it on a free port on 127.0.0.1 and hands out
// fresh databases, one per test. A test package shares one cluster:
//
//	var pg = pgtest.New()
//
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
//
//	func TestX(t *testing.T) { url := pg.Database(t) ... }
//
// The cluster starts on the first Database call, so a package whose
// selected tests need no database starts none, and Run stops it and
// removes its directory when the tests end.
//
// When PostgreSQL cannot be found, Database skips the test with a loud
// message, unless the CI environment variable is set: then it fails, so
// that a CI machine without PostgreSQL cannot pass by skipping.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a package's shared PostgreSQL cluster, started on first use.
type Server struct {
	once    sync.Once
	cluster *Cluster
	err     error
	dbs     atomic.Int64
}

// New returns a Server that starts nothing until a test asks for a
// database.
func New() *Server { return &Server{} }

// Run runs the tests and then stops the cluster, if one was started; it
// returns m.Run's exit code.
func (s *Server) Run(m *testing.M) int {
	code := m.Run()
	if s.cluster != nil {
		if err := s.cluster.Destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// Cluster returns the shared cluster, starting it on the first call; it
// skips or fails t as the package documentation says when PostgreSQL is
// missing.
func (s *Server) Cluster(t testing.TB) *Cluster {
	t.Helper()
	s.once.Do(func() {
		bin, err := FindBinaries()
		if err != nil {
			s.err = err
			return
		}
		s.cluster, s.err = Start(context.Background(), bin)
	})
	if s.err != nil {
		var nf *NotFoundError
		if errors.As(s.err, &nf) && os.Getenv("CI") == "" {
			t.Skipf("\n*** SKIPPED: this test needs PostgreSQL and %v.\n*** Install it (Debian: apt-get install -y postgresql) to run it; in CI (CI set) it fails instead.", s.err)
		}
		t.Fatalf("PostgreSQL for tests: %v", s.err)
	}
	return s.cluster
}

// Database creates a fresh, empty database for t, dropped when t ends,
// and returns its connection URL.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	c := s.Cluster(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	ctx := context.Background()
	if err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a test left open (a killed child's, say).
		if err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return c.URL(name)
}

// NotFoundError says that no PostgreSQL installation was found.
type NotFoundError struct{ Looked []string }

func (e *NotFoundError) Error() string {
	return "no PostgreSQL binaries (initdb, postgres) were found in " + strings.Join(e.Looked, ", ")
}

// FindBinaries returns the directory holding initdb and postgres:
// $PGTEST_BINDIR when set, else the newest /usr/lib/postgresql/NN/bin
// (Debian's layout), else the directory of an initdb on PATH.
func FindBinaries() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	var looked []string
	if dir := os.Getenv("PGTEST_BINDIR"); dir != "" {
		if ok(dir) {
			return dir, nil
		}
		return "", &NotFoundError{Looked: []string{"PGTEST_BINDIR=" + dir}}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: 9.6 sorts below 10.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	looked = append(looked, "/usr/lib/postgresql/*/bin")
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); ok(d) {
			return d, nil
		}
	}
	looked = append(looked, "PATH")
	return "", &NotFoundError{Looked: looked}
}

func majorOf(bindir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bindir)), 64)
	return v
}

// Cluster is a private PostgreSQL server in a temporary directory.
type Cluster struct {
	bin  string
	dir  string // owned by the server's user; data/ inside
	port int
	cred *syscall.Credential // nil when not running as root

	mu   sync.Mutex
	proc *exec.Cmd
	done chan struct{} // closed when proc exits
}

// superuser is the cluster's superuser; it connects without a password,
// and only from 127.0.0.1.
const superuser = "docket"

// Start initdb's a cluster into a new temporary directory and starts it
// on a free port on 127.0.0.1. As root it runs PostgreSQL as the
// "postgres" user (PostgreSQL refuses to run as root), in a directory
// that user owns.
func Start(ctx context.Context, bin string) (*Cluster, error) {
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as an unprivileged user, but there is no user postgres: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "docket-pgtest-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	out, err := c.command(ctx, "initdb", "-D", c.data(), "-U", superuser, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A taken port shows up as a failed start; try a few.
	for range 5 {
		if c.port, err = freePort(); err != nil {
			break
		}
		if err = c.Restart(ctx); err == nil {
			return c, nil
		}
	}
	c.Destroy()
	return nil, err
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is the port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.port, db)
}

// Restart starts the server if it is stopped and waits until it accepts
// connections; the tuning trades durability for speed, which tests of a
// throwaway cluster can afford.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.command(context.Background(), "postgres", "-D", c.data(),
		"-p", strconv.Itoa(c.port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=256MB", "-c", "max_wal_size=2GB")
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies, so does the server.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			c.proc, c.done = cmd, done
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			return fmt.Errorf("postgres exited at start: %s", tail(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("postgres not ready after 30s: %v", err)
		}
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// waits for it; the data stays, for Restart.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	c.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.proc.Process.Kill()
		<-c.done
	}
	c.proc, c.done = nil, nil
	return nil
}

// Destroy stops the server and removes its directory.
func (c *Cluster) Destroy() error {
	c.Stop()
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove test cluster: %w", err)
	}
	return nil
}

// Exec runs one statement as the superuser in database postgres.
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
