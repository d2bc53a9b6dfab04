package cli

import (
	"strings"
	"testing"
)

func TestLookupSubjectsPages(t *testing.T) {
	f := newFixture(t)
	f.run("tuple", "write", "case:1#access_list@user:carol", "case:1#access_list@user:dave", "case:1#access_list@user:erin").want(t, 0)
	all := f.run("lookup", "subjects", "case:1#viewer", "--type", "user")
	all.want(t, 0)
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		args := []string{"lookup", "subjects", "case:1#viewer", "--type", "user", "--limit", "2"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		r := f.run(args...)
		r.want(t, 0)
		if n := strings.Count(r.stdout, "\n"); n > 2 {
			t.Fatalf("page of %d", n)
		}
		seen = append(seen, strings.Fields(r.stdout)...)
		_, after, ok := strings.Cut(r.stderr, "--cursor ")
		if !ok {
			break
		}
		cursor = strings.TrimSpace(after)
	}
	if got := strings.Join(seen, "\n") + "\n"; got != all.stdout {
		t.Errorf("pages printed %q, all at once %q", got, all.stdout)
	}
	r := f.run("lookup", "subjects", "case:1#viewer", "--cursor", "nonsense")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, `invalid cursor "nonsense"`)
	r = f.run("lookup", "subjects", "case:1#viewer", "--limit", "-1")
	r.want(t, 2)
}
