package cli

import (
	"strings"
	"testing"
)

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	good := writeFile(t, f.dir, "good.tuples", "case:30#assignee@user:zoe\ncase:31#assignee@user:zoe\n")
	bad := writeFile(t, f.dir, "bad.tuples", "case:30#assignee@user:zoe\ncase:31#asignee@user:zoe\n")
	before := storeState(t, f.store)
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"tuple", "write", "--dry-run", "case:1#assignee@user:alice", "case:9#assignee@user:zoe"}, 0,
			"write case:9#assignee@user:zoe\nwould write 1 tuple at revision 3 (1 already stored); dry run: nothing written\n"},
		{[]string{"tuple", "write", "--dry-run", "-f", good}, 0, "would write 2 tuples at revision 3; dry run: nothing written\n"},
		{[]string{"tuple", "delete", "--dry-run", "case:1#assignee@user:alice", "case:1#assignee@user:zoe"}, 0,
			"delete case:1#assignee@user:alice\nwould delete 1 tuple at revision 3 (1 not stored); dry run: nothing written\n"},
		{[]string{"tuple", "delete", "--dry-run", "--filter", "case:1"}, 0,
			"delete case:1#access_list@team:east#member\ndelete case:1#assignee@user:alice\ndelete case:1#deny_list@user:mallory\nwould delete 3 tuples at revision 3; dry run: nothing written\n"},
		{[]string{"tuple", "delete", "--dry-run", "--filter", "case:77"}, 0, "would delete 0 tuples: no new revision (the latest is 2); dry run: nothing written\n"},
		{[]string{"tuple", "import", "--dry-run", good}, 0, "would import 2 tuples at revision 3; dry run: nothing written\n"},
		{[]string{"tuple", "import", "--dry-run", bad}, 2, ""},
		{[]string{"tuple", "write", "--dry-run", "case:9#asignee@user:zoe"}, 2, ""},
	} {
		r := f.run(c.args...)
		r.want(t, c.code)
		if r.stdout != c.out {
			t.Errorf("%v printed %q, want %q", c.args, r.stdout, c.out)
		}
	}
	// A refused dry run with -o json says why as JSON.
	r := f.run("-o", "json", "tuple", "import", "--dry-run", bad)
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `"error": `, `bad.tuples:2: case:31#asignee@user:zoe: type case has no relation \"asignee\"`)
	r = f.run("-o", "json", "tuple", "delete", "--dry-run", "--filter", "case:2")
	contains(t, "json", r.stdout, `"dry_run": true`, `"would_delete": 2`, `"case:2#deny_list@user:bob"`, `"revision": 2`)
	if after := storeState(t, f.store); after != before {
		t.Errorf("a dry run changed the store:\n%s\n%s", before, after)
	}
	if strings.Contains(before, "case:30") {
		t.Fatal("fixture already holds case:30")
	}
}
