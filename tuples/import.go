package tuples

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docketdb/docket/schema"
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

// inputErrors collects the first errors of an input, which arrive in line
// order, and counts the rest.
type inputErrors struct {
	list  []string
	total int
}

func (l *inputErrors) add(format string, args ...any) {
	l.total++
	if len(l.list) < maxListed {
		l.list = append(l.list, fmt.Sprintf(format, args...))
	}
}

func (l *inputErrors) err() *InputError {
	return &InputError{Errors: l.list, More: l.total - len(l.list)}
}

// jsonTuple is one line of the JSON-lines format.
type jsonTuple struct {
	Object   string `json:"object"`
	Relation string `json:"relation"`
	Subject  string `json:"subject"`
}

// maxLineLen bounds a line of an import; maxTupleLen is the longest a
// tuple can be written (two ids and four names, and their separators),
// so a line between the two can only hold spaces or a comment besides.
const (
	maxLineLen  = 1 << 20
	maxTupleLen = 2*MaxIDLen + 4*MaxNameLen + 5
)

// importChunk is how many tuples an import checks and hands to the
// backend at a time; the input is never held whole.
const importChunk = 1 << 18

// lineReader turns an import's input into tuples, one line at a time,
// reporting every bad line (syntax or schema) to errs in line order.
type lineReader struct {
	sc     *bufio.Scanner
	name   string
	format Format
	schema *schema.Schema
	errs   *inputErrors
	line   int
	// text holds the lines the tuples' strings point into: one
	// allocation per block of lines rather than one per line.
	text stringArena
}

// next returns the next good tuple; ok is false at the end of the input.
func (r *lineReader) next(ctx context.Context) (t Tuple, ok bool, err error) {
	for r.sc.Scan() {
		r.line++
		if r.line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return Tuple{}, false, err
			}
		}
		raw := r.sc.Bytes()
		if r.line == 1 {
			// A byte-order mark, as editors on Windows write, is no
			// part of the first tuple.
			raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
		}
		text := bytes.TrimSpace(raw)
		if r.format == FormatText {
			// Ids hold no whitespace, so whitespace then `//` can only
			// start a trailing comment.
			if i := bytes.Index(text, []byte("//")); i > 0 && (text[i-1] == ' ' || text[i-1] == '\t') {
				text = bytes.TrimSpace(text[:i])
			}
		}
		// No tuple starts with `#` (types are names), so a line that
		// does is a comment, as in shell scripts and many exports.
		if len(text) == 0 || bytes.HasPrefix(text, []byte("//")) || text[0] == '#' {
			continue
		}
		if r.format == FormatText {
			if text[0] == '{' {
				// No tuple starts with `{`: a JSON-lines file read as text.
				lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
				r.errs.add("%s:%d:%d: this line is a JSON object, not a tuple; read JSON lines with --format jsonl (or name the file .jsonl)", r.name, r.line, lead+1)
				continue
			}
			t, err = Parse(r.text.string(text))
		} else {
			t, err = parseJSONLine(text)
		}
		if err != nil {
			var pe *ParseError
			var je *jsonLineError
			lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
			if errors.As(err, &pe) && r.format == FormatText {
				r.errs.add("%s:%d:%d: %s", r.name, r.line, pe.Column+lead, pe.Msg)
			} else if errors.As(err, &je) {
				r.errs.add("%s:%d:%d: %s", r.name, r.line, je.Column+lead, je.Msg)
			} else {
				r.errs.add("%s:%d: %v", r.name, r.line, err)
			}
			continue
		}
		if err := Validate(t, r.schema); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Pos = fmt.Sprintf("%s:%d", r.name, r.line)
				r.errs.add("%s", ve.Error())
			} else {
				r.errs.add("%s:%d: %v", r.name, r.line, err)
			}
			continue
		}
		return t, true, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Tuple{}, false, &InputError{Errors: []string{fmt.Sprintf("%s:%d: line is longer than %d bytes; a tuple is at most %d bytes (is this a tuple file?)",
				r.name, r.line+1, maxLineLen, maxTupleLen)}}
		}
		return Tuple{}, false, fmt.Errorf("read %s: %w", r.name, err)
	}
	return Tuple{}, false, nil
}

// Import reads the input in chunks, checking each line against the
// schema, and hands each chunk to the backend, which keeps it invisible
// until the whole input has been read; then it publishes it as one
// revision. At the first bad line the backend discards what it was given,
// and the rest of the input is only checked, so that the error lists
// every bad line. Tuples already stored are written again (touch), so
// re-running an import is harmless. Writers wait for the whole import.
func (s *store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	name := opts.Name
	if name == "" {
		name = "input"
	}
	format := opts.Format
	if format == 0 {
		format = FormatText
	}
	if format != FormatText && format != FormatJSONL {
		return ImportResult{}, fmt.Errorf("import %s: unknown format %d", name, format)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cur, err := s.latest(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	defer cur.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLineLen)
	var errs inputErrors
	lr := &lineReader{sc: sc, name: name, format: format, schema: cur.schema, errs: &errs}
	if opts.DryRun {
		n := 0
		for {
			_, ok, err := lr.next(ctx)
			if err != nil {
				return ImportResult{}, err
			}
			if !ok {
				break
			}
			n++
		}
		if errs.total > 0 {
			return ImportResult{}, errs.err()
		}
		return ImportResult{Revision: cur.rev, Tuples: n}, nil
	}
	ld, err := s.eng.load(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	defer ld.abort()

	// The backend takes chunks in a goroutine of its own, so that reading
	// the next chunk overlaps with storing this one. The channel is
	// unbuffered: at most one chunk waits while another is stored.
	lctx, cancel := context.WithCancel(ctx)
	chunks := make(chan []Change)
	loaded := make(chan error, 1)
	go func() {
		var err error
		for c := range chunks {
			if err == nil {
				if err = ld.add(lctx, c); err != nil {
					cancel() // stops the reader at its next chunk
				}
			}
		}
		loaded <- err
	}()
	loading := true
	stop := func() error {
		if !loading {
			return nil
		}
		loading = false
		close(chunks)
		return <-loaded
	}
	defer func() {
		cancel()
		stop()
	}()

	// Chunks start small and double up to importChunk: a small input
	// allocates little, and no chunk is ever copied to grow.
	size := min(s.importChunk, 4096)
	var chunk []Change
	total := 0
	for {
		t, ok, err := lr.next(ctx)
		if err != nil {
			return ImportResult{}, err
		}
		if errs.total > 0 {
			if loading {
				// Nothing of this input will be written: drop what the
				// backend holds now rather than after the last line.
				stop()
				ld.abort()
				chunk = nil
			}
			if !ok {
				break
			}
			continue
		}
		if ok {
			if chunk == nil {
				chunk = make([]Change, 0, size)
			}
			chunk = append(chunk, Change{Kind: ChangeWrite, Tuple: t})
			total++
		}
		if len(chunk) > 0 && (len(chunk) == cap(chunk) || !ok) {
			select {
			case chunks <- chunk:
			case <-lctx.Done():
			}
			if lctx.Err() != nil {
				err := stop()
				if cerr := ctx.Err(); cerr != nil {
					return ImportResult{}, cerr
				}
				return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
			}
			chunk, size = nil, min(2*size, s.importChunk)
		}
		if !ok {
			break
		}
	}
	if errs.total > 0 {
		return ImportResult{}, errs.err()
	}
	if err := stop(); err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	var progress func(int)
	if opts.Progress != nil {
		progress = func(done int) { opts.Progress(done, total) }
	}
	rev, err := ld.commit(ctx, progress)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	return ImportResult{Revision: rev, Tuples: total}, nil
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
	defer snap.Close()
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
