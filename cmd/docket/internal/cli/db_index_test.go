package cli

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestDBIndex(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	sch := writeFile(t, dir, "s.rebac", "type user\ntype team {\n  relation member: user | team#member\n}\n")
	run(t, "--db", db, "schema", "write", sch).want(t, 0)
	run(t, "--db", db, "tuple", "write", "team:a#member@team:b#member", "team:b#member@team:c#member", "team:c#member@user:ann").want(t, 0)

	r := run(t, "--db", db, "db", "index", "status")
	r.want(t, 0)
	contains(t, "status", r.stdout, "team#member: maintained, 2 groups with 3 entries, 0 over the bound")

	r = run(t, "--db", db, "db", "index", "status", "-o", "json")
	r.want(t, 0)
	var st struct {
		Supported bool
		Relations []struct {
			Relation   string
			Maintained bool
			Entries    int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if !st.Supported || len(st.Relations) != 1 || st.Relations[0].Relation != "team#member" || !st.Relations[0].Maintained || st.Relations[0].Entries != 3 {
		t.Fatalf("status: %+v", st)
	}

	r = run(t, "--db", db, "db", "index", "build")
	r.want(t, 0)
	contains(t, "build", r.stdout, "every membership index is maintained: nothing to build")

	r = run(t, "--db", db, "check", "team:a#member@user:ann")
	r.want(t, 0)
}
