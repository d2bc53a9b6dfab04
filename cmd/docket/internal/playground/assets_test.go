package playground

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The embedded bundle is built from the sources beside it: its first line
// records their hash (web/build.mjs), which must match. After editing
// web/src, run `npm ci && npm run build` in web/.
func TestBundleIsBuiltFromSources(t *testing.T) {
	bundle, err := os.ReadFile(filepath.Join("assets", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`sources sha256 ([0-9a-f]{64})`).FindSubmatch(bundle[:min(len(bundle), 400)])
	if m == nil {
		t.Fatal("assets/app.js does not start with the sources hash; build it with web/build.mjs")
	}
	h := sha256.New()
	entries, err := os.ReadDir(filepath.Join("web", "src"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"package-lock.json"}
	var src []string
	for _, e := range entries {
		src = append(src, "src/"+e.Name())
	}
	sort.Strings(src)
	for _, f := range append(files, src...) {
		data, err := os.ReadFile(filepath.Join("web", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(f + "\n"))
		h.Write(data)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != string(m[1]) {
		t.Errorf("assets/app.js was built from other sources (hash %s, sources %s): run `npm ci && npm run build` in %s",
			m[1], got, filepath.Join("cmd", "docket", "internal", "playground", "web"))
	}
	for _, name := range []string{"index.html", "app.css"} {
		page, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
			t.Errorf("assets/%s refers to the network; the page must load nothing from outside the binary", name)
		}
	}
}
