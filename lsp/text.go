package lsp

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// text is a document's content split into lines, for converting between
// the schema's positions (1-based line, 1-based column counted in
// characters) and the protocol's (0-based line, 0-based character counted
// in UTF-16 code units, the protocol's default encoding).
type text struct {
	src   string
	lines []string // without their line endings
	// starts[i] is the byte offset of line i in src.
	starts []int
}

func newText(src string) *text {
	t := &text{src: src}
	start := 0
	for {
		i := strings.IndexByte(src[start:], '\n')
		if i < 0 {
			t.starts = append(t.starts, start)
			t.lines = append(t.lines, strings.TrimSuffix(src[start:], "\r"))
			return t
		}
		t.starts = append(t.starts, start)
		t.lines = append(t.lines, strings.TrimSuffix(src[start:start+i], "\r"))
		start += i + 1
	}
}

// position converts a schema position to a protocol position. A byte
// order mark at the start of the file is not counted, as the schema's
// parser does not count it.
func (t *text) position(line, column int) protocol.Position {
	if line < 1 {
		return protocol.Position{}
	}
	if line > len(t.lines) {
		return t.end()
	}
	l := t.lines[line-1]
	if line == 1 {
		l = strings.TrimPrefix(l, "\uFEFF")
	}
	units, col := 0, 1
	for _, r := range l {
		if col >= column {
			break
		}
		units += utf16Len(r)
		col++
	}
	if line == 1 && strings.HasPrefix(t.lines[0], "\uFEFF") {
		units++
	}
	return protocol.Position{Line: uint32(line - 1), Character: uint32(units)}
}

// schemaPos converts a protocol position to a schema position (1-based
// line and character column).
func (t *text) schemaPos(p protocol.Position) (line, column int) {
	line = int(p.Line) + 1
	if line > len(t.lines) {
		return len(t.lines), utf8.RuneCountInString(t.lines[len(t.lines)-1]) + 1
	}
	l := t.lines[line-1]
	bom := line == 1 && strings.HasPrefix(l, "\uFEFF")
	units, column := 0, 1
	for i, r := range l {
		if units >= int(p.Character) {
			break
		}
		units += utf16Len(r)
		if bom && i == 0 {
			continue
		}
		column++
	}
	return line, column
}

// offset converts a protocol position to a byte offset in src.
func (t *text) offset(p protocol.Position) int {
	line := int(p.Line)
	if line >= len(t.lines) {
		return len(t.src)
	}
	units := 0
	for i, r := range t.lines[line] {
		if units >= int(p.Character) {
			return t.starts[line] + i
		}
		units += utf16Len(r)
	}
	return t.starts[line] + len(t.lines[line])
}

// positionAt converts a byte offset in src to a protocol position.
func (t *text) positionAt(offset int) protocol.Position {
	line := 0
	for line+1 < len(t.starts) && t.starts[line+1] <= offset {
		line++
	}
	units := 0
	for _, r := range t.src[t.starts[line]:min(offset, t.starts[line]+len(t.lines[line]))] {
		units += utf16Len(r)
	}
	return protocol.Position{Line: uint32(line), Character: uint32(units)}
}

func (t *text) end() protocol.Position {
	return t.positionAt(len(t.src))
}

func (t *text) whole() protocol.Range {
	return protocol.Range{Start: protocol.Position{}, End: t.end()}
}

func utf16Len(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}

// applyChange applies one incremental change to src.
func applyChange(src string, r protocol.Range, insert string) string {
	t := newText(src)
	start, end := t.offset(r.Start), t.offset(r.End)
	if end < start {
		start, end = end, start
	}
	return src[:start] + insert + src[end:]
}
