package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// The lexer is deliberately loose: names take any letters and digits so
// that `Case` or `cäse` reach the semantic checks, which explain the naming
// rule, instead of failing as an unreadable lexing error. Anything else is
// an Invalid token that the parser reports by name.
var lexDef = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `//[^\n]*`},
	{Name: "Newline", Pattern: `\r?\n`},
	{Name: "Space", Pattern: `[ \t\r\f\v]+`},
	{Name: "Ident", Pattern: `[\p{L}\p{N}_]+`},
	{Name: "Ellipsis", Pattern: `\.\.\.`},
	{Name: "Punct", Pattern: `[{}():|&#.*=-]`},
	{Name: "Invalid", Pattern: `.`},
})

var (
	tokIdent    = lexDef.Symbols()["Ident"]
	tokPunct    = lexDef.Symbols()["Punct"]
	tokEllipsis = lexDef.Symbols()["Ellipsis"]
	tokComment  = lexDef.Symbols()["Comment"]
	tokNewline  = lexDef.Symbols()["Newline"]
	tokSpace    = lexDef.Symbols()["Space"]
	tokInvalid  = lexDef.Symbols()["Invalid"]
)

// MaxSyntaxErrors is how many syntax errors one parse reports before it
// stops: past a few, later ones are mostly echoes of the first.
const MaxSyntaxErrors = 10

// Parse parses a schema source. filename is used in positions only.
//
// On syntax errors Parse keeps going, as go/parser does: after an error it
// skips to the next `type`, `partial` or `condition` declaration, or
// inside a body to the next `relation`, `...` or `}`, and goes on. The
// error is an ErrorList of every syntax error found (at most one per line,
// at most MaxSyntaxErrors), in source order, each saying what was
// expected and what was found. The File returned with it holds the
// declarations that parsed, for editors that want what there is (it is
// not fit for Compile). Parse never panics.
func Parse(filename string, src []byte) (f *File, err error) {
	if len(src) > MaxSchemaBytes {
		return nil, ErrorList{{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Severity: Error,
			Msg:  fmt.Sprintf("the schema is %d bytes; at most %d (%d MiB) are allowed", len(src), MaxSchemaBytes, MaxSchemaBytes>>20),
			Hint: "split it into smaller schemas"}}
	}
	return parse(filename, src)
}

// parse is Parse without the size limit.
func parse(filename string, src []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, ErrorList{{Pos: Pos{Filename: filename, Line: 1, Column: 1},
				Msg: fmt.Sprintf("internal parser error: %v", r), Hint: "please report this schema"}}
		}
	}()
	// A byte order mark is invisible in editors; columns are counted as
	// the editor shows them, without it.
	text := strings.TrimPrefix(string(src), "\uFEFF")
	// Conditions are cut out first (their bodies are CEL); a syntax error
	// in one ends the parse.
	conds, text, cerr := extractConditions(filename, text)
	if cerr != nil {
		return nil, ErrorList{*cerr}
	}
	// The text is lexed once; the parser, the error reports and the
	// comments read the same tokens.
	all, lerr := lexAll(filename, text)
	p := &parser{text: text, lastErr: -2}
	if lerr == nil {
		p.errs, p.invalid, p.sig = scanTokens(all)
		p.lex, lerr = lexer.Upgrade(&tokenList{tokens: all}, tokComment, tokNewline, tokSpace, tokInvalid)
	}
	if lerr != nil {
		return nil, ErrorList{{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: lerr.Error()}}
	}
	f = p.file()
	f.Name = filename
	f.Conditions = conds
	for _, c := range conds {
		for _, t := range f.Types {
			if t.Pos.Offset < c.Pos.Offset {
				c.TypesBefore++
			}
		}
	}
	attachComments(f, all)
	if errs := p.errors(); len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

// parser is a recursive-descent parser over the lexer's significant
// tokens. Expressions and subject lists have parsers of their own
// (parseExpr, parseSubjects) that read the same tokens.
type parser struct {
	text string
	lex  *lexer.PeekingLexer
	errs []Diagnostic
	// sig holds the significant tokens and invalid the offsets of invalid
	// characters, to tell an error of its own from a consequence of the
	// one before; lastErr is the index in sig of the last error's token.
	sig     []lexer.Token
	invalid []int
	lastErr int
	// stop is set once enough errors are found.
	stop bool
}

// errors returns the syntax errors in source order, one per line (a second
// error on a line is most often a consequence of the first), at most
// MaxSyntaxErrors.
func (p *parser) errors() ErrorList {
	sortDiagnostics(p.errs)
	var out ErrorList
	for _, d := range p.errs {
		if n := len(out); n > 0 && out[n-1].Pos.Line == d.Pos.Line {
			continue
		}
		if len(out) == MaxSyntaxErrors {
			break
		}
		out = append(out, d)
	}
	return out
}

// fail records an error at the token starting at offset, unless it is a
// consequence of an earlier one: an error at the token right after the
// last error's (the parser resumed at a keyword that was itself the
// mistake), or one that directly follows an invalid character (which the
// parser reads past, and which is reported already).
func (p *parser) fail(d Diagnostic, offset int) {
	i := sort.Search(len(p.sig), func(i int) bool { return p.sig[i].Pos.Offset >= offset })
	last := p.lastErr
	p.lastErr = max(p.lastErr, i)
	if i <= last+1 {
		return
	}
	prevEnd := 0
	if i > 0 {
		prevEnd = tokenEnd(&p.sig[i-1]).Offset
	}
	for _, o := range p.invalid {
		if o >= prevEnd && o < offset {
			return
		}
	}
	p.errs = append(p.errs, d)
	if len(p.errs) >= 4*MaxSyntaxErrors {
		p.stop = true
	}
}

// unexpected reports the next token as one the grammar does not want there.
func (p *parser) unexpected() {
	t := p.lex.Peek()
	p.fail(unexpected(p.text, t), t.Pos.Offset)
}

func (p *parser) peekIs(value string) bool {
	t := p.lex.Peek()
	return !t.EOF() && (t.Type == tokIdent || t.Type == tokPunct || t.Type == tokEllipsis) && t.Value == value
}

// startsDecl reports whether the next tokens begin a top-level declaration
// that resynchronises the parser: `type`, or `partial NAME {`, or
// `condition NAME (`. Outside a body (top) any `partial` or `condition`
// counts; inside one they are only relation names unless followed so.
func (p *parser) startsDecl(top bool) bool {
	t := p.lex.Peek()
	if t.EOF() || t.Type != tokIdent {
		return false
	}
	switch t.Value {
	case "type":
		return true
	case "partial", "condition":
		if top {
			return true
		}
		open := "{"
		if t.Value == "condition" {
			open = "("
		}
		cp := p.lex.MakeCheckpoint()
		defer p.lex.LoadCheckpoint(cp)
		p.lex.Next()
		if n := p.lex.Next(); n.Type != tokIdent {
			return false
		}
		n := p.lex.Peek()
		return n.Type == tokPunct && n.Value == open
	}
	return false
}

// skip advances past the token that caused an error and on to the next
// place parsing can resume: a declaration, and inside a body also
// `relation`, `...` or `}`.
func (p *parser) skip(inBody bool) {
	// The token in the way is passed over unless the loop that called
	// can resume at it.
	if !p.resumesAt(inBody) {
		p.lex.Next()
	}
	for {
		t := p.lex.Peek()
		if t.EOF() || p.startsDecl(!inBody) {
			return
		}
		if inBody && (p.peekIs("relation") || t.Type == tokEllipsis || p.peekIs("}")) {
			return
		}
		p.lex.Next()
	}
}

// resumesAt reports whether the body loop (inBody) or the top-level loop
// handles the next token itself.
func (p *parser) resumesAt(inBody bool) bool {
	if p.lex.Peek().EOF() {
		return true
	}
	if inBody {
		return p.peekIs("}") || p.peekIs("relation") || p.lex.Peek().Type == tokEllipsis || p.startsDecl(false)
	}
	return p.peekIs("type") || p.peekIs("partial")
}

func (p *parser) file() *File {
	f := &File{}
	for !p.stop {
		t := p.lex.Peek()
		switch {
		case t.EOF():
			return f
		case p.peekIs("type"):
			if td := p.typeDecl(); td != nil {
				f.Types = append(f.Types, td)
			}
		case p.peekIs("partial"):
			if pd := p.partialDecl(); pd != nil {
				pd.TypesBefore = len(f.Types)
				f.Partials = append(f.Partials, pd)
			}
		default:
			p.unexpected()
			p.skip(false)
		}
	}
	return f
}

// name reads the name after a keyword. Keywords are accepted here, as
// names, so that the semantic checks can say why `type type` is wrong.
func (p *parser) name() (Ident, bool) {
	t := p.lex.Peek()
	if t.EOF() || t.Type != tokIdent {
		p.unexpected()
		return Ident{}, false
	}
	p.lex.Next()
	return Ident{Pos: t.Pos, Name: t.Value}, true
}

func (p *parser) typeDecl() *TypeDecl {
	td := &TypeDecl{Pos: p.lex.Next().Pos}
	var ok bool
	if td.Name, ok = p.name(); !ok {
		p.skip(false)
		return nil
	}
	td.EndPos = td.Name.End()
	if !p.peekIs("{") {
		if t := p.lex.Peek(); !t.EOF() && !p.startsDecl(true) {
			p.unexpected()
			p.skip(false)
		}
		return td
	}
	p.lex.Next()
	td.Body = true
	td.Relations, td.Includes, td.EndPos = p.body(td.EndPos)
	return td
}

func (p *parser) partialDecl() *PartialDecl {
	pd := &PartialDecl{Pos: p.lex.Next().Pos}
	var ok bool
	if pd.Name, ok = p.name(); !ok {
		p.skip(false)
		return nil
	}
	if !p.peekIs("{") {
		p.unexpected()
		p.skip(false)
		return nil
	}
	p.lex.Next()
	pd.Relations, pd.Includes, pd.EndPos = p.body(pd.Name.End())
	return pd
}

// body reads relations and inclusions up to the closing brace and returns
// the end of the body: after `}`, or after the last thing read when the
// brace is missing (which is reported).
func (p *parser) body(end lexer.Position) (rels []*RelationDecl, incs []*Include, _ lexer.Position) {
	for !p.stop {
		t := p.lex.Peek()
		switch {
		case p.peekIs("}"):
			p.lex.Next()
			return rels, incs, tokenEnd(t)
		case p.peekIs("relation"):
			if r := p.relation(); r != nil {
				rels = append(rels, r)
				end = r.EndPos
			}
		case t.Type == tokEllipsis:
			if in := p.include(len(rels)); in != nil {
				incs = append(incs, in)
				end = in.EndPos
			}
		case t.EOF() || p.startsDecl(false):
			// The brace is missing; the next declaration starts afresh.
			p.unexpected()
			return rels, incs, end
		default:
			p.unexpected()
			p.skip(true)
		}
	}
	return rels, incs, end
}

func (p *parser) include(index int) *Include {
	in := &Include{Pos: p.lex.Next().Pos, Index: index}
	t := p.lex.Peek()
	if t.EOF() || t.Type != tokIdent || isKeyword(t.Value) {
		p.unexpected()
		p.skip(true)
		return nil
	}
	p.lex.Next()
	in.Name = Ident{Pos: t.Pos, Name: t.Value}
	in.EndPos = in.Name.End()
	return in
}

func (p *parser) relation() *RelationDecl {
	rd := &RelationDecl{Pos: p.lex.Next().Pos}
	var ok bool
	if rd.Name, ok = p.name(); !ok {
		p.skip(true)
		return nil
	}
	switch {
	case p.peekIs(":"):
		p.lex.Next()
		subs, err := parseSubjects(p.lex)
		if err != nil {
			p.exprFailed(err)
			return nil
		}
		rd.Subjects = subs
		rd.EndPos = rd.Subjects[len(rd.Subjects)-1].EndPos
	case p.peekIs("="):
		p.lex.Next()
		e, err := parseExpr(p.lex)
		if err != nil {
			p.exprFailed(err)
			return nil
		}
		rd.Expr = e
		rd.EndPos = e.End()
	default:
		p.unexpected()
		p.skip(true)
		return nil
	}
	return rd
}

// exprFailed records an error of the expression or subject parser and
// skips what is left of the relation.
func (p *parser) exprFailed(err error) {
	var e *exprError
	if errors.As(err, &e) {
		p.fail(e.diag, e.offset)
	} else {
		p.unexpected()
	}
	p.skip(true)
}

// lexAll returns every token of the text, the end of file included, as
// lexDef defines them. It scans by hand: the regular-expression lexer
// matches each token against the rest of the text and takes time
// quadratic in its length, which an editor parsing on each keystroke
// feels. lexDef stays the definition (and the token types); the tests
// compare the two on every test schema and in FuzzParse.
func lexAll(filename, text string) ([]lexer.Token, error) {
	pos := lexer.Position{Filename: filename, Line: 1, Column: 1}
	var out []lexer.Token
	for i := 0; i < len(text); {
		typ, n := nextToken(text[i:])
		v := text[i : i+n]
		out = append(out, lexer.Token{Type: typ, Value: v, Pos: pos})
		pos.Advance(v)
		i += n
	}
	return append(out, lexer.Token{Type: lexer.EOF, Pos: pos}), nil
}

// nextToken returns the type and length of the token s starts with, by
// lexDef's rules in their order.
func nextToken(s string) (lexer.TokenType, int) {
	switch {
	case strings.HasPrefix(s, "//"):
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			return tokComment, i
		}
		return tokComment, len(s)
	case s[0] == '\n':
		return tokNewline, 1
	case strings.HasPrefix(s, "\r\n"):
		return tokNewline, 2
	case isSpaceByte(s[0]):
		n := 1
		for n < len(s) && isSpaceByte(s[n]) {
			n++
		}
		return tokSpace, n
	case strings.HasPrefix(s, "..."):
		return tokEllipsis, 3
	case strings.IndexByte("{}():|&#.*=-", s[0]) >= 0:
		return tokPunct, 1
	}
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)) || r == utf8.RuneError && size == 1 {
			break
		}
		n += size
	}
	if n > 0 {
		return tokIdent, n
	}
	_, size := utf8.DecodeRuneInString(s)
	return tokInvalid, size
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\f' || b == '\v'
}

// tokenList replays lexed tokens as a lexer.Lexer.
type tokenList struct {
	tokens []lexer.Token
	next   int
}

func (l *tokenList) Next() (lexer.Token, error) {
	t := l.tokens[min(l.next, len(l.tokens)-1)]
	l.next++
	return t, nil
}

// tokenEnd is the position just after a token.
func tokenEnd(t *lexer.Token) lexer.Position {
	p := t.Pos
	p.Offset += len(t.Value)
	if n := strings.Count(t.Value, "\n"); n > 0 {
		p.Line += n
		p.Column = utf8.RuneCountInString(t.Value[strings.LastIndexByte(t.Value, '\n')+1:]) + 1
		return p
	}
	p.Column += utf8.RuneCountInString(t.Value)
	return p
}

// scanTokens finds every character the language has no use for; each is
// reported as such rather than as whatever the grammar expected there,
// and the parser reads on as if it were not there. It also returns the
// offsets of those characters and the significant tokens.
func scanTokens(all []lexer.Token) (out []Diagnostic, invalid []int, sig []lexer.Token) {
	for _, t := range all {
		switch t.Type {
		case lexer.EOF:
			return out, invalid, sig
		case tokComment, tokNewline, tokSpace:
			continue
		case tokInvalid:
			invalid = append(invalid, t.Pos.Offset)
		default:
			sig = append(sig, t)
			continue
		}
		d := Diagnostic{Pos: posOf(t.Pos), Msg: fmt.Sprintf("unexpected character %s", quoteTok(t.Value))}
		if !utf8.ValidString(t.Value) {
			d.Msg = fmt.Sprintf("unexpected %s: the file is not valid UTF-8", quoteTok(t.Value))
			d.Hint = "save the schema as UTF-8"
		}
		switch t.Value {
		case "/":
			d.Hint = "comments start with `//`"
		case ",":
			d.Hint = "separate subject types and operands with `|`"
		case "!", "~", "^":
			d.Hint = "use `-` to exclude"
		case "+":
			d.Hint = "use `|` for a union"
		case "\"", "'", "`":
			d.Hint = "names are written without quotes"
		case ";":
			d.Hint = "declarations need no `;` between them"
		}
		out = append(out, d)
	}
	return out, invalid, sig
}

func quoteTok(v string) string {
	r, size := utf8.DecodeRuneInString(v)
	switch {
	case v == "":
		return "end of file"
	case v == "`":
		return "'`'"
	case r == utf8.RuneError && size <= 1:
		return fmt.Sprintf("byte 0x%02X", v[0])
	case size == len(v) && !unicode.IsGraphic(r):
		return fmt.Sprintf("U+%04X (invisible)", r)
	}
	return "`" + v + "`"
}

func describe(t *lexer.Token) string {
	if t.EOF() {
		return "end of file"
	}
	return quoteTok(t.Value)
}

// unexpected builds the message for a token the grammar did not want, from
// the tokens before it, in words a schema author uses.
func unexpected(text string, t *lexer.Token) Diagnostic {
	before := tokensBefore(text, t.Pos.Offset)
	at := func(i int) string { // i-th token back, 1 = the previous one
		if i > len(before) {
			return ""
		}
		return before[len(before)-i].Value
	}
	var want, hint string
	switch prev := at(1); {
	case prev == "":
		want = "`type`"
	case prev == "type":
		want = "a type name after `type`"
	case prev == "relation":
		want = "a relation name after `relation`"
	case prev == "partial" && !inBody(before):
		want = "a partial name after `partial`"
	case at(2) == "partial" && isIdentText(prev) && !inBody(before[:len(before)-1]):
		want = "`{` after the partial name"
		hint = "a partial's relations go between `{` and `}`: `partial NAME { relation ... }`"
	case prev == "...":
		want = "a partial name after `...`"
		hint = "`...NAME` includes the relations of partial NAME"
	case at(2) == "..." && isIdentText(prev):
		want = "`relation`, `...` or `}`"
	case at(2) == "relation" && isIdentText(prev):
		want = "`:` or `=` after the relation name"
		hint = "a relation is written `relation NAME: TYPES` (stored) or `relation NAME = EXPRESSION` (computed)"
	case at(2) == "type" && isIdentText(prev):
		want = "`{` or the next `type`"
		hint = "a type's relations go between `{` and `}`"
	case prev == "{":
		want = "`relation` or `}`"
	case prev == "}":
		want = "`type`"
	case prev == ":" || prev == "|" && inStored(before):
		want = "a subject type after `" + prev + "`"
	case prev == "#":
		want = "a relation name after `#`"
	case inStored(before):
		want = "`|`, `relation` or `}`"
	default:
		want = "an operator (`|`, `&`, `-`), `relation` or `}`"
	}
	open, isOpen := openBrace(before)
	switch found := t.Value; {
	case t.EOF() && isOpen && strings.HasSuffix(want, "`}`"):
		hint = fmt.Sprintf("close the `{` at %d:%d with `}`", open.Line, open.Column)
	case found == "type" && isOpen && hint == "":
		hint = fmt.Sprintf("close the `{` at %d:%d with `}` before the next type", open.Line, open.Column)
	case found == "}" && !isOpen:
		hint = "no type body is open here"
	case found == ")":
		hint = "no `(` is open here"
	case (found == "&" || found == "-") && inStored(before):
		hint = "a stored relation lists subject types separated by `|`; `&` and `-` combine relations in a computed one (`relation NAME = EXPRESSION`)"
	case (found == "#" || found == ".") && prevIsExprOperand(before):
		hint = "a path has one `#`, before the relation it reads; the hops before it are joined with `.` (`parent.owner#member`)"
	case found == ":" && !inStored(before) && prevIsExprOperand(before):
		hint = "a wildcard such as `user:*` is a subject of a stored relation: declare one (`relation public: user:*`) and name that relation here"
	case t.Type == tokIdent && !isKeyword(found) && inStored(before):
		hint = "separate subject types with `|`, and start each relation with the keyword `relation`"
	case t.Type == tokIdent && !isKeyword(found) && strings.HasPrefix(want, "an operator"):
		hint = "join operands with `|`, `&` or `-`, and start each relation with the keyword `relation`"
	case t.Type == tokIdent && !isKeyword(found) && strings.Contains(want, "`relation`"):
		hint = "each relation starts with the keyword: `relation NAME: TYPES` or `relation NAME = EXPRESSION`"
	case prevIsNothing(before) && t.Type == tokIdent:
		hint = "a schema is a list of `type NAME` and `type NAME { relations }` declarations"
	}
	return Diagnostic{Pos: posOf(t.Pos), Msg: fmt.Sprintf("expected %s, found %s", want, describe(t)), Hint: hint}
}

// inBody reports whether the tokens end inside the braces of a type or
// partial.
func inBody(tokens []lexer.Token) bool {
	_, open := openBrace(tokens)
	return open
}

// inStored reports whether the tokens end inside a stored relation's
// subject list (after `relation NAME:` rather than `relation NAME =`).
func inStored(tokens []lexer.Token) bool {
	for i := len(tokens) - 1; i >= 2; i-- {
		if tokens[i-2].Value == "relation" {
			return tokens[i].Value == ":"
		}
	}
	return false
}

func isIdentText(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127) {
			return false
		}
	}
	return true
}

// tokensBefore returns the significant tokens that start before offset.
func tokensBefore(text string, offset int) []lexer.Token {
	lex, err := lexDef.LexString("", text)
	if err != nil {
		return nil
	}
	var out []lexer.Token
	for {
		t, err := lex.Next()
		if err != nil || t.EOF() || t.Pos.Offset >= offset {
			return out
		}
		if t.Type == tokComment || t.Type == tokNewline || t.Type == tokInvalid || strings.TrimSpace(t.Value) == "" {
			continue
		}
		out = append(out, t)
	}
}

// prevIsExprOperand reports whether tokens end with a name inside a
// computed relation's expression.
func prevIsExprOperand(tokens []lexer.Token) bool {
	n := len(tokens)
	if n == 0 || tokens[n-1].Type != tokIdent || isKeyword(tokens[n-1].Value) {
		return false
	}
	for i := n - 1; i >= 2; i-- {
		if tokens[i-2].Value == "relation" {
			return tokens[i].Value == "=" && i < n-1
		}
	}
	return false
}

func prevIsNothing(tokens []lexer.Token) bool { return len(tokens) == 0 }

// openBrace returns the `{` that is still open at the end of tokens.
func openBrace(tokens []lexer.Token) (lexer.Position, bool) {
	for i := len(tokens) - 1; i >= 0; i-- {
		switch tokens[i].Value {
		case "}":
			return lexer.Position{}, false
		case "{":
			return tokens[i].Pos, true
		}
	}
	return lexer.Position{}, false
}

// exprError carries a fully worded diagnostic out of the expression and
// subject-list parsers.
type exprError struct {
	diag   Diagnostic
	offset int // of the token it is about
}

func (e *exprError) Error() string { return e.diag.String() }

// Operator binding strength; higher binds tighter.
func precedence(t *lexer.Token) (Op, bool) {
	if t.Type != tokPunct {
		return 0, false
	}
	switch t.Value {
	case "-":
		return OpExclude, true
	case "|":
		return OpUnion, true
	case "&":
		return OpIntersect, true
	}
	return 0, false
}

// parseExpr is a precedence-climbing parser for computed relations: a
// missing operand is reported where it is missing, with the language's
// own words.
func parseExpr(lex *lexer.PeekingLexer) (Expr, error) {
	p := exprParser{lex: lex}
	e := p.binary(OpExclude, "`=`")
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

type exprParser struct {
	lex *lexer.PeekingLexer
	err error
	// depth is the number of open parentheses, operands the number of
	// relation names read: both bounded so that no input can exhaust the
	// stack of the recursive passes over the tree.
	depth, operands int
}

// Limits on one expression. They are far beyond what a readable schema
// uses and keep every recursive pass over an expression shallow.
const (
	MaxExprDepth    = 64   // nested parentheses
	MaxExprOperands = 1024 // relation names in one expression
	MaxPathSegments = 16   // names in one path, `a.b.c#d` has 4
)

func (p *exprParser) fail(t *lexer.Token, msg, hint string) {
	if p.err == nil {
		p.err = &exprError{diag: Diagnostic{Pos: posOf(t.Pos), Msg: msg, Hint: hint}, offset: t.Pos.Offset}
	}
}

func (p *exprParser) binary(min Op, after string) Expr {
	x := p.operand(after)
	for p.err == nil {
		t := p.lex.Peek()
		op, ok := precedence(t)
		if !ok || op < min {
			return x
		}
		p.lex.Next()
		y := p.binary(op+1, "`"+op.String()+"`")
		if p.err != nil {
			return nil
		}
		x = &BinaryExpr{Op: op, OpPos: t.Pos, X: x, Y: y}
	}
	return nil
}

func (p *exprParser) operand(after string) Expr {
	t := p.lex.Peek()
	switch {
	case t.Type == tokPunct && t.Value == "(":
		if p.depth == MaxExprDepth {
			p.fail(t, fmt.Sprintf("parentheses nested more than %d deep", MaxExprDepth), "split the expression into several computed relations")
			return nil
		}
		p.depth++
		open := p.lex.Next().Pos
		e := p.binary(OpExclude, "`(`")
		p.depth--
		if p.err != nil {
			return nil
		}
		c := p.lex.Peek()
		if c.Type != tokPunct || c.Value != ")" {
			p.fail(c, fmt.Sprintf("expected `)` to close the `(` at %d:%d, found %s", open.Line, open.Column, describe(c)), "")
			return nil
		}
		p.lex.Next()
		// The outermost parentheses make the range.
		switch e := e.(type) {
		case *BinaryExpr:
			e.Grouped, e.Lparen, e.Rparen = true, open, c.Pos
		case *RefExpr:
			e.Lparen, e.Rparen = open, c.Pos
		}
		return e
	case t.Type == tokIdent && !isKeyword(t.Value):
		return p.path()
	}
	hint := ""
	if t.Type == tokIdent {
		hint = fmt.Sprintf("`%s` is a keyword, not a relation name: the operand after %s is missing", t.Value, after)
	}
	p.fail(t, fmt.Sprintf("expected a relation name or `(` after %s, found %s", after, describe(t)), hint)
	return nil
}

func (p *exprParser) path() Expr {
	first := p.lex.Next()
	if p.operands++; p.operands > MaxExprOperands {
		p.fail(first, fmt.Sprintf("expression has more than %d operands", MaxExprOperands), "split the expression into several computed relations")
		return nil
	}
	segs := []Ident{{Pos: first.Pos, Name: first.Value}}
	for {
		t := p.lex.Peek()
		if t.Type != tokPunct || (t.Value != "." && t.Value != "#") {
			break
		}
		p.lex.Next()
		n := p.lex.Peek()
		if n.Type != tokIdent || isKeyword(n.Value) {
			p.fail(n, fmt.Sprintf("expected a relation name after `%s`, found %s", t.Value, describe(n)), "")
			return nil
		}
		if len(segs) == MaxPathSegments {
			p.fail(n, fmt.Sprintf("path has more than %d names", MaxPathSegments), "")
			return nil
		}
		p.lex.Next()
		segs = append(segs, Ident{Pos: n.Pos, Name: n.Value})
		if t.Value == "#" {
			return &RefExpr{Hops: segs[:len(segs)-1], Target: segs[len(segs)-1]}
		}
	}
	if len(segs) > 1 {
		names := make([]string, len(segs))
		for i, s := range segs {
			names[i] = s.Name
		}
		dotted := strings.Join(names, ".")
		fixed := strings.Join(names[:len(names)-1], ".") + "#" + names[len(names)-1]
		p.fail(first, fmt.Sprintf("path `%s` does not say which relation to read at its end", dotted),
			fmt.Sprintf("did you mean `%s`?", fixed))
		return nil
	}
	return &RefExpr{Target: segs[0]}
}

// Keywords cannot be used as names: a schema reads unambiguously, and the
// parser can tell a missing name from a misplaced keyword.
var keywords = map[string]bool{"type": true, "relation": true}

func isKeyword(s string) bool { return keywords[s] }

// parseSubjects parses a stored relation's subject list, `user | team#member
// | user:*`, reporting a missing subject where it is missing.
func parseSubjects(lex *lexer.PeekingLexer) ([]*SubjectRef, error) {
	p := exprParser{lex: lex}
	var out []*SubjectRef
	after := "`:`"
	for {
		t := lex.Peek()
		if t.Type != tokIdent || isKeyword(t.Value) {
			p.fail(t, fmt.Sprintf("expected a subject type after %s, found %s", after, describe(t)), "")
			return nil, p.err
		}
		lex.Next()
		ref := &SubjectRef{Pos: t.Pos, Type: Ident{Pos: t.Pos, Name: t.Value}}
		ref.EndPos = ref.Type.End()
		if n := lex.Peek(); n.Type == tokPunct && n.Value == "#" {
			lex.Next()
			r := lex.Peek()
			if r.Type != tokIdent || isKeyword(r.Value) {
				p.fail(r, fmt.Sprintf("expected a relation name after `%s#`, found %s", t.Value, describe(r)), "")
				return nil, p.err
			}
			lex.Next()
			ref.Relation = &Ident{Pos: r.Pos, Name: r.Value}
			ref.EndPos = ref.Relation.End()
		} else if n.Type == tokPunct && n.Value == ":" {
			lex.Next()
			w := lex.Peek()
			if w.Type != tokPunct || w.Value != "*" {
				p.fail(w, fmt.Sprintf("expected `*` after `%s:`, found %s", t.Value, describe(w)),
					fmt.Sprintf("a wildcard is written `%s:*`; ids do not appear in a schema", t.Value))
				return nil, p.err
			}
			ref.EndPos = tokenEnd(lex.Next())
			ref.Wildcard = true
		}
		if n := lex.Peek(); n.Type == tokIdent && n.Value == "with" {
			lex.Next()
			if !p.with(ref) {
				return nil, p.err
			}
		}
		out = append(out, ref)
		if n := lex.Peek(); n.Type != tokPunct || n.Value != "|" {
			return out, nil
		}
		lex.Next()
		after = "`|`"
	}
}

// with parses what follows `with` in a subject list: `NAME`, `expiration`
// or `NAME and expiration`.
func (p *exprParser) with(ref *SubjectRef) bool {
	const hint = "write `with NAME`, `with expiration` or `with NAME and expiration`"
	t := p.lex.Peek()
	if t.Type != tokIdent || isKeyword(t.Value) {
		p.fail(t, fmt.Sprintf("expected a condition name or `expiration` after `with`, found %s", describe(t)), hint)
		return false
	}
	p.lex.Next()
	ref.EndPos = tokenEnd(t)
	if t.Value == "expiration" {
		ref.Expiration = true
		if n := p.lex.Peek(); n.Type == tokIdent && n.Value == "and" {
			p.fail(n, "`expiration` comes last", "write `with NAME and expiration`")
			return false
		}
		return true
	}
	ref.Condition = &Ident{Pos: t.Pos, Name: t.Value}
	if n := p.lex.Peek(); n.Type == tokIdent && n.Value == "and" {
		p.lex.Next()
		e := p.lex.Peek()
		if e.Type != tokIdent || e.Value != "expiration" {
			p.fail(e, fmt.Sprintf("expected `expiration` after `and`, found %s", describe(e)),
				"a subject takes one condition: `with NAME and expiration`")
			return false
		}
		ref.EndPos = tokenEnd(p.lex.Next())
		ref.Expiration = true
	}
	return true
}
