package tuples

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docketdb/docket/errkind"
)

// Limits of names and ids (see docs/language.md).
const (
	MaxNameLen = 64
	MaxIDLen   = 1024
)

// ParseError says what is wrong with a tuple's text and where: Column is
// the 1-based byte column of the offending character.
type ParseError struct {
	Input  string
	Column int
	Msg    string
}

// Is makes a ParseError match errkind.ErrInvalid.
func (e *ParseError) Is(target error) bool { return target == errkind.ErrInvalid }

func (e *ParseError) Error() string {
	return fmt.Sprintf("column %d: %s (in %q)", e.Column, e.Msg, clip(e.Input))
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// Parse reads a tuple in the text form object#relation@subject, where
// object is type:id and subject is type:id, type:id#relation or type:*.
// The first `#` ends the object and the next `@` ends the relation, so ids
// may hold `@` and `:` (e-mail addresses, URNs).
func Parse(s string) (Tuple, error) {
	p := parser{in: s}
	var t Tuple
	var ok bool
	hash := strings.IndexByte(s, '#')
	objEnd := hash
	if hash < 0 {
		objEnd = len(s)
	}
	if t.ObjectType, t.ObjectID, ok = p.object(0, objEnd, "", false); !ok {
		return Tuple{}, p.err
	}
	if hash < 0 {
		return Tuple{}, p.fail(len(s), "missing `#relation@subject` after the object; write object#relation@subject")
	}
	at := strings.IndexByte(s[hash+1:], '@')
	if at < 0 {
		return Tuple{}, p.fail(len(s), "missing `@subject` after the relation; write object#relation@subject")
	}
	at += hash + 1
	if t.Relation, ok = p.name(hash+1, at, "relation"); !ok {
		return Tuple{}, p.err
	}
	subj, ok := p.subject(at+1, len(s))
	if !ok {
		return Tuple{}, p.err
	}
	t.SubjectType, t.SubjectID, t.SubjectRelation = subj.Type, subj.ID, subj.Relation
	return t, nil
}

// ParseObject reads type:id.
func ParseObject(s string) (Object, error) {
	p := parser{in: s}
	typ, id, ok := p.object(0, len(s), "", false)
	if !ok {
		return Object{}, p.err
	}
	return Object{Type: typ, ID: id}, nil
}

// ParseSubject reads type:id, type:id#relation or type:*.
func ParseSubject(s string) (Subject, error) {
	p := parser{in: s}
	subj, ok := p.subject(0, len(s))
	if !ok {
		return Subject{}, p.err
	}
	return subj, nil
}

type parser struct {
	in  string
	err error
}

func (p *parser) fail(pos int, format string, args ...any) error {
	p.err = &ParseError{Input: p.in, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
	return p.err
}

// object parses type:id in in[from:to]; the id ends at the first byte of
// stop (or at to). The wildcard id is accepted only for subjects.
func (p *parser) object(from, to int, stop string, wildcard bool) (typ, id string, ok bool) {
	colon := strings.IndexByte(p.in[from:to], ':')
	if colon < 0 {
		p.fail(to, "missing `:id` after the type; write type:id")
		return "", "", false
	}
	colon += from
	if typ, ok = p.name(from, colon, "type"); !ok {
		return "", "", false
	}
	end := to
	if stop != "" {
		if i := strings.IndexAny(p.in[colon+1:to], stop); i >= 0 {
			end = colon + 1 + i
		}
	}
	if id, ok = p.id(colon+1, end); !ok {
		return "", "", false
	}
	if id == Wildcard && !wildcard {
		p.fail(colon+1, "the wildcard `*` is allowed only as a subject id")
		return "", "", false
	}
	return typ, id, true
}

func (p *parser) subject(from, to int) (Subject, bool) {
	typ, id, ok := p.object(from, to, "#", true)
	if !ok {
		return Subject{}, false
	}
	s := Subject{Type: typ, ID: id}
	end := from + len(typ) + 1 + len(id)
	if end < to { // a `#relation` follows
		if s.Relation, ok = p.name(end+1, to, "subject relation"); !ok {
			return Subject{}, false
		}
		if id == Wildcard {
			p.fail(end, "a wildcard subject takes no relation; write %s:*", typ)
			return Subject{}, false
		}
	}
	return s, true
}

// name checks a type or relation name: [a-z][a-z0-9_]*, at most 64 bytes.
func (p *parser) name(from, to int, what string) (string, bool) {
	s := p.in[from:to]
	if s == "" {
		p.fail(from, "empty %s name", what)
		return "", false
	}
	if len(s) > MaxNameLen {
		p.fail(from, "%s name is %d bytes long; at most %d are allowed", what, len(s), MaxNameLen)
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_') {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		p.fail(from+i, "unexpected %s in %s name; names are lower-case letters, digits and `_`, starting with a letter", describe(r), what)
		return "", false
	}
	return s, true
}

// id checks an id: 1..1024 bytes of printable UTF-8, no whitespace, no
// `#`, no `[` or `]`. `*` alone is the wildcard; the parser accepts it anywhere and
// Validate refuses it as an object id, where the schema is known.
func (p *parser) id(from, to int) (string, bool) {
	s := p.in[from:to]
	if msg, off := checkID(s); msg != "" {
		p.fail(from+off, "%s", msg)
		return "", false
	}
	return s, true
}

// checkID returns what is wrong with id and the byte offset, or "".
func checkID(s string) (string, int) {
	if s == "" {
		return "empty id", 0
	}
	if len(s) > MaxIDLen {
		return fmt.Sprintf("id is %d bytes long; at most %d are allowed", len(s), MaxIDLen), MaxIDLen
	}
	for i, r := range s {
		if r > ' ' && r < 0x7f && r != '#' && r != '[' && r != ']' { // printable ASCII: the common case
			continue
		}
		switch {
		case r == '[' || r == ']':
			return fmt.Sprintf("unexpected %q in id; ids may not contain `[` or `]` (a `[` after the subject starts its [condition] or [expiration:...])", r), i
		case r == utf8.RuneError && !validRuneAt(s, i):
			return "invalid UTF-8 in id", i
		case r == '#':
			return "unexpected `#` in id; ids may not contain `#`", i
		case unicode.IsSpace(r):
			return fmt.Sprintf("unexpected %s in id; ids may not contain whitespace", describe(r)), i
		case !unicode.IsPrint(r):
			return fmt.Sprintf("unexpected %s in id; ids are printable characters only", describe(r)), i
		}
	}
	return "", 0
}

func validRuneAt(s string, i int) bool {
	r, n := utf8.DecodeRuneInString(s[i:])
	return !(r == utf8.RuneError && n <= 1)
}

func describe(r rune) string {
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	if unicode.IsPrint(r) && !unicode.IsSpace(r) {
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("character U+%04X", r)
}
