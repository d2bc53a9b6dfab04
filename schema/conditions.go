package schema

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/docketdb/docket/condition"
)

// ConditionDecl is `condition NAME(PARAM TYPE, ...) { CEL }`.
//
// Conditions are cut out of the source before the rest is parsed: their
// bodies are CEL, whose strings and operators the schema lexer does not
// know. The text they occupied is blanked (newlines kept), so every other
// position stays where it was.
type ConditionDecl struct {
	Pos lexer.Position
	// EndPos is just after the closing brace.
	EndPos lexer.Position
	Name   Ident
	Params []*ParamDecl
	// Body is the expression text between the braces, as written;
	// BodyPos is the position of its first character.
	Body    string
	BodyPos lexer.Position
	// TypesBefore is how many type declarations precede this one, so that
	// the formatter keeps conditions where they were written.
	TypesBefore int

	Doc      []string
	Detached [][]string

	end int // offset just past the closing brace
}

// ParamDecl is one `NAME TYPE` of a condition.
type ParamDecl struct {
	Name    Ident
	Type    string // as written, e.g. "map<string, int>"
	TypePos lexer.Position
}

// conditionScanner walks a schema source to find and cut out conditions.
type conditionScanner struct {
	filename string
	text     []byte
	i        int
	line     int
	col      int
}

func (s *conditionScanner) pos() lexer.Position {
	return lexer.Position{Filename: s.filename, Offset: s.i, Line: s.line, Column: s.col}
}

func (s *conditionScanner) eof() bool { return s.i >= len(s.text) }

func (s *conditionScanner) peek() rune {
	r, _ := utf8.DecodeRune(s.text[s.i:])
	return r
}

func (s *conditionScanner) advance() rune {
	r, n := utf8.DecodeRune(s.text[s.i:])
	s.i += n
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	return r
}

func (s *conditionScanner) skipSpaceAndComments() {
	for !s.eof() {
		switch r := s.peek(); {
		case r == '/' && s.i+1 < len(s.text) && s.text[s.i+1] == '/':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		case unicode.IsSpace(r):
			s.advance()
		default:
			return
		}
	}
}

func isNameRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func (s *conditionScanner) ident() (Ident, bool) {
	p := s.pos()
	start := s.i
	for !s.eof() && isNameRune(s.peek()) {
		s.advance()
	}
	if s.i == start {
		return Ident{}, false
	}
	return Ident{Pos: p, Name: string(s.text[start:s.i])}, true
}

func (s *conditionScanner) found() string {
	if s.eof() {
		return "end of file"
	}
	return quoteTok(string(s.peek()))
}

func (s *conditionScanner) fail(msg, hint string) *Diagnostic {
	return &Diagnostic{Pos: posOf(s.pos()), Msg: msg, Hint: hint}
}

// extractConditions finds the condition declarations at the top level of
// text and returns them with text in which they are blanked out.
func extractConditions(filename, text string) ([]*ConditionDecl, string, *Diagnostic) {
	if !strings.Contains(text, "condition") {
		return nil, text, nil
	}
	s := &conditionScanner{filename: filename, text: []byte(text), line: 1, col: 1}
	var out []*ConditionDecl
	depth := 0
	var open lexer.Position // the outermost `{` still open
	prevWord := ""
	for !s.eof() {
		switch r := s.peek(); {
		case r == '/' && s.i+1 < len(s.text) && s.text[s.i+1] == '/':
			s.skipSpaceAndComments()
		case r == '{':
			if depth == 0 {
				open = s.pos()
			}
			depth++
			s.advance()
			prevWord = ""
		case r == '}':
			depth--
			s.advance()
			prevWord = ""
		case isNameRune(r):
			start := s.pos()
			id, _ := s.ident()
			// `type condition` names a type; only a declaration starts with
			// the word.
			if depth == 0 && id.Name == "condition" && prevWord != "type" && prevWord != "partial" {
				decl, diag := s.condition(start)
				if diag != nil {
					return nil, text, diag
				}
				out = append(out, decl)
				prevWord = ""
				continue
			}
			if depth > 0 && id.Name == "condition" && prevWord != "relation" && prevWord != "type" &&
				s.startsLine(start) && s.declarationFollows() {
				return nil, text, &Diagnostic{Pos: posOf(start),
					Msg:  "a condition is declared at the top level, not inside a type",
					Hint: fmt.Sprintf("close the `{` at %d:%d with `}` before the condition", open.Line, open.Column)}
			}
			prevWord = id.Name
		default:
			s.advance()
			if !unicode.IsSpace(r) {
				prevWord = ""
			}
		}
	}
	if len(out) == 0 {
		return nil, text, nil
	}
	lines := strings.SplitAfter(text, "\n")
	blank := []byte(text)
	for _, d := range out {
		attachConditionComments(d, lines, blank)
		blankOut(blank, d.Pos.Offset, d.end)
	}
	return out, string(blank), nil
}

// startsLine reports whether only space precedes p on its line.
func (s *conditionScanner) startsLine(p lexer.Position) bool {
	i := p.Offset
	for i > 0 && (s.text[i-1] == ' ' || s.text[i-1] == '\t') {
		i--
	}
	return i == 0 || s.text[i-1] == '\n'
}

// declarationFollows reports whether `NAME (` comes next, as after the
// keyword of a condition declaration; it moves nothing.
func (s *conditionScanner) declarationFollows() bool {
	look := *s
	look.skipSpaceAndComments()
	if _, ok := look.ident(); !ok {
		return false
	}
	look.skipSpaceAndComments()
	return !look.eof() && look.peek() == '('
}

// condition parses one declaration whose keyword started at start.
func (s *conditionScanner) condition(start lexer.Position) (*ConditionDecl, *Diagnostic) {
	d := &ConditionDecl{Pos: start}
	s.skipSpaceAndComments()
	name, ok := s.ident()
	if !ok {
		return nil, s.fail(fmt.Sprintf("expected a condition name after `condition`, found %s", s.found()),
			"a condition is written `condition NAME(PARAM TYPE, ...) { EXPRESSION }`")
	}
	d.Name = name
	s.skipSpaceAndComments()
	if s.eof() || s.peek() != '(' {
		return nil, s.fail(fmt.Sprintf("expected `(` after the condition name, found %s", s.found()),
			"a condition is written `condition NAME(PARAM TYPE, ...) { EXPRESSION }`")
	}
	open := s.pos()
	s.advance()
	s.skipSpaceAndComments()
	if !s.eof() && s.peek() == ')' {
		s.advance()
	} else {
		for {
			s.skipSpaceAndComments()
			pname, ok := s.ident()
			if !ok {
				return nil, s.fail(fmt.Sprintf("expected a parameter name, found %s", s.found()),
					"parameters are written `NAME TYPE`, separated by `,`")
			}
			s.skipSpaceAndComments()
			p := &ParamDecl{Name: pname, TypePos: s.pos()}
			typeStart, angle := s.i, 0
			for !s.eof() {
				r := s.peek()
				if angle == 0 && (r == ',' || r == ')' || r == '{' || r == '}' || r == '\n') {
					break
				}
				switch r {
				case '<':
					angle++
				case '>':
					angle--
				}
				s.advance()
			}
			p.Type = strings.TrimSpace(string(s.text[typeStart:s.i]))
			if p.Type == "" {
				return nil, s.fail(fmt.Sprintf("expected a type for parameter `%s`, found %s", pname.Name, s.found()),
					"parameters are written `NAME TYPE`, e.g. `now timestamp`")
			}
			d.Params = append(d.Params, p)
			s.skipSpaceAndComments()
			if s.eof() || s.peek() != ',' && s.peek() != ')' {
				return nil, s.fail(fmt.Sprintf("expected `,` or `)` to close the `(` at %d:%d, found %s", open.Line, open.Column, s.found()), "")
			}
			if s.advance() == ')' {
				break
			}
		}
	}
	s.skipSpaceAndComments()
	if s.eof() || s.peek() != '{' {
		return nil, s.fail(fmt.Sprintf("expected `{` and the condition's expression, found %s", s.found()),
			"a condition is written `condition NAME(PARAM TYPE, ...) { EXPRESSION }`")
	}
	brace := s.pos()
	s.advance()
	d.BodyPos = s.pos()
	bodyStart := s.i
	if !s.skipCEL() {
		return nil, &Diagnostic{Pos: posOf(brace), Msg: "the `{` of condition `" + name.Name + "` is never closed",
			Hint: "end the expression with `}`"}
	}
	d.Body = string(s.text[bodyStart:s.i])
	s.advance() // the closing brace
	d.end = s.i
	d.EndPos = s.pos()
	return d, nil
}

// skipCEL moves to the `}` that closes a CEL body, skipping braces inside
// string literals, comments and map literals. It reports whether one was
// found.
func (s *conditionScanner) skipCEL() bool {
	depth := 0
	for !s.eof() {
		r := s.peek()
		switch {
		case r == '/' && s.i+1 < len(s.text) && s.text[s.i+1] == '/':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
			continue
		case r == '"' || r == '\'':
			s.skipString(r)
			continue
		case r == '{':
			depth++
		case r == '}':
			if depth == 0 {
				return true
			}
			depth--
		}
		s.advance()
	}
	return false
}

// skipString skips a CEL string literal: '...', "...", or tripled. Raw
// and byte prefixes (r, b) are letters before the quote and need nothing.
func (s *conditionScanner) skipString(q rune) {
	triple := string([]rune{q, q, q})
	raw := s.i > 0 && (s.text[s.i-1] == 'r' || s.text[s.i-1] == 'R')
	if strings.HasPrefix(string(s.text[s.i:]), triple) {
		for range 3 {
			s.advance()
		}
		for !s.eof() {
			if strings.HasPrefix(string(s.text[s.i:min(len(s.text), s.i+3)]), triple) {
				for range 3 {
					s.advance()
				}
				return
			}
			if s.advance() == '\\' && !raw && !s.eof() {
				s.advance()
			}
		}
		return
	}
	s.advance()
	for !s.eof() {
		r := s.advance()
		switch {
		case r == '\\' && !raw && !s.eof():
			s.advance()
		case r == q || r == '\n':
			return
		}
	}
}

func blankOut(b []byte, from, to int) {
	for i := from; i < to; i++ {
		if b[i] != '\n' && b[i] != '\r' {
			b[i] = ' '
		}
	}
}

// attachConditionComments moves the comment blocks between the previous
// declaration and the condition into the condition: the block directly
// above is its doc comment, earlier ones are detached blocks. They are
// blanked so that the next declaration does not claim them.
func attachConditionComments(d *ConditionDecl, lines []string, blank []byte) {
	first := d.Pos.Line - 1 // index of the keyword's line
	offsets := make([]int, len(lines)+1)
	for i, l := range lines {
		offsets[i+1] = offsets[i] + len(l)
	}
	// The keyword must start its line for comments above to be its own.
	if strings.TrimSpace(lines[first][:d.Pos.Column-1]) != "" {
		return
	}
	top := first
	for top > 0 {
		l := strings.TrimSpace(lines[top-1])
		if l != "" && !strings.HasPrefix(l, "//") {
			break
		}
		top--
	}
	var blocks [][]string
	var cur []string
	gapAtEnd := false
	for i := top; i < first; i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			if cur != nil {
				blocks = append(blocks, cur)
				cur = nil
			}
			gapAtEnd = true
			continue
		}
		gapAtEnd = false
		cur = append(cur, strings.TrimRight(strings.TrimPrefix(l, "//"), " \t"))
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}
	if len(blocks) == 0 {
		return
	}
	if !gapAtEnd {
		d.Doc = blocks[len(blocks)-1]
		blocks = blocks[:len(blocks)-1]
	}
	d.Detached = blocks
	blankOut(blank, offsets[top], offsets[first])
}

// BodyText returns the body in canonical form: surrounding blank lines
// removed and the common indentation of its lines taken away. A body with
// a multi-line string literal is kept as written.
func (d *ConditionDecl) BodyText() []string {
	body := strings.Trim(d.Body, "\n\r")
	if strings.Contains(body, `"""`) || strings.Contains(body, `'''`) {
		return []string{strings.TrimSpace(body)}
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		lines = append(lines, strings.TrimRight(l, " \t\r"))
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 1 {
		return []string{strings.TrimSpace(lines[0])}
	}
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent {
			lines[i] = l[indent:]
		}
	}
	return lines
}

// Signature prints `NAME(p1 T1, p2 T2)` with the types as written.
func (d *ConditionDecl) Signature() string {
	var b strings.Builder
	b.WriteString(d.Name.Name)
	b.WriteByte('(')
	for i, p := range d.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		typ := p.Type
		if t, err := condition.ParseType(typ); err == nil {
			typ = t.String()
		}
		b.WriteString(p.Name.Name + " " + typ)
	}
	b.WriteByte(')')
	return b.String()
}
