package tuples

import "testing"

// FuzzParse: whatever parses prints back to the same text and passes the
// checks of tuples built in code. (store/kv fuzzes the keys of parsed
// tuples.)
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"doc:1#viewer@user:ana",
		"doc:a@b.org#viewer@user:ana@example.org",
		"doc:1#viewer@team:east#member",
		"doc:1#viewer@user:*",
		"doc:urn:x#viewer@user:名前",
		"doc:1#viewer@user:a#b#c",
		"doc:##@@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			return
		}
		if tp.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, tp.String())
		}
		if msg := checkSyntax(tp); msg != "" {
			t.Fatalf("Parse accepted %q, which checkSyntax refuses: %s", s, msg)
		}
	})
}
