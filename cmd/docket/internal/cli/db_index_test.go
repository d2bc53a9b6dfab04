package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
)

func TestDBIndex(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	sch := writeFile(t, dir, "s.rebac", "type user\ntype team {\n  relation member: user | team#member\n}\n")
	run(t, "--db", db, "schema", "write", sch).want(t, 0)
	run(t, "--db", db, "tuple", "write", "team:a#member@team:b#member", "team:b#member@team:c#member", "team:c#member@user:ann").want(t, 0)

	r := run(t, "--db", db, "db", "index", "status")
	r.want(t, 0)
	contains(t, "status", r.stdout, "team#member: maintained, 2 groups with 3 entries, 0 over the bound; 2 subject sets in 2 groups")

	r = run(t, "--db", db, "db", "index", "status", "-o", "json")
	r.want(t, 0)
	var st struct {
		Supported bool
		Relations []struct {
			Relation   string
			Maintained bool
			Entries    int
			Counts     struct{ Subject_sets, Parents, Children int }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if !st.Supported || len(st.Relations) != 1 || st.Relations[0].Relation != "team#member" || !st.Relations[0].Maintained || st.Relations[0].Entries != 3 ||
		st.Relations[0].Counts != (struct{ Subject_sets, Parents, Children int }{2, 2, 2}) {
		t.Fatalf("status: %+v", st)
	}

	r = run(t, "--db", db, "db", "index", "build")
	r.want(t, 0)
	contains(t, "build", r.stdout, "every membership index is maintained: nothing to build")

	r = run(t, "--db", db, "check", "team:a#member@user:ann")
	r.want(t, 0)
}

// TestDBIndexBuildProgress: a store whose index a large write dropped is
// built again; on a terminal stderr shows how the build goes, and stdout
// names the relation built; off a terminal stderr stays empty.
func TestDBIndexBuildProgress(t *testing.T) {
	for _, terminal := range []bool{true, false} {
		b, err := memory.NewBackend(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Any write recomputing more than one row drops the index.
		st := store.New(b, store.Options{IndexRecompute: 1})
		defer st.Close()
		dir := t.TempDir()
		sch := writeFile(t, dir, "s.rebac", "type user\ntype team {\n  relation member: user | team#member\n}\n")
		runOn(t, st, "", "schema", "write", sch).want(t, 0)
		var lines []string
		for i := 1; i < 3000; i++ {
			lines = append(lines, fmt.Sprintf("team:t%d#member@team:t%d#member", (i-1)/4, i))
		}
		runOn(t, st, "", append([]string{"tuple", "write"}, lines...)...).want(t, 0)
		runOn(t, st, "", "db", "index", "status").want(t, 1)

		var out, errb strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(string) string { return "" }, shared: st,
			isTerminal: func(io.Writer) bool { return terminal }}
		if code := e.run(t.Context(), []string{"db", "index", "build"}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		contains(t, "stdout", out.String(), "team#member: built, ")
		if terminal {
			contains(t, "stderr", errb.String(), "team#member: 2999 subject sets read; rows of 2999 of 2999 groups computed (100%)")
			if !strings.HasSuffix(errb.String(), "\r\033[K") {
				t.Errorf("the progress line is left on the terminal: %q", errb.String())
			}
		} else if errb.String() != "" {
			t.Errorf("progress drawn off a terminal: %q", errb.String())
		}
		runOn(t, st, "", "db", "index", "status").want(t, 0)
		r := runOn(t, st, "", "check", "team:t1#member@team:t2#member")
		r.want(t, 1)
		runOn(t, st, "", "check", "team:t0#member@team:t2998#member").want(t, 0)
	}
}
