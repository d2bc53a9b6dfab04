package arena

import (
	"slices"
	"strings"
	"testing"
)

func TestStringArena(t *testing.T) {
	var a Strings
	var got, want []string
	for i := range 5000 {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i%40)
		if i%997 == 0 {
			s = strings.Repeat("z", Block+i%3) // larger than a block
		}
		b := []byte(s)
		got = append(got, a.String(b))
		want = append(want, s)
		clear(b)
	}
	if !slices.Equal(got, want) {
		t.Fatal("arena strings changed after later copies")
	}
	if a.String(nil) != "" {
		t.Error("empty string")
	}
	// One short string costs a small block, not a full one.
	var b Strings
	b.String([]byte("u123"))
	if cap(b.block) > First {
		t.Errorf("first block holds %d bytes, want at most %d", cap(b.block), First)
	}
}
