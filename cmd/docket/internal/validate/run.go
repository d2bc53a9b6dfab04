package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
	"gopkg.in/yaml.v3"
)

// Failure is an expectation the checker did not meet.
type Failure struct {
	Pos       string `json:"pos"`       // FILE:LINE of the assertion or expectation
	Assertion string `json:"assertion"` // with its kind: "allowed: case:1#viewer@user:bob"
	Expected  string `json:"expected"`
	Got       string `json:"got"`
	// Explanation says why the checker decided as it did.
	Explanation string `json:"explanation,omitempty"`
}

// Report is the outcome of one validation file.
type Report struct {
	File     string    `json:"file"`
	Passed   int       `json:"passed"`
	Failures []Failure `json:"failures"`
}

// OpenStore opens the fresh, empty store a validation file runs on; closing
// it must release everything it holds.
type OpenStore func() (store.Store, error)

// Run runs one validation file on a fresh store from open, or on a fresh
// in-memory store when open is nil. The error is about the file itself
// (unreadable, malformed, naming unknown types or relations) or the store;
// expectations that do not hold are Failures in the report.
func Run(ctx context.Context, path string, open OpenStore) (rep *Report, err error) {
	return RunWith(ctx, path, open, Overrides{})
}

// Overrides are what the command line sets over every file: a clock in
// place of the file's now:, and condition parameters merged over its
// context: (a check's own ` with {JSON}` still wins).
type Overrides struct {
	Now     time.Time
	Context condition.Context
}

// RunWith is Run with overrides.
func RunWith(ctx context.Context, path string, open OpenStore, ov Overrides) (*Report, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, err
	}
	d.overrides = ov
	return d.run(ctx, open)
}

// RunSource runs a validation file given as text, as Run runs one read
// from path; path names it in positions and is where its schema_file and
// tuples_file are found from.
func RunSource(ctx context.Context, path string, src []byte, open OpenStore) (*Report, error) {
	d, err := parseDoc(path, src)
	if err != nil {
		return nil, err
	}
	return d.run(ctx, open)
}

func (d *doc) run(ctx context.Context, open OpenStore) (rep *Report, err error) {
	path := d.path
	if open == nil {
		open = memory.New
	}
	st, err := open()
	if err != nil {
		return nil, fmt.Errorf("%s: open store: %w", path, err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: close store: %w", path, cerr)
		}
	}()
	if ctx, err = d.clock(ctx); err != nil {
		return nil, err
	}
	if !d.overrides.Now.IsZero() {
		ctx = tuples.WithClock(ctx, d.overrides.Now)
	}
	reqCtx, err := d.fileContext()
	if err != nil {
		return nil, err
	}
	if len(d.overrides.Context) > 0 {
		merged := condition.Context{}
		for k, v := range reqCtx {
			merged[k] = v
		}
		for k, v := range d.overrides.Context {
			merged[k] = v
		}
		reqCtx = merged
	}
	sch, err := d.loadSchema(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := d.loadTuples(ctx, st, sch); err != nil {
		return nil, err
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer snap.Close()
	r := &runner{doc: d, snap: snap, sch: snap.Schema(), checker: check.New(check.Options{}),
		report: &Report{File: path}, context: reqCtx}
	// Every expectation is parsed and name-checked before any runs, so a
	// typo is an error rather than a failure among passes.
	jobs, err := r.plan()
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if err := j(ctx); err != nil {
			return nil, err
		}
	}
	return r.report, nil
}

// rel resolves a path in the file relative to the file's directory.
func (d *doc) rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(d.path), p)
}

func (d *doc) loadSchema(ctx context.Context, st store.Store) (*schema.Schema, error) {
	inline, file := d.keys["schema"], d.keys["schema_file"]
	var (
		name string
		src  []byte
	)
	switch {
	case inline != nil && file != nil:
		return nil, d.errAt(d.keyAt["schema_file"], "keep one of them", "both schema and schema_file given")
	case inline == nil && file == nil:
		return nil, &Error{Pos: d.path + ":1", Msg: "no schema", Hint: "add schema: | (inline) or schema_file: FILE"}
	case file != nil:
		if file.Kind != yaml.ScalarNode || file.Value == "" {
			return nil, d.errAt(file, "give the path of a .rebac file, relative to this file", "schema_file must be a path")
		}
		name = d.rel(file.Value)
		var err error
		if src, err = os.ReadFile(name); err != nil {
			if os.IsNotExist(err) {
				return nil, d.errAt(file, "paths are relative to the validation file", "schema file %s: no such file", name)
			}
			return nil, fmt.Errorf("%s: read schema file: %w", d.errAt(file, "", "").Pos, err)
		}
	default:
		if inline.Kind != yaml.ScalarNode {
			return nil, d.errAt(inline, "write the schema as a block: `schema: |` and the text indented below", "schema must be text")
		}
		name, src = d.path, []byte(inline.Value)
	}
	s, err := schema.Load(name, src)
	if err != nil {
		var list schema.ErrorList
		if inline != nil && errors.As(err, &list) {
			// Point into the validation file, not into the extracted text.
			indent := d.blockIndent(inline)
			for i := range list {
				list[i].Pos.Filename = d.path
				list[i].Pos.Line += inline.Line
				list[i].Pos.Column += indent
			}
			return nil, list
		}
		return nil, err
	}
	if _, err := st.WriteSchema(ctx, name, src); err != nil {
		return nil, fmt.Errorf("%s: %w", d.path, err)
	}
	return s, nil
}

func (d *doc) loadTuples(ctx context.Context, st store.Store, sch *schema.Schema) error {
	inline, file := d.keys["tuples"], d.keys["tuples_file"]
	switch {
	case inline != nil && file != nil:
		return d.errAt(d.keyAt["tuples_file"], "keep one of them", "both tuples and tuples_file given")
	case file != nil:
		if file.Kind != yaml.ScalarNode || file.Value == "" {
			return d.errAt(file, "give the path of a tuple file, relative to this file", "tuples_file must be a path")
		}
		name := d.rel(file.Value)
		f, err := os.Open(name)
		if err != nil {
			if os.IsNotExist(err) {
				return d.errAt(file, "paths are relative to the validation file", "tuples file %s: no such file", name)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		defer f.Close()
		format := tuples.FormatText
		if ext := strings.ToLower(filepath.Ext(name)); ext == ".jsonl" || ext == ".ndjson" {
			format = tuples.FormatJSONL
		}
		_, err = st.Import(ctx, f, store.ImportOptions{Format: format, Name: name})
		return err
	case inline == nil:
		return nil
	}
	items, err := d.scalars(inline, "tuples")
	if err != nil {
		return err
	}
	var errs ErrorList
	b := tuples.Batch{Ops: make([]tuples.Op, 0, len(items))}
	seen := map[tuples.Key]*yaml.Node{}
	for _, it := range items {
		t, _, err := tuples.ParseWithPayload(it.Value)
		if err != nil {
			errs = append(errs, d.parseError(it, err))
			continue
		}
		if prev := seen[t.Key()]; prev != nil {
			pt, _, _ := tuples.ParseWithPayload(prev.Value)
			if !pt.Payload.Equal(t.Payload) {
				errs = append(errs, d.errAt(it, "give each tuple once", "%s is given again with another condition or expiry (first at line %d)", t.Key(), prev.Line))
				continue
			}
		}
		seen[t.Key()] = it
		if err := tuples.Validate(t, sch); err != nil {
			errs = append(errs, d.errAt(it, "", "%v", err))
			continue
		}
		b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: t})
	}
	if len(errs) > 0 {
		return errs
	}
	if len(b.Ops) == 0 {
		return nil
	}
	if _, err := st.Write(ctx, b); err != nil {
		return fmt.Errorf("%s: write tuples: %w", d.path, err)
	}
	return nil
}

// parseError places a tuple syntax error at its column in the file.
func (d *doc) parseError(n *yaml.Node, err error) *Error {
	var pe *tuples.ParseError
	if errors.As(err, &pe) && n.Style == 0 {
		return &Error{Pos: fmt.Sprintf("%s:%d:%d", d.path, n.Line, n.Column+pe.Column-1), Msg: pe.Msg,
			Hint: "write OBJECT#RELATION@SUBJECT"}
	}
	return d.errAt(n, "write OBJECT#RELATION@SUBJECT", "%v", err)
}

// sameSet compares two lists as sets and describes the difference.
func sameSet(want, got []string) (missing, extra []string) {
	w := map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
		if !w[s] {
			extra = append(extra, s)
		}
	}
	for _, s := range want {
		if !g[s] {
			missing = append(missing, s)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return slices.Compact(missing), slices.Compact(extra)
}

func listString(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return "[" + strings.Join(s, ", ") + "]"
}

// Loaded is a validation file's schema and tuples written to a fresh
// in-memory store, for queries other than the file's own expectations.
type Loaded struct {
	Store    store.Store
	Snapshot tuples.Snapshot
}

// Load writes the schema and tuples of a validation file given as text to
// a fresh in-memory store; its errors are those of RunSource. The caller
// closes it.
func Load(ctx context.Context, path string, src []byte) (*Loaded, error) {
	d, err := parseDoc(path, src)
	if err != nil {
		return nil, err
	}
	st, err := memory.New()
	if err != nil {
		return nil, fmt.Errorf("%s: open store: %w", path, err)
	}
	sch, err := d.loadSchema(ctx, st)
	if err == nil {
		err = d.loadTuples(ctx, st, sch)
	}
	var snap tuples.Snapshot
	if err == nil {
		snap, err = st.Snapshot(ctx, 0)
	}
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &Loaded{Store: st, Snapshot: snap}, nil
}

// Close releases the snapshot and the store.
func (l *Loaded) Close() error {
	return errors.Join(l.Snapshot.Close(), l.Store.Close())
}
