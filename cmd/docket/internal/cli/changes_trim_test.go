package cli

import (
	"strings"
	"testing"
)

// After any trim, even one that dropped nothing, 'tuple changes' without
// --since failed for good; it reads from where the log starts.
func TestTupleChangesWithoutSinceAfterTrim(t *testing.T) {
	f := newFixture(t)
	r := f.run("tuple", "trim-changes", "--before", "2")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, "dropped 0 changes of revisions before 2")
	r = f.run("tuple", "changes")
	r.want(t, 0)
	if n := strings.Count(r.stdout, "\n"); n != 7 || !strings.HasPrefix(r.stdout, "2 write ") {
		t.Errorf("changes after a trim that dropped nothing printed:\n%s", r.stdout)
	}
	f.run("tuple", "write", "case:9#assignee@user:zoe").want(t, 0)
	f.run("tuple", "trim-changes", "--before", "4").want(t, 0)
	r = f.run("tuple", "changes", "-o", "json")
	r.want(t, 0)
	contains(t, "stdout", r.stdout, `"tuple": "case:9#assignee@user:zoe"`)
	// An explicit --since before the start is still an error, never a gap.
	r = f.run("tuple", "changes", "--since", "1")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "the log starts at revision 4")
}
