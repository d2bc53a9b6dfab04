package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/internal/arena"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// MaxListed is how many input errors an import reports one by one.
const MaxListed = 20

// InputError lists what is wrong with an import's input, each line as
// NAME:LINE[:COL]: message; only the first 20 are kept.
type InputError struct {
	Errors []string
	// More counts errors found beyond those listed.
	More int
}

// Is makes an InputError match errkind.ErrInvalid.
func (e *InputError) Is(target error) bool { return target == errkind.ErrInvalid }

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
	if len(l.list) < MaxListed {
		l.list = append(l.list, fmt.Sprintf(format, args...))
	}
}

func (l *inputErrors) err() *InputError {
	return &InputError{Errors: l.list, More: l.total - len(l.list)}
}

// ImportOptions tune Import.
type ImportOptions struct {
	Format tuples.Format
	// Name is the input's name, used in error messages (file:line).
	Name string
	// Progress, when set, is called as tuples are written, once the
	// whole input is read and checked: done of total. Calls may come from
	// goroutines other than the caller's, one at a time.
	Progress func(done, total int)
	// DryRun reads and checks the whole input as an import does, and
	// writes nothing: the result says how many tuples it holds, at the
	// latest revision.
	DryRun bool
}

// ImportResult reports what Import did.
type ImportResult struct {
	Revision tuples.Revision
	// Tuples counts the distinct tuples of the input; Duplicates the
	// lines that repeat a tuple of an earlier line (the last one wins).
	Tuples     int
	Duplicates int
	// Unchanged says every tuple was stored already: nothing was
	// written, and Revision is the latest, not a new one.
	Unchanged bool
}

// duplicateCounter counts the lines of an input that repeat an earlier
// tuple, in 8 bytes a line however large the input. It only counts: each
// line is handed to the backend (a repeat is written again, and logged,
// at the same revision), so that what is stored and logged never depends
// on how the input was cut into chunks. Two different tuples whose
// 64-bit hashes collide (about one chance in 10^7 for ten million lines)
// would be counted as one repeat, which changes the reported count only.
type duplicateCounter struct {
	seed   maphash.Seed
	hashes []uint64
}

func newDuplicateCounter() *duplicateCounter {
	return &duplicateCounter{seed: maphash.MakeSeed()}
}

// add counts t.
func (d *duplicateCounter) add(t tuples.Tuple) {
	k := t.Key()
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, f := range [...]string{k.ObjectType, k.ObjectID, k.Relation, k.SubjectType, k.SubjectID, k.SubjectRelation} {
		h.WriteString(f)
		h.WriteByte(0)
	}
	d.hashes = append(d.hashes, h.Sum64())
}

// duplicates returns how many of the lines added repeat an earlier one.
func (d *duplicateCounter) duplicates() int {
	slices.Sort(d.hashes)
	n := 0
	for i := 1; i < len(d.hashes); i++ {
		if d.hashes[i] == d.hashes[i-1] {
			n++
		}
	}
	return n
}

// maxLineLen bounds a line of an import; maxTupleLen is the longest a
// tuple can be written (two ids and four names, and their separators),
// so a line between the two can only hold spaces or a comment besides.
const (
	maxLineLen  = 1 << 20
	maxTupleLen = 2*tuples.MaxIDLen + 4*tuples.MaxNameLen + 5
)

// lineReader turns an import's input into tuples, one line at a time,
// reporting every bad line (syntax or schema) to errs in line order.
type lineReader struct {
	sc     *bufio.Scanner
	name   string
	format tuples.Format
	schema *schema.Schema
	errs   *inputErrors
	line   int
	// text holds the lines the tuples' strings point into: one
	// allocation per block of lines rather than one per line.
	text arena.Strings
}

// next returns the next good tuple; ok is false at the end of the input.
func (r *lineReader) next(ctx context.Context) (t tuples.Tuple, ok bool, err error) {
	for r.sc.Scan() {
		r.line++
		if r.line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return tuples.Tuple{}, false, err
			}
		}
		raw := r.sc.Bytes()
		if r.line == 1 {
			// A byte-order mark, as editors on Windows write, is no
			// part of the first tuple.
			raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
		}
		text := bytes.TrimSpace(raw)
		if r.format == tuples.FormatText {
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
		if r.format == tuples.FormatText {
			if text[0] == '{' {
				// No tuple starts with `{`: a JSON-lines file read as text.
				lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
				r.errs.add("%s:%d:%d: this line is a JSON object, not a tuple; read JSON lines with --format jsonl (or name the file .jsonl)", r.name, r.line, lead+1)
				continue
			}
			t, _, err = tuples.ParseWithPayload(r.text.String(text))
		} else {
			t, err = tuples.ParseJSONLine(text)
		}
		if err != nil {
			var pe *tuples.ParseError
			var je *tuples.JSONLineError
			lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
			if errors.As(err, &pe) && r.format == tuples.FormatText {
				r.errs.add("%s:%d:%d: %s", r.name, r.line, pe.Column+lead, pe.Msg)
			} else if errors.As(err, &je) {
				r.errs.add("%s:%d:%d: %s", r.name, r.line, je.Column+lead, je.Msg)
			} else {
				r.errs.add("%s:%d: %v", r.name, r.line, err)
			}
			continue
		}
		if err := tuples.Validate(t, r.schema); err != nil {
			var ve *tuples.ValidationError
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
			return tuples.Tuple{}, false, &InputError{Errors: []string{fmt.Sprintf("%s:%d: line is longer than %d bytes; a tuple is at most %d bytes (is this a tuple file?)",
				r.name, r.line+1, maxLineLen, maxTupleLen)}}
		}
		return tuples.Tuple{}, false, fmt.Errorf("read %s: %w", r.name, err)
	}
	return tuples.Tuple{}, false, nil
}

// dryRunImport reads and checks an import's input against the latest
// schema, as Import does, and writes nothing.
func (s *store) dryRunImport(ctx context.Context, sc *bufio.Scanner, name string, format tuples.Format) (ImportResult, error) {
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		return ImportResult{}, err
	}
	defer snap.Close()
	if snap.Schema() == nil {
		return ImportResult{}, fmt.Errorf("write a schema before writing tuples: %w", ErrNoSchema)
	}
	var errs inputErrors
	lr := &lineReader{sc: sc, name: name, format: format, schema: snap.Schema(), errs: &errs}
	n := 0
	dups := newDuplicateCounter()
	for {
		t, ok, err := lr.next(ctx)
		if err != nil {
			return ImportResult{}, err
		}
		if !ok {
			break
		}
		dups.add(t)
		n++
	}
	if errs.total > 0 {
		return ImportResult{}, errs.err()
	}
	d := dups.duplicates()
	return ImportResult{Revision: snap.Revision(), Tuples: n - d, Duplicates: d}, nil
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
		format = tuples.FormatText
	}
	if format != tuples.FormatText && format != tuples.FormatJSONL {
		return ImportResult{}, fmt.Errorf("import %s: unknown format %d", name, format)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLineLen)
	var errs inputErrors
	if opts.DryRun {
		return s.dryRunImport(ctx, sc, name, format)
	}
	ld, err := s.b.Load(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	defer ld.Abort()
	sch, err := s.writable(ctx, ld)
	if err != nil {
		return ImportResult{}, err
	}

	lr := &lineReader{sc: sc, name: name, format: format, schema: sch, errs: &errs}
	// An import of tuples all stored already changes nothing and makes no
	// revision. Lines are looked up only until the first one that is not
	// stored: a fresh import pays one read, a repeated one reads what it
	// would otherwise write again.
	latest, err := s.b.Reader(ctx, 0)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	defer latest.Close()
	unchanged := true

	// The backend takes chunks in a goroutine of its own, so that reading
	// the next chunk overlaps with storing this one. The channel is
	// unbuffered: at most one chunk waits while another is stored.
	lctx, cancel := context.WithCancel(ctx)
	chunks := make(chan []tuples.Change)
	loaded := make(chan error, 1)
	go func() {
		var err error
		for c := range chunks {
			if err == nil {
				if err = ld.Add(lctx, c); err != nil {
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
	var chunk []tuples.Change
	// edges are the input's subject sets of indexed or counted nesting
	// relations, from which the index's and the counts' changes are
	// derived before the commit.
	var edges []tuples.Change
	total := 0
	dups := newDuplicateCounter()
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
				ld.Abort()
				chunk = nil
			}
			if !ok {
				break
			}
			continue
		}
		if ok {
			if chunk == nil {
				chunk = make([]tuples.Change, 0, size)
			}
			chunk = append(chunk, tuples.Change{Kind: tuples.ChangeWrite, Tuple: t})
			dups.add(t)
			total++
			if unchanged {
				// Unchanged only while each line is stored as it is given,
				// payload and all: a line that is absent, or that replaces
				// what its tuple carries, is a change, as for a write.
				stored, ok, err := tuples.Get(ctx, latest, t.Key())
				if err != nil {
					return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
				}
				unchanged = ok && stored.Payload.Equal(t.Payload)
			}
			if t.SubjectRelation != "" && t.SubjectRelation == t.Relation && t.SubjectType == t.ObjectType {
				if r := sch.Relation(t.ObjectType, t.Relation); r != nil && (r.GroupIndexed() || r.NestingCounted()) {
					edges = append(edges, tuples.Change{Kind: tuples.ChangeWrite, Tuple: t})
				}
			}
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
	if unchanged {
		ld.Abort()
		d := dups.duplicates()
		return ImportResult{Revision: latest.Revision(), Tuples: total - d, Duplicates: d, Unchanged: true}, nil
	}
	if err := loadIndex(ctx, s.index, ld, sch, edges); err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	var progress func(int)
	if opts.Progress != nil {
		progress = func(done int) { opts.Progress(done, total) }
	}
	endBulk := s.mem.bulk()
	rev, err := ld.Commit(ctx, progress)
	endBulk()
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	d := dups.duplicates()
	return ImportResult{Revision: rev, Tuples: total - d, Duplicates: d}, nil
}

// Export writes every tuple at rev in format, one a line, with its
// condition and expiry, paging through the snapshot in the forward
// index's order; tuples expired at the request's clock are left out, as
// every read leaves them out.
func (s *store) Export(ctx context.Context, w io.Writer, rev tuples.Revision, format tuples.Format) (int, error) {
	if format == 0 {
		format = tuples.FormatText
	}
	if format != tuples.FormatText && format != tuples.FormatJSONL {
		return 0, fmt.Errorf("export: unknown format %d", format)
	}
	ctx, _ = s.clocked(ctx)
	r, err := s.b.Reader(ctx, rev)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	bw := bufio.NewWriterSize(w, 1<<16)
	n, cursor := 0, ""
	for {
		ts, next, err := r.Read(ctx, tuples.Filter{}, cursor, exportPage)
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		for _, t := range ts {
			if format == tuples.FormatText {
				bw.WriteString(t.Text())
			} else {
				line, err := tuples.MarshalJSONLine(t)
				if err != nil {
					return n, fmt.Errorf("export: %w", err)
				}
				bw.Write(line)
			}
			bw.WriteByte('\n')
			n++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// exportPage is how many tuples Export reads at a time.
const exportPage = 8192
