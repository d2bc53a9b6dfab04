package lsp

import (
	"errors"
	"strings"
	"unicode"

	"github.com/docketdb/docket/schema"
	protocol "github.com/tliron/glsp/protocol_3_16"
	"gopkg.in/yaml.v3"
)

// embedding says where a schema sits in a document: the whole document for
// a .rebac file, the block scalar under `schema: |` for a validation file.
// Schema line L, column C is document line L+lines, column C+columns.
type embedding struct {
	schema       string
	lines, cols  int
	found        bool
	validateYAML bool
}

// analysis is what is known about one version of a document.
type analysis struct {
	doc  *text
	emb  embedding
	file *schema.File // nil when the schema does not parse
	// syntaxErrors is set when parsing failed; idx may still hold what a
	// recovering parser read.
	syntaxErrors bool
	sch          *schema.Schema // nil when it does not compile
	diags        []schema.Diagnostic
	idx          *index // nil when nothing was parsed
}

// analyze parses and compiles the schema in a document. filename is used
// in diagnostics as `schema check` uses the path it is given.
func analyze(filename, src string, isYAML bool) *analysis {
	a := &analysis{doc: newText(src)}
	if isYAML {
		a.emb = yamlSchema(src)
	} else {
		a.emb = embedding{schema: src, found: true}
	}
	if !a.emb.found {
		return a
	}
	f, err := schema.Parse(filename, []byte(a.emb.schema))
	if f != nil {
		a.idx = buildIndex(f)
	}
	if err != nil {
		// A parser that recovers gives the tree of what it could read:
		// enough to navigate, not to rewrite (formatting and rename
		// refuse), since the text it skipped is not in it.
		a.diags, a.syntaxErrors = diagnosticsOf(err), true
		return a
	}
	a.file = f
	s, err := schema.Compile(f)
	if err != nil {
		a.diags = diagnosticsOf(err)
		return a
	}
	a.sch, a.diags = s, s.Warnings
	return a
}

func diagnosticsOf(err error) []schema.Diagnostic {
	var list schema.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return []schema.Diagnostic{{Pos: schema.Pos{Line: 1, Column: 1}, Msg: err.Error()}}
}

// yamlSchema finds the inline schema of a validation file, as `docket
// validate` reads it (a `schema: |` block at the top level).
func yamlSchema(src string) embedding {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil || len(root.Content) == 0 {
		return embedding{validateYAML: true}
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return embedding{validateYAML: true}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value != "schema" || v.Kind != yaml.ScalarNode || v.Style&yaml.LiteralStyle == 0 {
			continue
		}
		lines := strings.Split(src, "\n")
		indent := 0
		for j := v.Line; j < len(lines); j++ { // v.Line is 1-based: lines[v.Line] is the line after `|`
			if l := strings.TrimRight(lines[j], "\r"); strings.TrimSpace(l) != "" {
				indent = len(l) - len(strings.TrimLeft(l, " "))
				break
			}
		}
		return embedding{schema: v.Value, lines: v.Line, cols: indent, found: true, validateYAML: true}
	}
	return embedding{validateYAML: true}
}

// toDoc converts a schema position to a protocol position in the document.
func (a *analysis) toDoc(line, col int) protocol.Position {
	return a.doc.position(line+a.emb.lines, col+a.emb.cols)
}

// fromDoc converts a protocol position in the document to a schema
// position; ok is false outside the schema.
func (a *analysis) fromDoc(p protocol.Position) (line, col int, ok bool) {
	line, col = a.doc.schemaPos(p)
	line, col = line-a.emb.lines, col-a.emb.cols
	return line, col, a.emb.found && line >= 1 && col >= 1
}

func (a *analysis) spanRange(s span) protocol.Range {
	return protocol.Range{Start: a.toDoc(s.line, s.col), End: a.toDoc(s.endLine, s.endCol)}
}

// diagnosticRange is the range a diagnostic marks: the token at its
// position, derived from the text there (a name, or one character; empty
// at the end of a line or file).
func (a *analysis) diagnosticRange(d schema.Diagnostic) protocol.Range {
	line, col := d.Pos.Line, d.Pos.Column
	start := a.toDoc(line, col)
	end := start
	docLine := int(start.Line)
	if docLine < len(a.doc.lines) {
		rest := []rune(a.doc.lines[docLine])
		i := runeIndex(a.doc.lines[docLine], int(start.Character))
		n := 0
		for i+n < len(rest) && isNameRune(rest[i+n]) {
			n++
		}
		if n == 0 && i < len(rest) {
			n = 1
		}
		units := 0
		for _, r := range rest[i : i+n] {
			units += utf16Len(r)
		}
		end.Character += uint32(units)
	}
	return protocol.Range{Start: start, End: end}
}

// runeIndex converts a UTF-16 offset in line to an index in its runes.
func runeIndex(line string, units int) int {
	i, u := 0, 0
	for _, r := range line {
		if u >= units {
			break
		}
		u += utf16Len(r)
		i++
	}
	return i
}

func isNameRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// protocolDiagnostics converts the schema's diagnostics; the message is the
// text `schema check` prints after the position, hint included.
func (a *analysis) protocolDiagnostics() []protocol.Diagnostic {
	out := make([]protocol.Diagnostic, 0, len(a.diags))
	source := "docket"
	for _, d := range a.diags {
		sev := protocol.DiagnosticSeverityError
		if d.Severity == schema.Warning {
			sev = protocol.DiagnosticSeverityWarning
		}
		out = append(out, protocol.Diagnostic{
			Range:    a.diagnosticRange(d),
			Severity: &sev,
			Source:   &source,
			Message:  diagnosticMessage(d),
		})
	}
	return out
}

// diagnosticMessage is a diagnostic as `schema check` prints it, without
// the position and the "warning: " the severity already says.
func diagnosticMessage(d schema.Diagnostic) string {
	if d.Hint == "" {
		return d.Msg
	}
	return d.Msg + "; " + d.Hint
}
