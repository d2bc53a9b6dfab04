package tuples

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// maxListed is how many input errors an import reports one by one.
const maxListed = 20

// InputError lists what is wrong with an import's input, each line as
// NAME:LINE[:COL]: message; only the first 20 are kept.
type InputError struct {
	Errors []string
	// More counts errors found beyond those listed.
	More int
}

func (e *InputError) Error() string {
	s := strings.Join(e.Errors, "\n")
	if e.More > 0 {
		s += fmt.Sprintf("\nand %d more", e.More)
	}
	return s
}

// inputErrors collects the first errors of an input by line; parse and
// validation errors are merged so that one run lists every kind.
type inputErrors struct {
	list  []lineError
	total int
}

type lineError struct {
	line int32
	msg  string
}

func (l *inputErrors) add(line int32, format string, args ...any) {
	l.total++
	if len(l.list) < maxListed {
		l.list = append(l.list, lineError{line, fmt.Sprintf(format, args...)})
	}
}

// merge combines two collections, each in line order, keeping the first
// errors of both in line order.
func (l *inputErrors) merge(o *inputErrors) *InputError {
	all := append(append([]lineError(nil), l.list...), o.list...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].line < all[j].line })
	all = all[:min(len(all), maxListed)]
	e := &InputError{More: l.total + o.total - len(all)}
	for _, x := range all {
		e.Errors = append(e.Errors, x.msg)
	}
	return e
}

// jsonTuple is one line of the JSON-lines format.
type jsonTuple struct {
	Object   string `json:"object"`
	Relation string `json:"relation"`
	Subject  string `json:"subject"`
}

// readTuples parses all of r into write changes, with the line of each;
// every bad line is reported, none is skipped silently.
func readTuples(ctx context.Context, r io.Reader, opts ImportOptions, errs *inputErrors) ([]Change, []int32, error) {
	name := opts.Name
	if name == "" {
		name = "input"
	}
	format := opts.Format
	if format == 0 {
		format = FormatText
	}
	if format != FormatText && format != FormatJSONL {
		return nil, nil, fmt.Errorf("import %s: unknown format %d", name, format)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	// Parsed tuples collect in fixed-size chunks, joined once at the end:
	// growing one slice of a million tuples would copy it many times.
	const chunkSize = 1 << 16
	var chunks [][]Change
	var lineChunks [][]int32
	var cur []Change
	var curLines []int32
	for line := 1; sc.Scan(); line++ {
		if line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		raw := sc.Bytes()
		text := bytes.TrimSpace(raw)
		if format == FormatText {
			// Ids hold no whitespace, so whitespace then `//` can only
			// start a trailing comment.
			if i := bytes.Index(text, []byte("//")); i > 0 && (text[i-1] == ' ' || text[i-1] == '\t') {
				text = bytes.TrimSpace(text[:i])
			}
		}
		if len(text) == 0 || bytes.HasPrefix(text, []byte("//")) {
			continue
		}
		lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
		var t Tuple
		var err error
		if format == FormatText {
			t, err = Parse(string(text))
		} else {
			t, err = parseJSONLine(text)
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && format == FormatText {
				errs.add(int32(line), "%s:%d:%d: %s", name, line, pe.Column+lead, pe.Msg)
			} else {
				errs.add(int32(line), "%s:%d: %v", name, line, err)
			}
			continue
		}
		if len(cur) == chunkSize {
			chunks, lineChunks = append(chunks, cur), append(lineChunks, curLines)
			cur, curLines = nil, nil
		}
		if cur == nil {
			cur, curLines = make([]Change, 0, chunkSize), make([]int32, 0, chunkSize)
		}
		cur = append(cur, Change{Kind: ChangeWrite, Tuple: t})
		curLines = append(curLines, int32(line))
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(chunks) == 0 {
		return cur, curLines, nil
	}
	chunks, lineChunks = append(chunks, cur), append(lineChunks, curLines)
	return slices.Concat(chunks...), slices.Concat(lineChunks...), nil
}

func parseJSONLine(b []byte) (Tuple, error) {
	var j jsonTuple
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Tuple{}, fmt.Errorf("not a tuple object %s: %w", `{"object":"type:id","relation":"name","subject":"type:id"}`, err)
	}
	switch {
	case j.Object == "":
		return Tuple{}, errors.New(`missing "object"`)
	case j.Relation == "":
		return Tuple{}, errors.New(`missing "relation"`)
	case j.Subject == "":
		return Tuple{}, errors.New(`missing "subject"`)
	}
	return Parse(j.Object + "#" + j.Relation + "@" + j.Subject)
}

// Import parses and validates the whole input before writing anything,
// then writes it as one revision in large batches. Tuples already stored
// are written again (touch), so re-running an import is harmless.
func (s *store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	var syntax inputErrors
	changes, lines, err := readTuples(ctx, r, opts, &syntax)
	if err != nil {
		return ImportResult{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cur, err := s.latest(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	name := opts.Name
	if name == "" {
		name = "input"
	}
	var errs inputErrors
	for i := range changes {
		if err := Validate(changes[i].Tuple, cur.schema); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Pos = fmt.Sprintf("%s:%d", name, lines[i])
				errs.add(lines[i], "%s", ve.Error())
			} else {
				errs.add(lines[i], "%s:%d: %v", name, lines[i], err)
			}
		}
	}
	if syntax.total+errs.total > 0 {
		return ImportResult{}, syntax.merge(&errs)
	}
	c := &commit{changes: changes}
	if opts.Progress != nil {
		total := len(changes)
		c.progress = func(done int) { opts.Progress(done, total) }
	}
	rev, err := s.eng.apply(ctx, c)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	return ImportResult{Revision: rev, Tuples: len(changes)}, nil
}

// Export writes every tuple at rev in format, one a line.
func (s *store) Export(ctx context.Context, w io.Writer, rev Revision, format Format) (int, error) {
	if format == 0 {
		format = FormatText
	}
	if format != FormatText && format != FormatJSONL {
		return 0, fmt.Errorf("export: unknown format %d", format)
	}
	snap, err := s.Snapshot(ctx, rev)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	n := 0
	err = snap.(*snapshot).v.scan(ctx, []byte{tagForward, sep}, nil, func(k []byte) (bool, error) {
		t, err := decodeKey(k)
		if err != nil {
			return false, err
		}
		if format == FormatText {
			bw.WriteString(t.String())
			bw.WriteByte('\n')
		} else {
			sub := t.Subject()
			line, err := json.Marshal(jsonTuple{Object: t.Object().String(), Relation: t.Relation, Subject: sub.String()})
			if err != nil {
				return false, err
			}
			bw.Write(line)
			bw.WriteByte('\n')
		}
		n++
		return true, nil
	})
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}
