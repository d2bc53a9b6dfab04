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
func attachComments(f *File, tokens []lexer.Token) {
	comments := scanComments(tokens)
	if len(comments) == 0 {
		return
	}
	type decl struct {
		line   int
		doc    *[]string
		det    *[][]string
		lineC  *string
		parent *body // for relations and inclusions
	}
	bodies := fileBodies(f)
	var decls []decl
	for _, b := range bodies {
		decls = append(decls, decl{line: b.pos.Line, doc: b.doc, det: b.det, lineC: b.lineC})
		// Relations and inclusions in source order.
		rels, incs := b.relations, b.includes
		for len(rels) > 0 || len(incs) > 0 {
			if len(incs) > 0 && (len(rels) == 0 || incs[0].Pos.Offset < rels[0].Pos.Offset) {
				in := incs[0]
				decls = append(decls, decl{line: in.Pos.Line, doc: &in.Doc, det: &in.Detached, lineC: &in.Comment, parent: b})
				incs = incs[1:]
				continue
			}
			r := rels[0]
			decls = append(decls, decl{line: r.Pos.Line, doc: &r.Doc, det: &r.Detached, lineC: &r.Comment, parent: b})
			rels = rels[1:]
		}
	}
	// closing brace lines of bodies, to know whether a block sits inside one
	typeEnd := func(b *body) int {
		if !b.hasBody {
			return b.pos.Line
		}
		return b.end.Line
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
		inner := func(b *body) {
			if len(*b.inner) == 0 {
				*b.innerGap = gap && len(b.relations)+len(b.includes) > 0
			}
			*b.inner = append(*b.inner, lines)
		}
		defer func() { block = nil }()
		for i, d := range decls {
			if d.line <= last {
				continue
			}
			// A block after the last relation of a type, before its `}`,
			// belongs to that type.
			if i > 0 {
				for _, b := range bodies {
					if b.hasBody && b.pos.Line <= first && typeEnd(b) >= last && (d.parent != b) {
						inner(b)
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
		for _, b := range bodies {
			if b.hasBody && b.pos.Line <= first && typeEnd(b) >= last {
				inner(b)
				return
			}
		}
		if len(f.Trailing) == 0 {
			f.TrailingGap = gap && len(bodies) > 0
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
	for _, b := range bodies {
		*b.det = mergeDetached(*b.det)
		for _, r := range b.relations {
			r.Detached = mergeDetached(r.Detached)
		}
		for _, in := range b.includes {
			in.Detached = mergeDetached(in.Detached)
		}
	}
}

// body is a type or a partial seen the same way: a declaration with
// comments around it and relations and inclusions inside.
type body struct {
	pos, end  lexer.Position
	hasBody   bool
	relations []*RelationDecl
	includes  []*Include
	doc       *[]string
	det       *[][]string
	lineC     *string
	inner     *[][]string
	innerGap  *bool
}

// fileBodies lists the file's types and partials in source order.
func fileBodies(f *File) []*body {
	var out []*body
	ps := f.Partials
	for _, t := range f.Types {
		for len(ps) > 0 && ps[0].Pos.Offset < t.Pos.Offset {
			out = append(out, partialBody(ps[0]))
			ps = ps[1:]
		}
		out = append(out, &body{pos: t.Pos, end: t.EndPos, hasBody: t.Body, relations: t.Relations, includes: t.Includes,
			doc: &t.Doc, det: &t.Detached, lineC: &t.Comment, inner: &t.Inner, innerGap: &t.InnerGap})
	}
	for _, p := range ps {
		out = append(out, partialBody(p))
	}
	return out
}

func partialBody(p *PartialDecl) *body {
	return &body{pos: p.Pos, end: p.EndPos, hasBody: true, relations: p.Relations, includes: p.Includes,
		doc: &p.Doc, det: &p.Detached, lineC: &p.Comment, inner: &p.Inner, innerGap: &p.InnerGap}
}

func mergeDetached(d [][]string) [][]string {
	if len(d) == 0 {
		return nil
	}
	return d
}

func scanComments(tokens []lexer.Token) []comment {
	var out []comment
	lastLine := 0 // line of the last significant token
	for _, t := range tokens {
		if t.EOF() {
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
	return out
}

func endLine(t lexer.Token) int { return t.Pos.Line + strings.Count(t.Value, "\n") }
