package badger

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

const (
	crashEnv = "DOCKET_TUPLES_CRASH_CHILD" // "DIR|FILE"
	// stopEnv makes the child stream its import in small chunks and stop
	// (print "stopped" and hang) at a point: "read" once it has read
	// most of the input, "publish" once its tables are written and not
	// yet published.
	stopEnv = "DOCKET_TUPLES_CRASH_STOP"
)

// TestCrashChild is the child process of TestCrashImport: it imports a
// file into a Badger store and is killed somewhere along the way.
func TestCrashChild(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("runs only as the child of TestCrashImport")
	}
	dir, file, _ := strings.Cut(arg, "|")
	s := openBadger(t, dir)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = f
	hang := func() {
		fmt.Println("stopped")
		time.Sleep(time.Hour)
	}
	switch stop := os.Getenv(stopEnv); stop {
	case "":
	case "read":
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		streamSmallCrash(s)
		r = &hangingReader{r: f, after: fi.Size() * 3 / 4, hang: hang}
	case "publish":
		streamSmallCrash(s)
		s.e.beforePublish = hang
	default:
		t.Fatalf("unknown %s %q", stopEnv, stop)
	}
	fmt.Println("importing")
	if _, err := s.Import(context.Background(), r, store.ImportOptions{Name: file}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("imported")
}

// TestCrashImport kills an importing process with SIGKILL at random
// moments. After each kill the store must open, show each import either
// whole or not at all (also after a later write reuses the revision), and
// complete the import when it is run again.
func TestCrashImport(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	newDB := func() string {
		dir := filepath.Join(t.TempDir(), "db")
		s := openBadger(t, dir)
		setup(t, ctx, s)
		s.Close()
		return dir
	}

	const n = atomicLimit + atomicLimit/5 // above atomicLimit: written in bulk
	files := make([]string, 4)
	if raceEnabled {
		files = files[:2]
	}
	for k := range files {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "doc:f%d_%d#viewer@user:u%d\n", k, i, i%1000)
		}
		for _, e := range indexEdges(k, 30) {
			fmt.Fprintln(&b, e)
		}
		files[k] = filepath.Join(t.TempDir(), fmt.Sprintf("f%d.tuples", k))
		if err := os.WriteFile(files[k], []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An import into a scratch store, run to the end, times how long a
	// kill may wait.
	killed, span := runChild(t, newDB(), files[0], 0)
	if killed {
		t.Fatal("child killed without a kill time")
	}
	// The first import into the store under test meets no tuples and is
	// stream-loaded; the later ones go through write batches.
	dir := newDB()
	counts := func(s store.Store) []int {
		sn := snap(t, ctx, s, 0)
		out := make([]int, len(files))
		ts, _, err := sn.Read(ctx, tuples.Filter{ObjectType: "doc", Relation: "viewer"}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			var k, i int
			if _, err := fmt.Sscanf(x.ObjectID, "f%d_%d", &k, &i); err != nil {
				t.Fatalf("unexpected tuple %s", x)
			}
			out[k]++
		}
		return out
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills, interrupted := 0, 0
	for k := range files {
		at := time.Duration(rng.Int64N(int64(span)))
		if killed, _ := runChild(t, dir, files[k], at); killed {
			kills++
		}
		s, err := openTestStore(dir, Options{BlockCacheMB: 16})
		if err != nil {
			t.Fatalf("open after kill %d: %v", k, err)
		}
		got := counts(s)
		indexInStep(t, ctx, s)
		for j := 0; j <= k; j++ {
			want := n
			if j == k && got[j] == 0 {
				want = 0 // killed before publishing: not visible at all
			}
			if got[j] != want {
				t.Fatalf("after kill at %v in import %d: import %d shows %d of %d tuples", at, k, j, got[j], n)
			}
		}
		// A write after the kill takes the interrupted import's revision
		// number; what that import left behind must stay invisible.
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:0#owner@user:after%d", k))
		if again := counts(s); again[k] != got[k] {
			t.Fatalf("a write after kill %d exposed %d tuples of the interrupted import", k, again[k])
		}
		indexInStep(t, ctx, s)
		if got[k] == 0 {
			interrupted++
			f, err := os.Open(files[k])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(ctx, f, store.ImportOptions{Name: files[k]}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if again := counts(s); again[k] != n {
				t.Fatalf("re-run import %d shows %d of %d", k, again[k], n)
			}
			indexInStep(t, ctx, s)
		}
		s.Close()
	}
	t.Logf("%d of %d imports killed within %v of starting, %d before publishing", kills, len(files), span, interrupted)
}

// runChild imports file into dir in a child process, killing it killAt
// after the import starts (0: never). It reports whether the child was
// killed and how long it ran from the start of the import.
func runChild(t *testing.T, dir, file string, killAt time.Duration) (bool, time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir+"|"+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var lines []string
	started := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		signalled := false
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if sc.Text() == "importing" && !signalled {
				signalled = true
				close(started)
			}
		}
		if !signalled {
			close(started)
		}
	}()
	<-started
	begin := time.Now()
	killed := false
	if killAt > 0 {
		select {
		case <-time.After(killAt):
			killed = cmd.Process.Signal(syscall.SIGKILL) == nil
		case <-finished:
		}
	}
	<-finished
	err = cmd.Wait()
	ran := time.Since(begin)
	if !killed && err != nil {
		t.Fatalf("child failed: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if killed && err == nil {
		killed = false // it finished before the signal landed
	}
	return killed, ran
}

// streamSmallCrash makes the child's import spill to disk after a few
// thousand tuples, in many runs.
func streamSmallCrash(s *testStore) {
	s.Store = store.New(s.e, store.Options{ImportChunk: 2000})
	s.e.loadHold, s.e.spillFanIn = 5000, 8
}

// hangingReader hangs once it has read after bytes.
type hangingReader struct {
	r     io.Reader
	after int64
	read  int64
	hang  func()
}

func (h *hangingReader) Read(p []byte) (int, error) {
	if h.read >= h.after {
		h.hang()
	}
	n, err := h.r.Read(p[:min(len(p), int(h.after-h.read)+1)])
	h.read += int64(n)
	return n, err
}

// TestCrashStreamedImport kills a process whose import streams through
// files on disk, while it reads (runs spilled, nothing in Badger yet) and
// after it has written every table but before it publishes them. After
// either the store must open at the revision it had, with the tuples and
// change log it had and no files of the import left, also once a write
// takes the import's revision number; and the import must then run whole.
func TestCrashStreamedImport(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	n := 60000
	if raceEnabled {
		n = 20000
	}
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "doc:s%d#viewer@user:u%d\n", i, i%1000)
	}
	for _, e := range indexEdges(0, 40) {
		fmt.Fprintln(&b, e)
	}
	file := filepath.Join(t.TempDir(), "streamed.tuples")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, stop := range []string{"read", "publish"} {
		t.Run(stop, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			s := openBadger(t, dir)
			setup(t, ctx, s, fixture...)
			before := stateOf(t, ctx, s)
			s.Close()

			spill := filepath.Join(dir, spillDirName)
			killChild(t, dir, file, stop, func() bool {
				if stop == "publish" {
					return true
				}
				runs, _ := filepath.Glob(filepath.Join(spill, "run*"))
				return len(runs) > 0
			})
			if _, err := os.Stat(spill); err != nil {
				t.Fatalf("killed import left no files to clear: %v", err)
			}
			// What the import left in Badger, before open rolls it back.
			latest, maxVersion := rawVersions(t, dir)
			if latest != uint64(before.Revision()) {
				t.Fatalf("killed import moved the latest revision to %d", latest)
			}
			if orphans := maxVersion > latest; orphans != (stop == "publish") {
				t.Fatalf("entries above the latest revision: %v, want %v", orphans, stop == "publish")
			}

			s, err := openTestStore(dir, Options{BlockCacheMB: 16})
			if err != nil {
				t.Fatalf("open after kill: %v", err)
			}
			defer s.Close()
			if after := stateOf(t, ctx, s); !after.Equal(before) {
				t.Fatalf("after the kill: revision %d -> %d, %d -> %d tuples, %d -> %d changes",
					before.Revision(), after.Revision(), len(before.Tuples()), len(after.Tuples()), len(before.Changes()), len(after.Changes()))
			}
			noLeftovers(t, s, false)
			indexInStep(t, ctx, s)
			rev := write(t, ctx, s, tuples.OpTouch, "doc:0#owner@user:after")
			after := stateOf(t, ctx, s)
			if rev != before.Revision()+1 || len(after.Tuples()) != len(before.Tuples())+1 || len(after.Changes()) != len(before.Changes())+1 {
				t.Fatalf("a write after the kill at %d shows %d tuples and %d changes", rev, len(after.Tuples()), len(after.Changes()))
			}
			streamSmall(s)
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := s.Import(ctx, f, store.ImportOptions{Name: file})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); got != len(after.Tuples())+n+40 {
				t.Fatalf("re-run import: %d tuples, want %d", got, len(after.Tuples())+n+40)
			}
			if cs, err := s.Changes(ctx, rev, 0); err != nil || len(cs) != n+40 || cs[0].Revision != res.Revision {
				t.Fatalf("re-run import logged %d changes (%v), want %d at %d", len(cs), err, n+40, res.Revision)
			}
			if groups := indexInStep(t, ctx, s); groups < 41 {
				t.Fatalf("re-run import: %d teams in the index's check, want at least 41", groups)
			}
			noLeftovers(t, s, false)
		})
	}
}

// killChild imports file into dir in a child process told to stop at
// stop, waits until it has stopped and ready says so, and kills it.
func killChild(t *testing.T, dir, file, stop string, ready func() bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir+"|"+file, stopEnv+"="+stop)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() && sc.Text() != "stopped" {
		lines = append(lines, sc.Text())
	}
	if sc.Text() != "stopped" {
		t.Fatalf("child ended without stopping at %s:\n%s", stop, strings.Join(lines, "\n"))
	}
	for deadline := time.Now().Add(30 * time.Second); !ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("child stopped at %s, but not ready to be killed", stop)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// rawVersions opens dir with Badger alone, so that nothing is rolled
// back, and returns the latest published revision and the highest
// version stored.
func rawVersions(t *testing.T, dir string) (latest, maxVersion uint64) {
	t.Helper()
	opts := badger.DefaultOptions(dir).WithLogger(nil)
	db, err := badger.OpenManaged(opts)
	if err != nil && strings.Contains(err.Error(), z.NewFile.Error()) {
		db, err = badger.OpenManaged(opts) // as openBadgerEngine does
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	txn := db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	item, err := txn.Get(keyLatest)
	if err != nil {
		t.Fatal(err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint64(v), db.MaxVersion()
}
