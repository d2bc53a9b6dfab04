package cli

import "testing"

// A write or delete that changes nothing once made an empty revision,
// eating the window of readable revisions and the change log.
func TestNothingChangedMakesNoRevision(t *testing.T) {
	f := newFixture(t) // schema at 1, tuples at 2
	before := storeState(t, f.store)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tuple", "write", "case:1#assignee@user:alice", "team:east#member@user:bob"}, "wrote 0 tuples: all 2 already stored; no new revision (the latest is 2)\n"},
		{[]string{"tuple", "delete", "case:1#assignee@user:zoe"}, "deleted 0 tuples: none of the 1 is stored; no new revision (the latest is 2)\n"},
		{[]string{"tuple", "delete", "--object-type", "case", "--object-id", "77"}, "deleted 0 tuples: no tuple matches filter --object-type case --object-id 77; no new revision (the latest is 2)\n"},
		{[]string{"tuple", "delete", "--filter", "case:77"}, "deleted 0 tuples: no tuple matches filter \"case:77\"; no new revision (the latest is 2)\n"},
	} {
		r := f.run(c.args...)
		r.want(t, 0)
		if r.stdout != c.want {
			t.Errorf("%v printed %q, want %q", c.args, r.stdout, c.want)
		}
	}
	r := f.run("tuple", "write", "-o", "json", "case:1#assignee@user:alice")
	contains(t, "json", r.stdout, `"new_revision": false`, `"revision": 2`)
	if after := storeState(t, f.store); after != before {
		t.Errorf("the store changed:\n%s\n%s", before, after)
	}
	r = f.run("tuple", "write", "case:1#assignee@user:alice", "case:9#assignee@user:zoe")
	if r.stdout != "wrote 2 tuples at revision 3 (1 already stored)\n" {
		t.Errorf("a write with one new tuple printed %q", r.stdout)
	}
	// Only the new tuple is logged.
	r = f.run("tuple", "changes", "--since", "2")
	if r.stdout != "3 write case:9#assignee@user:zoe\n" {
		t.Errorf("changes printed %q", r.stdout)
	}
}
