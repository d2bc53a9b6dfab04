package cli

import (
	"strings"
	"testing"
)

// case:2 grants user:* and denies bob: a check of the wildcard is
// allowed (the wildcard itself is granted), and says that bob is still
// removed, so that "allowed" is never read as "every user".
func TestWildcardCheckSaysWhomExclusionsRemove(t *testing.T) {
	f := newFixture(t)
	r := f.run("check", "case:2#viewer@user:*")
	r.want(t, 0)
	if r.stdout != "allowed (the wildcard user:* is granted, but not to every user: exclusions still remove user:bob)\n" {
		t.Errorf("wildcard check printed %q", r.stdout)
	}
	r = f.run("check", "-o", "json", "case:2#viewer@user:*")
	r.want(t, 0)
	contains(t, "json", r.stdout, `"allowed": true`, `"excluded": [`, `"user:bob"`)
	r = f.run("lookup", "subjects", "case:2#viewer")
	contains(t, "lookup subjects", r.stdout, "user:* - {user:bob}")
	// With nothing excluded, the answer is plain.
	f.run("tuple", "write", "case:3#public@user:*").want(t, 0)
	r = f.run("check", "case:3#viewer@user:*", "case:2#viewer@user:bob")
	r.want(t, 1)
	if !strings.HasPrefix(r.stdout, "case:3#viewer@user:* allowed\ncase:2#viewer@user:bob denied\n") {
		t.Errorf("checks printed %q", r.stdout)
	}
}
