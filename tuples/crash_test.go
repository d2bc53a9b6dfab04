package tuples

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "DOCKET_TUPLES_CRASH_CHILD" // "DIR|FILE"

// TestCrashChild is the child process of TestCrashImport: it imports a
// file into a Badger store and is killed somewhere along the way.
func TestCrashChild(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("runs only as the child of TestCrashImport")
	}
	dir, file, _ := strings.Cut(arg, "|")
	s, err := OpenBadger(dir, BadgerOptions{BlockCacheMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("importing")
	if _, err := s.Import(context.Background(), f, ImportOptions{Name: file}); err != nil {
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
		s, err := OpenBadger(dir, BadgerOptions{BlockCacheMB: 16})
		if err != nil {
			t.Fatal(err)
		}
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
	counts := func(s Store) []int {
		sn := snap(t, ctx, s, 0)
		out := make([]int, len(files))
		ts, _, err := sn.Read(ctx, Filter{ObjectType: "doc", Relation: "viewer"}, "", 0)
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
		s, err := OpenBadger(dir, BadgerOptions{BlockCacheMB: 16})
		if err != nil {
			t.Fatalf("open after kill %d: %v", k, err)
		}
		got := counts(s)
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
		write(t, ctx, s, OpTouch, fmt.Sprintf("doc:0#owner@user:after%d", k))
		if again := counts(s); again[k] != got[k] {
			t.Fatalf("a write after kill %d exposed %d tuples of the interrupted import", k, again[k])
		}
		if got[k] == 0 {
			interrupted++
			f, err := os.Open(files[k])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(ctx, f, ImportOptions{Name: files[k]}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if again := counts(s); again[k] != n {
				t.Fatalf("re-run import %d shows %d of %d", k, again[k], n)
			}
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
