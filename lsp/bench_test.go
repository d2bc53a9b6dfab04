package lsp

import (
	"os"
	"testing"
)

// BenchmarkAnalyzeCasebook measures what each keystroke costs the server:
// parse, compile, index and diagnostics of the Casebook seed schema.
func BenchmarkAnalyzeCasebook(b *testing.B) {
	src, err := os.ReadFile("../schemas/casebook/schema.rebac")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		a := analyze("schema.rebac", string(src), false)
		if a.sch == nil {
			b.Fatal(a.diags)
		}
		_ = a.protocolDiagnostics()
	}
}
