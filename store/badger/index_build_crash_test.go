package badger

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// buildChildEnv names the database TestIndexBuildChild builds the index of.
const buildChildEnv = "DOCKET_INDEX_BUILD_CHILD"

const buildCrashSchema = `type user

type team {
  relation member: user | team#member
  relation admin: user | team#admin
}
`

// TestIndexBuildChild is the child process of TestIndexBuildKilled: it
// builds the membership index of a database, printing each step of its
// progress, and is killed at one of them.
func TestIndexBuildChild(t *testing.T) {
	dir := os.Getenv(buildChildEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestIndexBuildKilled")
	}
	s := openBadger(t, dir)
	_, err := s.Store.(store.Indexer).BuildIndex(context.Background(), func(p store.IndexProgress) {
		name := p.Type + "#" + p.Relation
		switch {
		case p.Built != nil:
			fmt.Println("built", name)
		case p.Groups == 0:
			fmt.Println("reading", name)
		case p.Rows == p.Groups:
			fmt.Println("computed", name)
		default:
			fmt.Println("rows", name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// TestIndexBuildKilled: `docket db index build` on a database without the
// index, killed with SIGKILL while it reads a relation's tuples, while it
// computes the rows, and once they are computed (committing them): after
// each kill the database opens, every relation's index is either
// maintained and exactly what the tuples make, or not maintained and
// never answers (so checks walk, and answer right), also after a write
// that takes the interrupted build's revision number; the next run keeps
// what was built and builds the rest.
func TestIndexBuildKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	s := openBadger(t, dir)
	if _, err := s.WriteSchema(ctx, "teams.rebac", []byte(buildCrashSchema)); err != nil {
		t.Fatal(err)
	}
	// A small tree of member and a large one of admin (fan-out 8), so
	// that the admin build runs long enough to be killed inside.
	n := 30000
	if raceEnabled {
		n = 12000
	}
	var b strings.Builder
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "team:m%d#member@team:m%d#member\n", (i-1)/4, i)
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "team:a%d#admin@team:a%d#admin\n", (i-1)/8, i)
	}
	b.WriteString("team:m150#member@user:ann\nteam:a" + fmt.Sprint(n-1) + "#admin@user:bob\n")
	if _, err := s.Import(ctx, strings.NewReader(b.String()), store.ImportOptions{Name: "teams.tuples"}); err != nil {
		t.Fatal(err)
	}
	// As an older database (an import this large may have dropped the
	// index of admin already, over the recompute bound): no index keys.
	dropIndexKeys(t, s)
	s.Close()

	maintained := func(s store.Store) map[string]bool {
		st, _, err := s.(*testStore).Store.(store.Indexer).IndexStatus(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, x := range st {
			out[x.Type+"#"+x.Relation] = x.Maintained
		}
		return out
	}
	// consistent checks every relation's index at the latest revision.
	consistent := func(s store.Store, when string) map[string]bool {
		t.Helper()
		m := maintained(s)
		for _, rel := range []string{"member", "admin"} {
			if m["team#"+rel] {
				indexInStepOf(t, ctx, s, rel)
				continue
			}
			sn := snap(t, ctx, s, 0)
			ts, _, err := sn.Read(ctx, tuples.Filter{ObjectType: "team", Relation: rel}, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ts {
				if _, indexed, err := sn.(tuples.GroupIndex).GroupsAbove(ctx, tuples.Object{Type: "team", ID: x.SubjectID}, rel); indexed || err != nil {
					t.Fatalf("%s: team#%s is not maintained, yet team:%s answers from it (%v)", when, rel, x.SubjectID, err)
				}
			}
			sn.Close()
		}
		return m
	}

	s = openBadger(t, dir)
	if m := maintained(s); m["team#member"] || m["team#admin"] || len(m) != 2 {
		t.Fatalf("before the build: maintained %v", m)
	}
	s.Close()
	kills := 0
	for k, at := range []string{"reading team#admin", "rows team#admin", "computed team#admin"} {
		lines, killed := runBuildChild(t, dir, at)
		if killed {
			kills++
		}
		s := openBadger(t, dir)
		when := fmt.Sprintf("killed at %q", at)
		m := consistent(s, when)
		t.Logf("%s: maintained %v", when, m)
		if k == 0 && !m["team#member"] {
			t.Fatalf("%s: team#member, built before, is not kept (child said %q)", when, lines)
		}
		// A write after the kill takes the revision number the build
		// would have committed at; what the build left must stay unseen.
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("team:m1#member@user:after%d", k))
		consistent(s, when+", then a write")
		s.Close()
	}
	lines, killed := runBuildChild(t, dir, "")
	if killed {
		t.Fatal("the last build was killed")
	}
	for _, l := range lines {
		if l == "built team#member" {
			t.Fatalf("the run after the kills built team#member again: %q", lines)
		}
	}
	s = openBadger(t, dir)
	defer s.Close()
	if m := consistent(s, "after the last run"); !m["team#member"] || !m["team#admin"] {
		t.Fatalf("after the last run: maintained %v", m)
	}
	if kills == 0 {
		t.Fatal("no build was killed before it finished: the test checks nothing")
	}
	t.Logf("%d of 3 builds killed in the middle; the last run built the rest", kills)
}

// runBuildChild builds the index of dir in a child process, killing it
// as soon as it prints the line at ("" never). It returns the lines the
// child printed and whether it was killed before finishing.
func runBuildChild(t *testing.T, dir, at string) ([]string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexBuildChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), buildChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	signalled := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if at != "" && sc.Text() == at && !signalled {
			signalled = cmd.Process.Signal(syscall.SIGKILL) == nil
		}
	}
	err = cmd.Wait()
	if !signalled && err != nil {
		t.Fatalf("child failed: %v\n%s", err, strings.Join(lines, "\n"))
	}
	return lines, signalled && err != nil
}
