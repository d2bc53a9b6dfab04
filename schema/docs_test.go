package schema

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsQuoteDiagnostics keeps docs/language.md in step with the code:
// every diagnostic it quotes must be exactly what the named test case
// reports today.
func TestDocsQuoteDiagnostics(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "language.md"))
	if err != nil {
		t.Fatalf("docs/language.md, whose quotes this test checks, cannot be read: %v", err)
	}
	quoted := regexp.MustCompile(`(?m)^([a-z0-9_]+\.rebac):\d+:\d+: .*$`)
	n := 0
	for _, m := range quoted.FindAllStringSubmatch(string(doc), -1) {
		want, err := os.ReadFile(filepath.Join("testdata", "invalid", strings.TrimSuffix(m[1], ".rebac")+".errors"))
		if err != nil {
			t.Errorf("docs quote %s, which has no .errors file", m[1])
			continue
		}
		if !strings.Contains("\n"+string(want), "\n"+m[0]+"\n") {
			t.Errorf("docs quote a diagnostic the code no longer reports:\n%s", m[0])
		}
		n++
	}
	if n < 40 {
		t.Errorf("docs quote only %d diagnostics", n)
	}
}
