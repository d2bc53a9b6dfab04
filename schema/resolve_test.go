package schema

import (
	"errors"
	"testing"

	"github.com/docketdb/docket/errkind"
)

func TestResolve(t *testing.T) {
	s, err := Load("r.rebac", []byte("type user\n\ntype team {\n  relation member: user\n}\n\ntype doc {\n  relation viewer: user\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.ResolveRelation("doc", "viewer"); err != nil || r.Name != "viewer" {
		t.Fatalf("ResolveRelation(doc, viewer) = %v, %v", r, err)
	}
	for _, c := range []struct {
		typ, rel, msg, suggestion string
	}{
		{"dco", "viewer", `unknown type "dco"; did you mean "doc"?`, "doc"},
		{"doc", "veiwer", `type doc has no relation "veiwer"; did you mean "viewer"?`, "viewer"},
		{"doc", "owner", `type doc has no relation "owner"`, ""},
	} {
		_, err := s.ResolveRelation(c.typ, c.rel)
		var ne *NameError
		if !errors.As(err, &ne) || err.Error() != c.msg || ne.Suggestion != c.suggestion {
			t.Errorf("ResolveRelation(%s, %s) = %v, want %q", c.typ, c.rel, err, c.msg)
			continue
		}
		if !errors.Is(err, errkind.ErrUnknownName) || errkind.Of(err) != errkind.InvalidArgument {
			t.Errorf("%v is not of kind unknown name", err)
		}
		if ne.Relation != (c.typ == "doc") || len(ne.Known) == 0 {
			t.Errorf("%v: %+v", err, ne)
		}
	}
	if _, err := s.ResolveType("user"); err != nil {
		t.Error(err)
	}
}
