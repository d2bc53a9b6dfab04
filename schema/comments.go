package schema

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

type comment struct {
	line    int
	after   int    // line where the last significant token before it ends
	text    string // without the leading "//", trailing space trimmed
	ownLine bool   // nothing but space before it on its line
}

// attachComments gives each declaration the comments written around it:
// a block directly above is its doc comment, one at the end of its line is
// its line comment, and blocks separated by a blank line are kept as
// detached blocks so the formatter loses nothing.
func attachComments(f *File, filename, text string) {
	comments := scanComments(filename, text)
	if len(comments) == 0 {
		return
	}
	type decl struct {
		line   int
		doc    *[]string
		det    *[][]string
		lineC  *string
		parent *TypeDecl // for relations
	}
	var decls []decl
	for _, t := range f.Types {
		decls = append(decls, decl{line: t.Pos.Line, doc: &t.Doc, det: &t.Detached, lineC: &t.Comment})
		for _, r := range t.Relations {
			decls = append(decls, decl{line: r.Pos.Line, doc: &r.Doc, det: &r.Detached, lineC: &r.Comment, parent: t})
		}
	}
	// closing brace lines of types, to know whether a block sits inside one
	typeEnd := func(t *TypeDecl) int {
		if !t.Body {
			return t.Pos.Line
		}
		return t.EndPos.Line
	}
	var block []comment
	flush := func() {
		if len(block) == 0 {
			return
		}
		lines := make([]string, len(block))
		for i, c := range block {
			lines[i] = c.text
		}
		last := block[len(block)-1].line
		first := block[0].line
		gap := first-block[0].after > 1
		inner := func(t *TypeDecl) {
			if len(t.Inner) == 0 {
				t.InnerGap = gap && len(t.Relations) > 0
			}
			t.Inner = append(t.Inner, lines)
		}
		defer func() { block = nil }()
		for i, d := range decls {
			if d.line <= last {
				continue
			}
			// A block after the last relation of a type, before its `}`,
			// belongs to that type.
			if i > 0 {
				for _, t := range f.Types {
					if t.Body && t.Pos.Line <= first && typeEnd(t) >= last && (d.parent != t) {
						inner(t)
						return
					}
				}
			}
			if d.line == last+1 {
				*d.doc = lines
			} else {
				*d.det = append(*d.det, lines)
			}
			return
		}
		for _, t := range f.Types {
			if t.Body && t.Pos.Line <= first && typeEnd(t) >= last {
				inner(t)
				return
			}
		}
		if len(f.Trailing) == 0 {
			f.TrailingGap = gap && len(f.Types) > 0
		}
		f.Trailing = append(f.Trailing, lines)
	}
	for _, c := range comments {
		if !c.ownLine {
			flush()
			text := strings.TrimSpace(c.text)
			if text == "" {
				// An empty `//` at the end of a line says nothing; the
				// formatter drops it.
				continue
			}
			// The last declaration starting on or before this line owns it.
			for i := len(decls) - 1; i >= 0; i-- {
				if decls[i].line <= c.line {
					if *decls[i].lineC != "" {
						*decls[i].lineC += " "
					}
					*decls[i].lineC += text
					break
				}
			}
			continue
		}
		if len(block) > 0 && block[len(block)-1].line != c.line-1 {
			flush()
		}
		block = append(block, c)
	}
	flush()
	for _, t := range f.Types {
		t.Detached = mergeDetached(t.Detached)
		for _, r := range t.Relations {
			r.Detached = mergeDetached(r.Detached)
		}
	}
}

func mergeDetached(d [][]string) [][]string {
	if len(d) == 0 {
		return nil
	}
	return d
}

func scanComments(filename, text string) []comment {
	lex, err := lexDef.LexString(filename, text)
	if err != nil {
		return nil
	}
	var out []comment
	lastLine := 0 // line of the last significant token
	for {
		t, err := lex.Next()
		if err != nil || t.EOF() {
			return out
		}
		switch t.Type {
		case tokComment:
			out = append(out, comment{
				line:    t.Pos.Line,
				text:    strings.TrimRight(strings.TrimPrefix(t.Value, "//"), " \t\r"),
				ownLine: lastLine != t.Pos.Line,
				after:   lastLine,
			})
		case tokNewline:
		default:
			if strings.TrimSpace(t.Value) != "" {
				lastLine = endLine(t)
			}
		}
	}
}

func endLine(t lexer.Token) int { return t.Pos.Line + strings.Count(t.Value, "\n") }
