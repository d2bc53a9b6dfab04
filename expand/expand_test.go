package expand

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/tuples"
)

const casebook = fixture.Casebook

func newSnap(t *testing.T, lines ...string) tuples.Snapshot {
	t.Helper()
	snap, closeStore, err := fixture.Load(context.Background(), casebook, lines...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	return snap
}

var data = []string{
	"case:1#creator@user:cora",
	"case:1#assignee@user:ana",
	"user:ana#team@team:east",
	"team:east#member@user:bo",
	"team:east#member@team:night#member",
	"team:night#member@team:east#member",
	"case:1#access_list@team:night#member",
	"case:1#public@user:*",
	"case:1#deny_list@user:mal",
}

func TestExpandOneLevel(t *testing.T) {
	snap := newSnap(t, data...)
	n, err := Expand(context.Background(), snap, tuples.Object{Type: "case", ID: "1"}, "viewer", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `exclusion case:1#viewer
  union creator | assignee | assignee.team#member | access_list | public
    union case:1#creator
      user:cora  [case:1#creator]
    union case:1#assignee
      user:ana  [case:1#assignee]
    union assignee.team#member
      team:east#member  [assignee.team#member]
    union case:1#access_list
      team:night#member  [case:1#access_list]
    union case:1#public
      user:*  [case:1#public]
  union case:1#deny_list
    user:mal  [case:1#deny_list]`
	if got := n.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	b, err := json.Marshal(n)
	if err != nil || !strings.Contains(string(b), `{"kind":"leaf","label":"assignee.team#member","subject":"team:east#member"}`) {
		t.Errorf("json: %s %v", b, err)
	}
	dot := DOT(n)
	if !strings.HasPrefix(dot, "digraph userset {") || !strings.Contains(dot, `n0 -> n1;`) || !strings.Contains(dot, `"user:mal  [case:1#deny_list]"`) {
		t.Errorf("dot:\n%s", dot)
	}
}

func TestExpandRecursiveCycle(t *testing.T) {
	snap := newSnap(t, data...)
	n, err := Expand(context.Background(), snap, tuples.Object{Type: "case", ID: "1"}, "access_list", Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `union case:1#access_list
  team:night#member  [case:1#access_list]
    union team:night#member
      team:east#member  [team:night#member]
        union team:east#member
          team:night#member  [team:east#member] (cycle: already expanded above)
          user:bo  [team:east#member]`
	if got := n.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	n, err = Expand(context.Background(), snap, tuples.Object{Type: "case", ID: "1"}, "access_list", Options{Recursive: true, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.String(), "team:east#member  [team:night#member] (not expanded: depth bound)") {
		t.Errorf("depth bound not shown:\n%s", n)
	}
}

func TestExpandErrors(t *testing.T) {
	snap := newSnap(t, data...)
	ctx := context.Background()
	for _, c := range []struct{ obj, rel string }{{"case:1", "nope"}, {"nope:1", "viewer"}, {"case:*", "viewer"}} {
		o, _ := tuples.ParseObject(c.obj)
		if o.Type == "" {
			o = tuples.Object{Type: "case", ID: "*"}
		}
		if _, err := Expand(ctx, snap, o, c.rel, Options{}); err == nil {
			t.Errorf("%s#%s: no error", c.obj, c.rel)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Expand(cctx, snap, tuples.Object{Type: "case", ID: "1"}, "viewer", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled expand: %v", err)
	}
}

// A hop through a relation that allows subject sets reaches the subject
// set's object, once however many tuples lead to it.
func TestExpandHopThroughSubjectSet(t *testing.T) {
	const sch = `type user

type group {
  relation member: user
  relation viewer: user
}

type doc {
  relation owner: group | group#member
  relation can_view = owner#viewer
}
`
	snap, closeStore, err := fixture.Load(context.Background(), sch,
		"doc:1#owner@group:eng#member",
		"doc:1#owner@group:eng",
		"doc:1#owner@group:ops#member",
		"group:eng#viewer@user:ana",
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	n, err := Expand(context.Background(), snap, tuples.Object{Type: "doc", ID: "1"}, "can_view", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `union owner#viewer
  group:eng#viewer  [owner#viewer]
  group:ops#viewer  [owner#viewer]`
	if got := n.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestExpandShowsConditionsOnLeaves(t *testing.T) {
	snap, closeStore, err := fixture.Load(context.Background(), `type user
condition c(x int) { x > 0 }
type doc {
  relation viewer: user | user with c | user with expiration
}
`, `doc:1#viewer@user:a[c:{"x":1}]`, "doc:1#viewer@user:b[expiration:2999-01-01T00:00:00Z]", "doc:1#viewer@user:p")
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	n, err := Expand(context.Background(), snap, tuples.Object{Type: "doc", ID: "1"}, "viewer", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := n.String()
	for _, want := range []string{`user:a[c:{"x":1}]  [doc:1#viewer]`, "user:b[expiration:2999-01-01T00:00:00Z]  [doc:1#viewer]", "user:p  [doc:1#viewer]"} {
		if !strings.Contains(got, want) {
			t.Errorf("expansion lacks %q:\n%s", want, got)
		}
	}
}

func TestExpandShowsConditionsOnHops(t *testing.T) {
	snap, closeStore, err := fixture.Load(context.Background(), `type user
condition c(x int) { x > 0 }
type folder {
  relation viewer: user
}
type doc {
  relation parent: folder | folder with c | folder with expiration
  relation can_view = parent#viewer
}
`, `doc:1#parent@folder:a[c:{"x":1}]`, "doc:1#parent@folder:b[expiration:2999-01-01T00:00:00Z]", "doc:1#parent@folder:p",
		"folder:a#viewer@user:u")
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	n, err := Expand(context.Background(), snap, tuples.Object{Type: "doc", ID: "1"}, "can_view", Options{Recursive: true, Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := `union parent#viewer
  union doc:1#parent@folder:a[c:{"x":1}]
    folder:a#viewer  [parent#viewer]
      union folder:a#viewer
        user:u  [folder:a#viewer]
  union doc:1#parent@folder:b[expiration:2999-01-01T00:00:00Z]
    folder:b#viewer  [parent#viewer]
      union folder:b#viewer
  folder:p#viewer  [parent#viewer]
    union folder:p#viewer`
	if got := n.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}
