// Package validate runs validation files: a schema, tuples, and the
// answers a schema author expects (assertions that checks are allowed or
// denied, exhaustive lists of subjects and resources), each on a fresh
// in-memory store. The file format is described in docs/cli.md.
package validate

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem with the validation file itself (not a failed
// expectation): it makes the file's result unusable.
type Error struct {
	Pos  string // FILE:LINE or FILE:LINE:COL
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	s := e.Pos + ": " + e.Msg
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// ErrorList is every problem found in a validation file, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// doc is a validation file read into YAML nodes, which keep line numbers.
type doc struct {
	path  string
	lines []string // the raw file, for block scalar indentation
	keys  map[string]*yaml.Node
	keyAt map[string]*yaml.Node
	// overrides are the command line's clock and context.
	overrides Overrides
}

var knownKeys = []string{"schema", "schema_file", "tuples", "tuples_file", "now", "context", "assertions", "expected"}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *doc) errAt(n *yaml.Node, hint, format string, args ...any) *Error {
	return &Error{Pos: fmt.Sprintf("%s:%d:%d", d.path, n.Line, n.Column), Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// readDoc parses the file and checks its top-level shape.
func readDoc(path string) (*doc, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &Error{Pos: path, Msg: "no such file", Hint: "check the path"}
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseDoc(path, src)
}

// parseDoc reads a validation file's text; path names it in positions and
// is where schema_file and tuples_file are found from.
func parseDoc(path string, src []byte) (*doc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, yamlError(path, err)
	}
	d := &doc{path: path, lines: strings.Split(string(src), "\n"), keys: map[string]*yaml.Node{}, keyAt: map[string]*yaml.Node{}}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &Error{Pos: path + ":1", Msg: "empty validation file", Hint: "give schema or schema_file, tuples, assertions and expected"}
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, d.errAt(m, "give schema or schema_file, tuples, assertions and expected", "a validation file must be a mapping")
	}
	var errs ErrorList
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		known := false
		for _, name := range knownKeys {
			known = known || k.Value == name
		}
		switch {
		case !known:
			errs = append(errs, d.errAt(k, "known keys: "+strings.Join(knownKeys, ", "), "unknown key %q", k.Value))
		case d.keys[k.Value] != nil:
			errs = append(errs, d.errAt(k, "give it once", "duplicate key %q", k.Value))
		default:
			d.keys[k.Value], d.keyAt[k.Value] = v, k
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

// yamlError turns a YAML syntax error into FILE:LINE: message.
func yamlError(path string, err error) error {
	var out ErrorList
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if m := yamlLine.FindStringSubmatch(l); m != nil {
			out = append(out, &Error{Pos: path + ":" + m[1], Msg: m[2], Hint: "fix the YAML syntax"})
		} else if strings.HasPrefix(l, "line ") {
			n, rest, _ := strings.Cut(strings.TrimPrefix(l, "line "), ": ")
			if _, convErr := strconv.Atoi(n); convErr == nil {
				out = append(out, &Error{Pos: path + ":" + n, Msg: rest, Hint: "fix the YAML syntax"})
				continue
			}
			out = append(out, &Error{Pos: path, Msg: l})
		} else {
			out = append(out, &Error{Pos: path, Msg: strings.TrimPrefix(l, "yaml: "), Hint: "fix the YAML syntax"})
		}
	}
	return out
}

// scalars returns the items of a sequence of strings.
func (d *doc) scalars(n *yaml.Node, what string) ([]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errAt(n, "write a list, one item a line: `- item` (or [a, b])", "%s must be a list", what)
	}
	var errs ErrorList
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode {
			errs = append(errs, d.errAt(it, "write each item as a plain string", "%s: an item must be a string", what))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return n.Content, nil
}

// pairs returns the key/value nodes of a mapping.
func (d *doc) pairs(n *yaml.Node, what, hint string) ([][2]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.errAt(n, hint, "%s must be a mapping", what)
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out, nil
}

// blockIndent is the column (0-based) at which the text of a block scalar
// starts, read from its first non-blank line.
func (d *doc) blockIndent(n *yaml.Node) int {
	for i := n.Line; i < len(d.lines); i++ { // n.Line is 1-based: lines[n.Line] is the next line
		l := d.lines[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		return len(l) - len(strings.TrimLeft(l, " "))
	}
	return 0
}
