package playground

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// Panes are the three parts of a validation file the page edits side by
// side: the schema, the tuples (one a line) and the rest of the file
// (assertions and expected), as YAML.
type Panes struct {
	Name       string `json:"name"`
	Schema     string `json:"schema"`
	Tuples     string `json:"tuples"`
	Assertions string `json:"assertions"`
}

// readFunc reads a file that a validation file names (schema_file,
// tuples_file), by a path relative to the validation file.
type readFunc func(rel string) ([]byte, error)

// split reads a validation file into panes. A schema_file or tuples_file is
// read with read; without one (a file uploaded to the page) the file must
// be self-contained.
func split(name string, src []byte, read readFunc) (*Panes, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: a validation file is a mapping with schema, tuples, assertions and expected", name)
	}
	lines := strings.SplitAfter(string(src), "\n")
	m := root.Content[0]
	p := &Panes{Name: path.Base(name)}
	var rest strings.Builder
	// Comments above the first key stay with the assertions.
	if len(m.Content) > 0 {
		for _, l := range lines[:m.Content[0].Line-1] {
			rest.WriteString(l)
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch k.Value {
		case "schema":
			p.Schema = v.Value
		case "schema_file", "tuples_file":
			if read == nil {
				return nil, fmt.Errorf("%s:%d: %s %s cannot be opened here; put the %s in the file itself", name, k.Line, k.Value, v.Value,
					strings.TrimSuffix(k.Value, "_file"))
			}
			data, err := read(v.Value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", name, k.Line, k.Value, err)
			}
			if k.Value == "schema_file" {
				p.Schema = string(data)
			} else {
				p.Tuples = string(data)
			}
		case "tuples":
			// The items, and the comments between them, line by line.
			items := map[int]string{}
			for _, it := range v.Content {
				items[it.Line] = it.Value
			}
			end := len(lines)
			if i+2 < len(m.Content) {
				end = m.Content[i+2].Line - 1
			}
			var b strings.Builder
			for n := k.Line + 1; n <= end; n++ {
				if item, ok := items[n]; ok {
					b.WriteString(item + "\n")
				} else if c := strings.TrimSpace(lines[n-1]); strings.HasPrefix(c, "#") && !strings.HasPrefix(lines[n-1], "#") {
					// Indented: a comment among the items. One at the
					// start of a line belongs to the next key.
					b.WriteString(c + "\n")
				}
			}
			if len(items) > 0 && b.Len() == 0 {
				// A flow sequence on the key's line.
				for _, it := range v.Content {
					b.WriteString(it.Value + "\n")
				}
			}
			p.Tuples = b.String()
		default:
			// The key's lines as written, up to the next key.
			end := len(lines)
			if i+2 < len(m.Content) {
				end = m.Content[i+2].Line - 1
			}
			// Top-level comments directly above the key belong to it.
			start := k.Line - 1
			for start > m.Content[0].Line-1 && strings.HasPrefix(lines[start-1], "#") {
				start--
			}
			for _, l := range lines[start:end] {
				rest.WriteString(l)
			}
		}
	}
	p.Assertions = rest.String()
	return p, nil
}

// composed is a validation file built from panes, with where each pane's
// lines went.
type composed struct {
	yaml string
	// schemaLine is the file line of the schema's first line; tuplesLine
	// of the first tuple item; assertionsLine of the assertions' first.
	schemaLine, tuplesLine, assertionsLine int
	// tupleLines maps the file line of each tuple item to its pane line.
	tupleLines map[int]int
}

// schemaIndent is the indentation of the schema block in a composed file.
const schemaIndent = 2

func compose(p *Panes) *composed {
	c := &composed{tupleLines: map[int]int{}}
	var b strings.Builder
	line := 1
	b.WriteString("schema: |\n")
	line++
	c.schemaLine = line
	schema := strings.TrimRight(p.Schema, "\n")
	for _, l := range strings.Split(schema, "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(strings.Repeat(" ", schemaIndent) + l)
		}
		b.WriteString("\n")
		line++
	}
	b.WriteString("tuples:\n")
	line++
	c.tuplesLine = line
	for i, l := range strings.Split(p.Tuples, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "#") || strings.HasPrefix(l, "//"):
			b.WriteString("  # " + strings.TrimLeft(l, "#/ ") + "\n")
			c.tupleLines[line] = i + 1
		default:
			b.WriteString("  - " + yamlString(l) + "\n")
			c.tupleLines[line] = i + 1
		}
		line++
	}
	c.assertionsLine = line
	b.WriteString(p.Assertions)
	if p.Assertions != "" && !strings.HasSuffix(p.Assertions, "\n") {
		b.WriteString("\n")
	}
	c.yaml = b.String()
	return c
}

// yamlString writes a tuple as a YAML scalar: plain when it holds only
// characters that read back as themselves anywhere in a plain scalar
// (names, ids, `:#@*.-/`), else double-quoted (a JSON string is a valid
// YAML one), as a condition's context or an unusual id needs.
func yamlString(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_:#@*.-/", r)) {
			q, _ := json.Marshal(s)
			return string(q)
		}
	}
	return s
}

// Where is a position in the panes.
type Where struct {
	Pane   string `json:"pane"` // "schema", "tuples" or "assertions"
	Line   int    `json:"line"` // 1-based
	Column int    `json:"column,omitempty"`
}

// locate maps a line (and column) of the composed file to its pane.
func (c *composed) locate(line, col int) Where {
	switch {
	case line >= c.assertionsLine:
		return Where{Pane: "assertions", Line: line - c.assertionsLine + 1, Column: col}
	case line >= c.tuplesLine:
		if pl, ok := c.tupleLines[line]; ok {
			// The item's text starts after "  - ".
			if col > 4 {
				col -= 4
			}
			return Where{Pane: "tuples", Line: pl, Column: col}
		}
		return Where{Pane: "tuples", Line: 1}
	case line >= c.schemaLine:
		if col > schemaIndent {
			col -= schemaIndent
		}
		return Where{Pane: "schema", Line: line - c.schemaLine + 1, Column: col}
	}
	return Where{Pane: "schema", Line: 1}
}

// assertionItem is one allowed or denied assertion, at its pane line.
type assertionItem struct {
	Kind  string `json:"kind"`
	Query string `json:"query"`
	Line  int    `json:"line"`
}

// assertionItems lists the assertions of a composed file that parses.
func assertionItems(c *composed) []assertionItem {
	var root yaml.Node
	if yaml.Unmarshal([]byte(c.yaml), &root) != nil || len(root.Content) == 0 {
		return nil
	}
	out := []assertionItem{}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "assertions" || m.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		a := m.Content[i+1]
		for j := 0; j+1 < len(a.Content); j += 2 {
			for _, it := range a.Content[j+1].Content {
				out = append(out, assertionItem{Kind: a.Content[j].Value, Query: it.Value, Line: c.locate(it.Line, 0).Line})
			}
		}
	}
	return out
}
