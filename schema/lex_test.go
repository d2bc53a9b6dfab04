package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// sameTokens checks that the hand-written scanner lexes text exactly as
// the rules of lexDef do.
func sameTokens(t *testing.T, text string) {
	t.Helper()
	got, _ := lexAll("f.rebac", text)
	lex, err := lexDef.LexString("f.rebac", text)
	if err != nil {
		t.Fatalf("lexDef: %v", err)
	}
	want, err := lexer.ConsumeAll(lex)
	if err != nil {
		t.Fatalf("lexDef: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d tokens, lexDef has %d, for %q", len(got), len(want), text)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("token %d is %#v, lexDef has %#v, for %q", i, got[i], want[i], text)
		}
	}
}

func TestLexerMatchesRules(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.rebac")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTokens(t, string(src))
	}
	for _, s := range []string{"", "\r", "\r\r\n", "a\rb", "é1_x", "..", "....", "a...b", "//x\r\n//", "\xff\xfe", "\uFFFD", "٣", "Ⅻ", "x\u00a0y", "\t\v\f "} {
		sameTokens(t, s)
	}
}
