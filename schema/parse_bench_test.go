package schema

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses the seed schemas (the largest real ones), to
// compare parser changes: go test ./schema -run XXX -bench Parse -count 6
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"casebook", "caseware"} {
		src, err := os.ReadFile(filepath.Join("..", "schemas", name, "schema.rebac"))
		if err != nil {
			b.Skip(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Parse("schema.rebac", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
