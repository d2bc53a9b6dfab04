package schema

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	load := func(src string) *Schema {
		t.Helper()
		s, err := Load("s.rebac", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := load(`type user
type team {
  relation member: user
}
type case {
  relation assignee: user
  relation watcher: user
  relation viewer = assignee
}
type memo
`)
	next := load(`type user
// Teams nest now.
type team {
  relation member: user | team#member
}
type case {
  // Reordered and documented: not a difference.
  relation viewer = assignee | access_list
  relation assignee: user
  relation access_list: user | team#member
}
type folder {
  relation owner: user
}
`)
	var got []string
	for _, d := range Diff(old, next) {
		got = append(got, d.String())
	}
	want := []string{
		"~ team#member: user | team#member   (was: user)",
		"~ case#viewer = assignee | access_list   (was = assignee)",
		"+ case#access_list: user | team#member",
		"- case#watcher: user",
		"+ folder",
		"+ folder#owner: user",
		"- memo",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := Diff(next, next); len(d) != 0 {
		t.Errorf("a schema differs from itself: %v", d)
	}
	if d := Diff(nil, old); len(d) != 8 || d[0].Kind != Added || d[0].Type != "user" {
		t.Errorf("Diff from nothing: %v", d)
	}
}
