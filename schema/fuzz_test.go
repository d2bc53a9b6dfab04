package schema

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary text to Parse and Load. Whatever the input: no
// panic (Parse and Compile turn panics into an "internal" diagnostic, which
// counts as a failure here), every diagnostic points inside the text, every
// node of what parsed has an exact range, and a schema
// that loads formats to a fixed point that loads again to the same tree and
// the same compiled form.
//
// The default `go test` runs the seeds: every file under testdata/valid and
// testdata/invalid, 50 generated schemas and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.rebac")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	// Generated schemas give the mutator well-formed structure to work on.
	r := rand.New(rand.NewPCG(3, 4))
	generated := 50
	if raceEnabled {
		generated = 10
	}
	for range generated {
		f.Add([]byte(randomSchema(r)))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sameTokens(t, strings.TrimPrefix(string(src), "\uFEFF"))
		// What parses, even of a broken file, has exact ranges and
		// formats without failing.
		if pf, perr := Parse("fuzz.rebac", src); pf != nil {
			checkRanges(t, strings.TrimPrefix(string(src), "\uFEFF"), pf, perr == nil)
			_ = Format(pf)
			var list ErrorList
			if perr != nil && (!errors.As(perr, &list) || len(list) == 0 || len(list) > MaxSyntaxErrors) {
				t.Fatalf("Parse returned %T %v, want 1 to %d errors", perr, perr, MaxSyntaxErrors)
			}
		}
		s, err := Load("fuzz.rebac", src)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Load returned %T %v, want a non-empty ErrorList", err, err)
			}
			checkDiagnostics(t, "fuzz.rebac", src, list)
			return
		}
		checkDiagnostics(t, "fuzz.rebac", src, s.Warnings)
		once := s.Text()
		again, err := Load("fuzz.rebac", []byte(once))
		if err != nil {
			t.Fatalf("formatted text does not load: %v\n--- input ---\n%q\n--- formatted ---\n%s", err, src, once)
		}
		if twice := again.Text(); twice != once {
			t.Fatalf("format is not idempotent\n--- input ---\n%q\n--- once ---\n%s--- twice ---\n%s", src, once, twice)
		}
		if a, b := fileTree(s.File()), fileTree(again.File()); a != b {
			t.Fatalf("formatting changed the tree\n--- input ---\n%q\n--- before ---\n%s--- after ---\n%s", src, a, b)
		}
		if a, b := dumpSchema(s), dumpSchema(again); a != b {
			t.Fatalf("formatted text compiles differently\n--- input ---\n%q\n--- before ---\n%s--- after ---\n%s", src, a, b)
		}
	})
}

// checkDiagnostics checks that each diagnostic names the file, lies inside
// the text (the column just past the end of a line is allowed: that is
// where a missing token is reported) and is not an internal error.
func checkDiagnostics(t *testing.T, name string, src []byte, list []Diagnostic) {
	t.Helper()
	text := strings.TrimPrefix(string(src), "\uFEFF")
	lines := strings.Split(text, "\n")
	for _, d := range list {
		// Parse and Compile word a recovered panic "internal parser error"
		// and "internal compiler error"; a message may quote the word from
		// the input.
		if strings.HasPrefix(d.Msg, "internal parser error") || strings.HasPrefix(d.Msg, "internal compiler error") {
			t.Fatalf("internal error for %q: %s", src, d)
		}
		if d.Pos.Filename != name {
			t.Fatalf("diagnostic without the file name for %q: %s", src, d)
		}
		if d.Pos.Line < 1 || d.Pos.Line > len(lines) {
			t.Fatalf("line out of range for %q: %s", src, d)
		}
		if n := utf8.RuneCountInString(lines[d.Pos.Line-1]); d.Pos.Column < 1 || d.Pos.Column > n+1 {
			t.Fatalf("column out of range (line has %d characters) for %q: %s", n, src, d)
		}
		if d.Msg == "" {
			t.Fatalf("empty message for %q", src)
		}
	}
}

// TestEveryPrefix loads every prefix of every valid schema: text cut off
// anywhere gives diagnostics inside the text, never an internal error.
func TestEveryPrefix(t *testing.T) {
	step := 1
	if raceEnabled {
		step = 37
	}
	for _, path := range testdataFiles(t, "valid") {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(src); n += step {
			s, err := Load("prefix.rebac", src[:n])
			var list ErrorList
			switch {
			case err == nil:
				list = s.Warnings
			case !errors.As(err, &list):
				t.Fatalf("%s[:%d]: Load returned %T", path, n, err)
			}
			checkDiagnostics(t, "prefix.rebac", src[:n], list)
		}
	}
}
