package lsp

import protocol "github.com/tliron/glsp/protocol_3_16"

// Diagnostic is one finding of `docket schema check` with the range an
// editor marks: lines from 0, characters in UTF-16 code units (the
// protocol's positions, and a JavaScript string's indices).
type Diagnostic struct {
	Range    protocol.Range `json:"range"`
	Severity string         `json:"severity"` // "error" or "warning"
	Message  string         `json:"message"`
}

// Check parses and compiles a schema and returns what `schema check`
// reports about it, for editors other than language-server clients (the
// playground).
func Check(filename, src string) []Diagnostic {
	a := analyze(filename, src, false)
	out := make([]Diagnostic, 0, len(a.diags))
	for _, d := range a.protocolDiagnostics() {
		sev := "error"
		if *d.Severity == protocol.DiagnosticSeverityWarning {
			sev = "warning"
		}
		out = append(out, Diagnostic{Range: d.Range, Severity: sev, Message: d.Message})
	}
	return out
}
