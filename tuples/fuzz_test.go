package tuples

import (
	"bytes"
	"testing"
)

// FuzzParse: whatever parses prints back to the same text, and its keys
// decode back to the same tuple.
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
		for _, k := range [][]byte{forwardKey(nil, &tp), reverseKey(nil, &tp)} {
			back, err := decodeKey(k)
			if err != nil || back != tp {
				t.Fatalf("key %q decodes to %v, %v; want %v", k, back, err, tp)
			}
		}
		// The object's key range holds its keys and only its keys.
		prefix := prefixKey(tagForward, tp.ObjectType, tp.ObjectID, tp.Relation)
		if !bytes.HasPrefix(forwardKey(nil, &tp), prefix) {
			t.Fatalf("forward key outside its object's range")
		}
	})
}
