// Package schema implements Docket's schema language: the parser, the
// semantic checks, the canonical formatter and the compiled form that the
// checker walks.
//
// The split follows go/scanner, go/parser and go/ast: Parse turns text into
// a File (the syntax tree, positions included), Compile resolves a File into
// a Schema (ids and pointers, no names in the checker's inner loop), and
// Format prints a File back as canonical text.
package schema

import (
	"fmt"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a schema source: 1-based line and column, where the
// column counts characters (not bytes) from the start of the line.
//
// Syntax-tree nodes carry lexer.Position values (with the byte Offset as
// well). Every node has a start and an end: the end is the position just
// after its last character, so [start, end) is its range. Declarations
// (TypeDecl, PartialDecl, Include, RelationDecl) and SubjectRef store it
// in EndPos; Ident and Expr compute it with End.
type Pos struct {
	Filename string
	Line     int
	Column   int
}

func (p Pos) String() string {
	name := p.Filename
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line, p.Column)
}

func posOf(p lexer.Position) Pos { return Pos{Filename: p.Filename, Line: p.Line, Column: p.Column} }

// Ident is a name as written, with where it was written.
type Ident struct {
	Pos  lexer.Position
	Name string
}

// End returns the position just after the name (a name is one token, on
// one line).
func (i Ident) End() lexer.Position {
	p := i.Pos
	p.Offset += len(i.Name)
	p.Column += utf8.RuneCountInString(i.Name)
	return p
}

// File is a parsed schema source.
type File struct {
	// Name is the file name given to Parse, used in positions.
	Name  string
	Types []*TypeDecl
	// Conditions are the condition declarations, in source order.
	Conditions []*ConditionDecl
	// Partials are the partial declarations, in source order.
	Partials []*PartialDecl

	// Trailing holds the comment blocks after the last declaration, one
	// entry per block of adjacent lines; TrailingGap records a blank line
	// between the last declaration and the first block.
	Trailing    [][]string
	TrailingGap bool
}

// TypeDecl is `type NAME` or `type NAME { relations }`. EndPos is just
// after the closing brace, or after the name when there is no body. After
// a syntax error (the brace missing) it is after the last relation read.
type TypeDecl struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   Ident
	Body   bool
	// Relations are the relations written in the body, in source order.
	Relations []*RelationDecl
	// Includes are the `...NAME` lines of the body, in source order.
	Includes []*Include

	// Doc is the comment block directly above the declaration, one entry per
	// line, without the leading "//".
	Doc []string
	// Detached holds comment blocks above Doc that are separated from the
	// declaration by a blank line; the formatter keeps them in place.
	Detached [][]string
	// Comment is a comment at the end of the declaration's first line.
	Comment string
	// Inner holds the comment blocks after the last relation, before the
	// closing brace; InnerGap records a blank line between the last
	// relation and the first block.
	Inner    [][]string
	InnerGap bool
}

// PartialDecl is `partial NAME { relations }`: relations (and inclusions
// of other partials) that a type, or another partial, includes with
// `...NAME` as if they were written in its body.
type PartialDecl struct {
	Pos       lexer.Position
	EndPos    lexer.Position
	Name      Ident
	Relations []*RelationDecl
	Includes  []*Include
	// TypesBefore is the number of types declared before the partial, so
	// that the formatter keeps it where it was written.
	TypesBefore int

	Doc      []string
	Detached [][]string
	Comment  string
	Inner    [][]string
	InnerGap bool
}

// Include is `...NAME` in a type's or a partial's body: the relations of
// partial NAME, inserted there.
type Include struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   Ident
	// Index is the number of the body's relations written before it.
	Index int

	Doc      []string
	Detached [][]string
	Comment  string
}

// RelationDecl is `relation NAME: SUBJECTS` (stored) or
// `relation NAME = EXPR` (computed). EndPos is just after its last
// subject or the end of its expression.
type RelationDecl struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Name     Ident
	Expr     Expr
	Subjects []*SubjectRef

	Doc      []string
	Detached [][]string
	Comment  string
}

// Stored reports whether the relation holds tuples (written with `:`).
func (r *RelationDecl) Stored() bool { return r.Expr == nil }

// SubjectRef is one allowed subject of a stored relation: `user`,
// `team#member` or `user:*`.
type SubjectRef struct {
	Pos lexer.Position
	// EndPos is just after `*`, the subject set's relation or the type.
	EndPos   lexer.Position
	Type     Ident
	Relation *Ident
	Wildcard bool
	// Condition is NAME in `user with NAME`; Expiration is set by
	// `with expiration` or `with NAME and expiration`.
	Condition  *Ident
	Expiration bool
}

func (s *SubjectRef) String() string {
	name := s.Type.Name
	switch {
	case s.Wildcard:
		name += ":*"
	case s.Relation != nil:
		name += "#" + s.Relation.Name
	}
	return name + withSuffix(s.Condition, s.Expiration)
}

// withSuffix is ` with NAME`, ` with expiration` or ` with NAME and expiration`.
func withSuffix(cond *Ident, expiration bool) string {
	switch {
	case cond != nil && expiration:
		return " with " + cond.Name + " and expiration"
	case cond != nil:
		return " with " + cond.Name
	case expiration:
		return " with expiration"
	}
	return ""
}

// Expr is a computed relation's expression: *RefExpr or *BinaryExpr.
// [Start(), End()) is its range in the source, parentheses included when
// the source grouped it.
type Expr interface {
	Start() lexer.Position
	End() lexer.Position
	exprNode()
}

// RefExpr names a relation on the current object (`viewer`), or follows
// stored relations to other objects first (`parent#viewer`,
// `assignee.team#member`): Hops are the relations followed, Target the
// relation read on the objects reached.
type RefExpr struct {
	Hops   []Ident
	Target Ident
	// Lparen and Rparen are the positions of parentheses written around
	// the reference, `(viewer)`; zero (Line 0) when there are none.
	Lparen, Rparen lexer.Position
}

// Op is a set operator.
type Op int

// The operators, in order of binding strength (loosest first).
const (
	OpExclude   Op = iota + 1 // a - b
	OpUnion                   // a | b
	OpIntersect               // a & b
)

func (o Op) String() string {
	switch o {
	case OpUnion:
		return "|"
	case OpIntersect:
		return "&"
	case OpExclude:
		return "-"
	}
	return "?"
}

// BinaryExpr is `X op Y`.
type BinaryExpr struct {
	Op    Op
	OpPos lexer.Position
	X, Y  Expr
	// Grouped is set when the source wrapped this expression in its own
	// parentheses; the compiler uses it to tell `a - (b | c)`, written on
	// purpose, from `a - b | c`, which reads as if `c` were granted.
	// Lparen and Rparen are then the positions of the parentheses.
	Grouped        bool
	Lparen, Rparen lexer.Position
}

// Start returns the position of the expression's first token.
func (r *RefExpr) Start() lexer.Position {
	if r.Lparen.Line > 0 {
		return r.Lparen
	}
	if len(r.Hops) > 0 {
		return r.Hops[0].Pos
	}
	return r.Target.Pos
}

// End returns the position just after the expression's last token.
func (r *RefExpr) End() lexer.Position {
	if r.Rparen.Line > 0 {
		return afterParen(r.Rparen)
	}
	return r.Target.End()
}

func afterParen(p lexer.Position) lexer.Position {
	p.Offset++
	p.Column++
	return p
}

// Start returns the position of the expression's first token: its `(`
// when grouped.
func (b *BinaryExpr) Start() lexer.Position {
	if b.Grouped {
		return b.Lparen
	}
	return b.X.Start()
}

// End returns the position just after the expression's last token: after
// its `)` when grouped.
func (b *BinaryExpr) End() lexer.Position {
	if b.Grouped {
		return afterParen(b.Rparen)
	}
	return b.Y.End()
}

func (*RefExpr) exprNode()    {}
func (*BinaryExpr) exprNode() {}

// ExprString prints an expression with only the parentheses its precedence
// needs; it is the form the formatter writes.
func ExprString(e Expr) string {
	var b []byte
	return string(appendExpr(b, e, 0))
}

func appendExpr(b []byte, e Expr, parent Op) []byte {
	switch e := e.(type) {
	case *RefExpr:
		for i, h := range e.Hops {
			if i > 0 {
				b = append(b, '.')
			}
			b = append(b, h.Name...)
		}
		if len(e.Hops) > 0 {
			b = append(b, '#')
		}
		return append(b, e.Target.Name...)
	case *BinaryExpr:
		// Left-associative: the left operand needs parentheses only when it
		// binds more loosely than this operator, the right one also when it
		// binds equally (a - (b - c) is not a - b - c). The right side of
		// `-` is always parenthesised when it is a union or intersection:
		// `a - (b | c)` says what `a - b | c` hides, that c is excluded.
		paren := parent != 0 && e.Op < parent
		if paren {
			b = append(b, '(')
		}
		b = appendExpr(b, e.X, e.Op)
		b = append(b, ' ')
		b = append(b, e.Op.String()...)
		b = append(b, ' ')
		right := e.Op + 1
		if e.Op == OpExclude {
			right = OpIntersect + 1
		}
		b = appendExpr(b, e.Y, right)
		if paren {
			b = append(b, ')')
		}
		return b
	}
	return b
}
