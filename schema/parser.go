package schema

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
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
	tokIdent   = lexDef.Symbols()["Ident"]
	tokPunct   = lexDef.Symbols()["Punct"]
	tokComment = lexDef.Symbols()["Comment"]
	tokNewline = lexDef.Symbols()["Newline"]
	tokInvalid = lexDef.Symbols()["Invalid"]
)

var fileParser = newFileParser(nil)

// newFileParser builds the grammar. With a recorder, the expression and
// subject-list parsers also note their first error there: participle
// backtracks out of a failed relation and may then report an error at the
// start of that relation instead, so a failed parse is run again with a
// recorder to find the error where it really is.
func newFileParser(rec *firstError) *participle.Parser[File] {
	exprFn, subjFn := parseExpr, parseSubjects
	if rec != nil {
		exprFn = func(lex *lexer.PeekingLexer) (Expr, error) {
			e, err := parseExpr(lex)
			rec.note(err)
			return e, err
		}
		subjFn = func(lex *lexer.PeekingLexer) (subjectList, error) {
			l, err := parseSubjects(lex)
			rec.note(err)
			return l, err
		}
	}
	return participle.MustBuild[File](
		participle.Lexer(lexDef),
		participle.Elide("Comment", "Newline", "Space"),
		participle.ParseTypeWith(exprFn),
		participle.ParseTypeWith(subjFn),
		participle.UseLookahead(2),
	)
}

// firstError keeps the first error of the hand-written parsers in one parse.
type firstError struct{ err *exprError }

func (f *firstError) note(err error) {
	var e *exprError
	if f.err == nil && errors.As(err, &e) {
		f.err = e
	}
}

// Parse parses a schema source. filename is used in positions only. On a
// syntax error the returned error is an ErrorList with one entry that says
// what was expected and what was found. Parse never panics.
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
	conds, text, cerr := extractConditions(filename, text)
	if cerr != nil {
		return nil, ErrorList{*cerr}
	}
	if bad := invalidTokenBefore(filename, text); bad != nil {
		return nil, ErrorList{*bad}
	}
	f, perr := fileParser.ParseString(filename, text)
	if perr != nil {
		var rec firstError
		if _, again := newFileParser(&rec).ParseString(filename, text); again != nil && rec.err != nil {
			return nil, ErrorList{rec.err.diag}
		}
		return nil, ErrorList{syntaxDiagnostic(filename, text, perr)}
	}
	f.Name = filename
	f.Conditions = conds
	for _, d := range f.Decls {
		switch {
		case d.Type != nil:
			d.Type.Relations, d.Type.Includes = splitMembers(d.Type.Members)
			d.Type.Members = nil
			f.Types = append(f.Types, d.Type)
		case d.Partial != nil:
			d.Partial.Relations, d.Partial.Includes = splitMembers(d.Partial.Members)
			d.Partial.Members = nil
			d.Partial.TypesBefore = len(f.Types)
			f.Partials = append(f.Partials, d.Partial)
		}
	}
	f.Decls = nil
	for _, c := range conds {
		for _, t := range f.Types {
			if t.Pos.Offset < c.Pos.Offset {
				c.TypesBefore++
			}
		}
	}
	attachComments(f, filename, text)
	return f, nil
}

// invalidTokenBefore finds a character the language has no use for; it is
// reported as such rather than as whatever the grammar expected there.
func invalidTokenBefore(filename, text string) *Diagnostic {
	lex, err := lexDef.LexString(filename, text)
	if err != nil {
		return &Diagnostic{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
	}
	for {
		t, err := lex.Next()
		if err != nil {
			return &Diagnostic{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
		}
		if t.EOF() {
			return nil
		}
		if t.Type == tokInvalid {
			d := &Diagnostic{Pos: posOf(t.Pos), Msg: fmt.Sprintf("unexpected character %s", quoteTok(t.Value))}
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
			return d
		}
	}
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

// syntaxDiagnostic turns participle's error into one that says what was
// expected and what was found, in the language's own words.
func syntaxDiagnostic(filename, text string, err error) Diagnostic {
	var pe participle.Error
	if !errors.As(err, &pe) {
		return Diagnostic{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
	}
	pos := posOf(pe.Position())
	var exprErr *exprError
	if errors.As(err, &exprErr) {
		return exprErr.diag
	}
	var ut *participle.UnexpectedTokenError
	if errors.As(err, &ut) {
		return unexpected(text, &ut.Unexpected)
	}
	msg := pe.Message()
	// participle words an unexpected token inside a group as
	// `unexpected token "X" (expected ...)`; rephrase what we can.
	if strings.HasPrefix(msg, "unexpected token") {
		tok := tokenAt(filename, text, pe.Position())
		return unexpected(text, &tok)
	}
	return Diagnostic{Pos: pos, Msg: msg}
}

// tokenAt re-lexes the source to find the token that starts at pos.
func tokenAt(filename, text string, pos lexer.Position) lexer.Token {
	lex, err := lexDef.LexString(filename, text)
	if err != nil {
		return lexer.Token{Pos: pos}
	}
	for {
		t, err := lex.Next()
		if err != nil || t.EOF() {
			return lexer.Token{Type: lexer.EOF, Pos: pos}
		}
		if t.Pos.Offset >= pos.Offset {
			return t
		}
	}
}

// unexpected builds the message for a token the grammar did not want, from
// the tokens before it: participle's own expectations are written in EBNF,
// not in words a schema author uses.
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
		if t.Type == tokComment || t.Type == tokNewline || strings.TrimSpace(t.Value) == "" {
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

// exprError carries a fully worded diagnostic out of the expression parser
// through participle.
type exprError struct{ diag Diagnostic }

func (e *exprError) Error() string            { return e.diag.String() }
func (e *exprError) Message() string          { return e.diag.Msg }
func (e *exprError) Position() lexer.Position { return lexer.Position{} }

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

// parseExpr is a precedence-climbing parser for computed relations. It is
// plugged into participle so that a missing operand is reported where it is
// missing, with the language's own words.
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
		p.err = &exprError{Diagnostic{Pos: posOf(t.Pos), Msg: msg, Hint: hint}}
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
		if c := p.lex.Peek(); c.Type != tokPunct || c.Value != ")" {
			p.fail(c, fmt.Sprintf("expected `)` to close the `(` at %d:%d, found %s", open.Line, open.Column, describe(c)), "")
			return nil
		}
		p.lex.Next()
		if b, ok := e.(*BinaryExpr); ok {
			b.Grouped = true
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
func parseSubjects(lex *lexer.PeekingLexer) (subjectList, error) {
	p := exprParser{lex: lex}
	var out subjectRefs
	after := "`:`"
	for {
		t := lex.Peek()
		if t.Type != tokIdent || isKeyword(t.Value) {
			p.fail(t, fmt.Sprintf("expected a subject type after %s, found %s", after, describe(t)), "")
			return nil, p.err
		}
		lex.Next()
		ref := &SubjectRef{Pos: t.Pos, Type: Ident{Pos: t.Pos, Name: t.Value}}
		if n := lex.Peek(); n.Type == tokPunct && n.Value == "#" {
			lex.Next()
			r := lex.Peek()
			if r.Type != tokIdent || isKeyword(r.Value) {
				p.fail(r, fmt.Sprintf("expected a relation name after `%s#`, found %s", t.Value, describe(r)), "")
				return nil, p.err
			}
			lex.Next()
			ref.Relation = &Ident{Pos: r.Pos, Name: r.Value}
		} else if n.Type == tokPunct && n.Value == ":" {
			lex.Next()
			w := lex.Peek()
			if w.Type != tokPunct || w.Value != "*" {
				p.fail(w, fmt.Sprintf("expected `*` after `%s:`, found %s", t.Value, describe(w)),
					fmt.Sprintf("a wildcard is written `%s:*`; ids do not appear in a schema", t.Value))
				return nil, p.err
			}
			lex.Next()
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
		p.lex.Next()
		ref.Expiration = true
	}
	return true
}
