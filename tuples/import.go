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
	"sync"
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

// parallelFrom is the input size from which readTuples parses two halves
// side by side.
const parallelFrom = 4 << 20

// readTuples parses all of r into write changes, with the line of each;
// every bad line is reported to errs, none is skipped silently.
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
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	// Split at a line end near the middle; the halves parse concurrently.
	parts := [][]byte{data}
	if len(data) >= parallelFrom {
		if i := bytes.IndexByte(data[len(data)/2:], '\n'); i >= 0 {
			mid := len(data)/2 + i + 1
			parts = [][]byte{data[:mid], data[mid:]}
		}
	}
	type result struct {
		changes []Change
		lines   []int32
		errs    inputErrors
		err     error
	}
	results := make([]result, len(parts))
	var wg sync.WaitGroup
	first := 1
	for i, part := range parts {
		wg.Add(1)
		go func(first int) {
			defer wg.Done()
			r := &results[i]
			r.changes, r.lines, r.err = parseLines(ctx, part, first, format, name, &r.errs)
		}(first)
		first += bytes.Count(part, []byte{'\n'})
	}
	wg.Wait()
	var changes [][]Change
	var lines [][]int32
	for i := range results {
		if results[i].err != nil {
			return nil, nil, results[i].err
		}
		changes, lines = append(changes, results[i].changes), append(lines, results[i].lines)
		// Later parts hold later lines: appending keeps line order.
		for _, e := range results[i].errs.list {
			if len(errs.list) < maxListed {
				errs.list = append(errs.list, e)
			}
		}
		errs.total += results[i].errs.total
	}
	if len(changes) == 1 {
		return changes[0], lines[0], nil
	}
	return slices.Concat(changes...), slices.Concat(lines...), nil
}

// parseLines parses data, whose first line is line number first.
func parseLines(ctx context.Context, data []byte, first int, format Format, name string, errs *inputErrors) ([]Change, []int32, error) {
	// Parsed tuples collect in fixed-size chunks, joined once at the end:
	// growing one slice of a million tuples would copy it many times.
	const chunkSize = 1 << 16
	var chunks [][]Change
	var lineChunks [][]int32
	var cur []Change
	var curLines []int32
	for line := first; len(data) > 0; line++ {
		if line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
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
