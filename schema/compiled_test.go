package schema

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func loadFile(t *testing.T, path string) *Schema {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(path, src)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return s
}

// loadCasebook loads the example schema of the language design.
func loadCasebook(t *testing.T) *Schema {
	t.Helper()
	return loadFile(t, "testdata/valid/casebook.rebac")
}

func mustRel(t *testing.T, s *Schema, typ, rel string) *Relation {
	t.Helper()
	r := s.Relation(typ, rel)
	if r == nil {
		t.Fatalf("no relation %s#%s", typ, rel)
	}
	return r
}

func TestCompiledIDsAndLookups(t *testing.T) {
	s := loadCasebook(t)
	for i, typ := range s.Types {
		if typ.ID != i || s.Type(typ.Name) != typ {
			t.Errorf("type %s has id %d at index %d", typ.Name, typ.ID, i)
		}
	}
	for i, r := range s.Relations {
		if r.ID != i || s.Relation(r.Type.Name, r.Name) != r || r.Type.Relation(r.Name) != r {
			t.Errorf("relation %s has id %d at index %d", r, r.ID, i)
		}
	}
	if got := strings.Join(s.TypeNames(), " "); got != "user team case" {
		t.Errorf("TypeNames = %q", got)
	}
	if got := strings.Join(s.Type("case").RelationNames(), " "); got != "creator assignee access_list deny_list public viewer editor" {
		t.Errorf("RelationNames = %q", got)
	}
	if s.Type("nope") != nil || s.Relation("case", "nope") != nil || s.Relation("nope", "viewer") != nil {
		t.Error("unknown names must give nil")
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %v", s.Warnings)
	}
}

func TestCompiledStoredRelations(t *testing.T) {
	s := loadCasebook(t)
	user, team := s.Type("user"), s.Type("team")
	member := mustRel(t, s, "team", "member")
	access := mustRel(t, s, "case", "access_list")
	public := mustRel(t, s, "case", "public")
	viewer := mustRel(t, s, "case", "viewer")

	if !access.Stored || viewer.Stored || access.Rewrite != nil || viewer.Rewrite == nil {
		t.Error("stored/computed flags wrong")
	}
	if got := access.AllowedString(); got != "user | team#member" {
		t.Errorf("AllowedString = %q", got)
	}
	if got := public.AllowedString(); got != "user:*" {
		t.Errorf("AllowedString = %q", got)
	}
	cases := []struct {
		r        *Relation
		typ      *Type
		rel      *Relation
		wildcard bool
		want     bool
	}{
		{access, user, nil, false, true},
		{access, team, member, false, true},
		{access, team, nil, false, false},
		{access, user, nil, true, false},
		{public, user, nil, true, true},
		{public, user, nil, false, false},
		{member, team, member, false, true},
		{viewer, user, nil, false, false},
	}
	for _, c := range cases {
		if got := c.r.Allows(c.typ, c.rel, c.wildcard); got != c.want {
			t.Errorf("%s.Allows(%s, %v, %v) = %v", c.r, c.typ.Name, c.rel, c.wildcard, got)
		}
	}
	if !access.DirectTypes.Has(user.ID) || access.DirectTypes.Has(team.ID) || access.WildcardTypes.Has(user.ID) {
		t.Error("access_list DirectTypes/WildcardTypes wrong")
	}
	if !public.WildcardTypes.Has(user.ID) || public.DirectTypes.Has(user.ID) {
		t.Error("public DirectTypes/WildcardTypes wrong")
	}
	if len(access.SubjectSets) != 1 || access.SubjectSets[0] != member {
		t.Errorf("access_list SubjectSets = %v", access.SubjectSets)
	}
	if viewer.DirectTypes.Len() != 0 || len(viewer.SubjectSets) != 0 {
		t.Error("a computed relation accepts no subjects directly")
	}
}

func TestCompiledRewrites(t *testing.T) {
	s := loadCasebook(t)
	want := map[string]string{
		"case#viewer": "((case#creator | case#assignee | case#assignee->{user: user#team->{team: team#member}} | case#access_list | case#public) - case#deny_list)",
		"case#editor": "((case#assignee | case#access_list) & case#viewer)",
	}
	for name, w := range want {
		typ, rel, _ := strings.Cut(name, "#")
		if got := nodeString(s, mustRel(t, s, typ, rel).Rewrite); got != w {
			t.Errorf("%s rewrite\n got %s\nwant %s", name, got, w)
		}
	}
	// The path's arrows carry the text from each hop on.
	u := mustRel(t, s, "case", "viewer").Rewrite.(*Exclude).Base.(*Union)
	outer := u.Children[2].(*Arrow)
	inner := outer.Then[s.Type("user").ID].(*Arrow)
	if outer.Text != "assignee.team#member" || inner.Text != "team#member" {
		t.Errorf("arrow texts %q, %q", outer.Text, inner.Text)
	}
	if len(outer.Then) != len(s.Types) || outer.Then[s.Type("team").ID] != nil || outer.Then[s.Type("case").ID] != nil {
		t.Error("Then must be indexed by type id, nil where the hop cannot lead")
	}
	// The ref in the path is the same object as the relation.
	if inner.Then[s.Type("team").ID].(*Ref).Relation != mustRel(t, s, "team", "member") {
		t.Error("Ref does not point at the relation itself")
	}
}

func TestCompiledFlattening(t *testing.T) {
	s, err := Load("f.rebac", []byte(`type user
type doc {
  relation a: user
  relation b: user
  relation c: user
  relation d: user
  relation u = a | (b | (c | d))
  relation i = (a & b) & (c & d)
  relation m = a | b & c & d | (a - b) | c
  relation x = a - b - c
  relation p = (a)
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"u": "(doc#a | doc#b | doc#c | doc#d)",
		"i": "(doc#a & doc#b & doc#c & doc#d)",
		"m": "(doc#a | (doc#b & doc#c & doc#d) | (doc#a - doc#b) | doc#c)",
		"x": "((doc#a - doc#b) - doc#c)",
		"p": "doc#a",
	}
	for rel, w := range want {
		if got := nodeString(s, mustRel(t, s, "doc", rel).Rewrite); got != w {
			t.Errorf("%s: got %s, want %s", rel, got, w)
		}
	}
}

func TestCompiledMultiHop(t *testing.T) {
	s := loadFile(t, "testdata/valid/multi_hop.rebac")
	want := map[string]string{
		"folder#can_view": "(folder#viewer" +
			" | folder#parent->{folder: folder#can_view, drive: drive#can_view}" +
			" | folder#owner->{org: org#member, group: group#member}" +
			" | folder#owner->{org: org#parent->{org: org#can_admin}}" +
			" | folder#parent->{folder: folder#owner->{org: org#admin}, drive: drive#owner->{org: org#admin}})",
		"drive#can_view": "(drive#owner->{org: org#member} | drive#owner->{org: org#parent->{org: org#parent->{org: org#admin}}})",
		"org#can_admin":  "(org#admin | org#parent->{org: org#can_admin})",
	}
	for name, w := range want {
		typ, rel, _ := strings.Cut(name, "#")
		if got := nodeString(s, mustRel(t, s, typ, rel).Rewrite); got != w {
			t.Errorf("%s\n got %s\nwant %s", name, got, w)
		}
	}
}

func TestCompiledReach(t *testing.T) {
	s := loadCasebook(t)
	want := map[string]string{
		"user#team":        "team |  | user#team",
		"team#member":      "user |  | team#member",
		"case#creator":     "user |  | case#creator",
		"case#access_list": "user |  | team#member case#access_list",
		"case#public":      "user | user:* | case#public",
		"case#viewer":      "user | user:* | team#member case#creator case#assignee case#access_list case#public case#viewer",
		"case#editor":      "user |  | team#member case#assignee case#access_list case#editor",
	}
	for name, w := range want {
		typ, rel, _ := strings.Cut(name, "#")
		r := mustRel(t, s, typ, rel)
		got := typeSet(s, r.ReachTypes, "") + " | " + typeSet(s, r.ReachWildcard, ":*") + " | " + relSet(s, r.ReachSets)
		if got != w {
			t.Errorf("%s reach\n got %s\nwant %s", name, got, w)
		}
	}
	for _, r := range s.Relations {
		if !r.ReachSets.Has(r.ID) {
			t.Errorf("%s does not reach its own subject set", r)
		}
	}
}

func TestCompiledReachExclusionAndIntersection(t *testing.T) {
	s, err := Load("r.rebac", []byte(`type user
type bot
type group {
  relation member: user | bot | group#member
}
type doc {
  relation people: user | user:*
  relation bots: bot | group#member
  relation deny: user | bot:*
  relation both = people & bots
  relation shared = people & (bots | people)
  relation allowed = (people | bots) - deny
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		// Exclusion reaches what its base reaches; the subtracted side can
		// only take away.
		"doc#allowed": "user bot | user:* | group#member doc#people doc#bots doc#allowed",
		"doc#shared":  "user | user:* | doc#people doc#shared",
		// bots reaches users through groups, so the sides share `user`.
		"doc#both": "user |  | doc#both",
	}
	for name, w := range want {
		typ, rel, _ := strings.Cut(name, "#")
		r := mustRel(t, s, typ, rel)
		got := typeSet(s, r.ReachTypes, "") + " | " + typeSet(s, r.ReachWildcard, ":*") + " | " + relSet(s, r.ReachSets)
		if got != w {
			t.Errorf("%s reach\n got %s\nwant %s", name, got, w)
		}
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %v", s.Warnings)
	}
}

func TestCompiledReverse(t *testing.T) {
	s := loadCasebook(t)
	want := map[string][]string{
		"user#team": nil,
		"team#member": {
			"subjectset team#member -> team#member",
			"subjectset team#member -> case#access_list",
			"subjectset team#member -> case#deny_list",
			"arrow team#member -> case#viewer via user#team, case#assignee conditional",
		},
		"case#creator":     {"rewrite case#creator -> case#viewer conditional"},
		"case#assignee":    {"rewrite case#assignee -> case#viewer conditional", "rewrite case#assignee -> case#editor conditional"},
		"case#access_list": {"rewrite case#access_list -> case#viewer conditional", "rewrite case#access_list -> case#editor conditional"},
		"case#deny_list":   nil,
		"case#public":      {"rewrite case#public -> case#viewer conditional"},
		"case#viewer":      {"rewrite case#viewer -> case#editor conditional"},
		"case#editor":      nil,
	}
	for name, w := range want {
		typ, rel, _ := strings.Cut(name, "#")
		var got []string
		for _, e := range mustRel(t, s, typ, rel).Reverse {
			got = append(got, edgeString(e))
		}
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s reverse edges\n got %q\nwant %q", name, got, w)
		}
	}
}

func TestCompiledReverseUnconditionalAndMultiHop(t *testing.T) {
	s := loadFile(t, "testdata/valid/multi_hop.rebac")
	var got []string
	for _, e := range mustRel(t, s, "org", "admin").Reverse {
		got = append(got, edgeString(e))
	}
	want := []string{
		"rewrite org#admin -> org#can_admin",
		"arrow org#admin -> folder#can_view via folder#owner, folder#parent",
		"arrow org#admin -> folder#can_view via drive#owner, folder#parent",
		"arrow org#admin -> drive#can_view via org#parent, org#parent, drive#owner",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("org#admin reverse edges\n got %q\nwant %q", got, want)
	}
}

// TestCompiledReachLongChain checks reach through a long chain of subject
// sets declared in the order that is worst for naive iteration.
func TestCompiledReachLongChain(t *testing.T) {
	const n = 200
	var b strings.Builder
	b.WriteString("type user\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "type t%d {\n  relation m: t%d#m\n  relation v = m\n}\n", i, i+1)
	}
	fmt.Fprintf(&b, "type t%d {\n  relation m: user\n}\n", n)
	s, err := Load("chain.rebac", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	v := mustRel(t, s, "t0", "v")
	if !v.ReachTypes.Has(s.Type("user").ID) {
		t.Error("t0#v does not reach user")
	}
	for i := 0; i <= n; i++ {
		if !v.ReachSets.Has(mustRel(t, s, fmt.Sprintf("t%d", i), "m").ID) {
			t.Fatalf("t0#v does not reach t%d#m", i)
		}
	}
	if v.ReachSets.Has(mustRel(t, s, "t1", "v").ID) {
		t.Error("t0#v reaches t1#v, which nothing stores")
	}
}
