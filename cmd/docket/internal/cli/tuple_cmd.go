package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

func addStoreCommands(root *cobra.Command, e *env) {
	root.AddCommand(
		newTupleCmd(e),
		newCheckCmd(e),
		newExpandCmd(e),
		newLookupCmd(e),
		newValidateCmd(e),
	)
}

func newTupleCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tuple",
		Short: "Write, delete, read, import, export relationship tuples and list changes",
		Long: `Relationship tuples say who holds which relation on which object, written
OBJECT#RELATION@SUBJECT: case:1042#assignee@user:alice. Every tuple is checked
against the stored schema before it is written; a write is all or nothing.`,
		ValidArgsFunction: e.completeArgs(shapeTuple),
		Example: `  docket tuple write case:1#assignee@user:alice user:alice#team@team:east
  docket tuple read case:1
  docket tuple delete case:1#assignee@user:alice
  docket tuple import casebook.tuples
  docket tuple export --format jsonl > backup.jsonl
  docket tuple changes --since 41`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTupleWriteCmd(e), newTupleDeleteCmd(e), newTupleReadCmd(e),
		newTupleImportCmd(e), newTupleExportCmd(e), newTupleChangesCmd(e), newTupleTrimChangesCmd(e), newTupleGCCmd(e))
	return cmd
}

// formatFor picks a tuple file format: the --format flag when given, else
// the file's extension (.jsonl, .ndjson, .json: JSON lines; anything else:
// text).
func formatFor(path string, flag *choice, set bool) tuples.Format {
	if set {
		if flag.value == "jsonl" {
			return tuples.FormatJSONL
		}
		return tuples.FormatText
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return tuples.FormatJSONL
	}
	return tuples.FormatText
}

// importFile writes every tuple of path ("-" = stdin) in one revision.
// When p is set it is shown the reading (bytes of a regular file) and the
// writing (tuples) of the import.
func (e *env) importFile(ctx context.Context, path string, format tuples.Format, p *importProgress, dryRun bool) (store.ImportResult, error) {
	var r io.Reader = e.stdin
	name := "stdin"
	size := int64(-1)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return store.ImportResult{}, fileError(path, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return store.ImportResult{}, withHint("give a tuple file, or - for standard input", "%s is a directory", path)
		}
		r, name = f, path
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	var progress func(done, total int)
	if p != nil {
		r = p.reading(r, size)
		progress = p.writing
		defer p.finish()
	}
	s, err := e.openStore()
	if err != nil {
		return store.ImportResult{}, err
	}
	if _, err := e.snapshot(ctx, 0); err != nil {
		return store.ImportResult{}, err
	}
	return s.Import(ctx, r, store.ImportOptions{Format: format, Name: name, Progress: progress, DryRun: dryRun})
}

// writeNote is a count printed after a write's summary when it is not
// zero: "(2 already stored)", and in JSON under key.
// duplicateNote counts the lines of an import that repeated an earlier
// tuple.
func duplicateNote(res store.ImportResult) writeNote {
	return writeNote{"duplicate_lines", res.Duplicates, "duplicate line" + plural(res.Duplicates)}
}

type writeNote struct {
	key   string
	n     int
	words string
}

func (e *env) printWrite(verb string, n int, rev tuples.Revision, notes ...writeNote) error {
	if e.json() {
		v := map[string]any{"revision": rev, verb: n}
		for _, note := range notes {
			v[note.key] = note.n
		}
		return writeJSON(e.stdout, v)
	}
	line := fmt.Sprintf("%s %d tuple%s at revision %d", verb, n, plural(n), rev)
	for _, note := range notes {
		if note.n > 0 {
			line += fmt.Sprintf(" (%d %s)", note.n, note.words)
		}
	}
	_, err := fmt.Fprintln(e.stdout, line)
	return err
}

// printDryRun reports what a --dry-run would have done: the count, and
// the tuples when they are known (not for an import, which may be large).
func (e *env) printDryRun(verb string, n int, rev tuples.Revision, ts []tuples.Tuple, notes ...writeNote) error {
	if e.json() {
		v := map[string]any{"revision": rev, "dry_run": true, "would_" + verb: n}
		if ts != nil || verb != "write" {
			list := make([]string, len(ts))
			for i, t := range ts {
				list[i] = t.String()
			}
			v["tuples"] = list
		}
		for _, note := range notes {
			v[note.key] = note.n
		}
		return writeJSON(e.stdout, v)
	}
	for _, t := range ts {
		fmt.Fprintf(e.stdout, "%s %s\n", verb, t)
	}
	line := fmt.Sprintf("would %s %d tuple%s at revision %d", verb, n, plural(n), rev+1)
	if n == 0 {
		line = fmt.Sprintf("would %s 0 tuples: no new revision (the latest is %d)", verb, rev)
	}
	for _, note := range notes {
		if note.n > 0 {
			line += fmt.Sprintf(" (%d %s)", note.n, note.words)
		}
	}
	_, err := fmt.Fprintln(e.stdout, line+"; dry run: nothing written")
	return err
}

// printUnchanged reports a write or delete that changes nothing and so
// makes no revision: "wrote 0 tuples: all 2 already stored; no new
// revision (the latest is 7)".
func (e *env) printUnchanged(verb string, rev tuples.Revision, why string, notes ...writeNote) error {
	if e.json() {
		v := map[string]any{"revision": rev, verb: 0, "new_revision": false}
		for _, note := range notes {
			v[note.key] = note.n
		}
		return writeJSON(e.stdout, v)
	}
	_, err := fmt.Fprintf(e.stdout, "%s 0 tuples: %s; no new revision (the latest is %d)\n", verb, why, rev)
	return err
}

// unique drops repeats, keeping the first of each, so that a tuple named
// twice is counted once.
func unique(ts []tuples.Tuple) ([]tuples.Tuple, error) {
	seen := make(map[tuples.Key]int, len(ts))
	out := ts[:0]
	for i, t := range ts {
		j, ok := seen[t.Key()]
		if !ok {
			seen[t.Key()] = i
			out = append(out, t)
			continue
		}
		if !ts[j].Payload.Equal(t.Payload) {
			return nil, fmt.Errorf("nothing written: %s and %s are both %s, with different conditions or expiries; give each tuple once",
				ordinal(j), ordinal(i), t.Key())
		}
	}
	return out, nil
}

// storedAmong returns the tuples of ts stored at snap; with samePayload,
// only those carrying there what they carry in ts: a tuple stored with
// another condition or expiry is not among them, as writing it replaces
// the stored one.
func storedAmong(ctx context.Context, snap tuples.Snapshot, ts []tuples.Tuple, samePayload bool) ([]tuples.Tuple, error) {
	var stored []tuples.Tuple
	for _, t := range ts {
		got, ok, err := tuples.Get(ctx, snap, t.Key())
		if err != nil {
			return nil, err
		}
		if ok && (!samePayload || got.Payload.Equal(t.Payload)) {
			stored = append(stored, t)
		}
	}
	return stored, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// tupleWriteOptions are the flags of tuple write.
type tupleWriteOptions struct {
	file      string
	format    choice
	formatSet bool
	dryRun    bool
}

func newTupleWriteCmd(e *env) *cobra.Command {
	o := tupleWriteOptions{format: newChoice("", "text", "jsonl")}
	cmd := &cobra.Command{
		Use:   "write TUPLE... | -f FILE | -",
		Short: "Write tuples atomically and print the new revision",
		Long: `Write tuples given as arguments, read from a file (-f FILE), or from standard
input (-). All are checked against the stored schema first; if any is
malformed or not allowed, every problem is reported and nothing is written.
Writing a tuple that already exists is not an error. Files are text (one
tuple a line, // and # comments) or JSON lines (.jsonl, .ndjson, .json or
--format jsonl: {"object":"case:1","relation":"assignee","subject":"user:alice"}).`,
		Example: `  docket tuple write case:1#assignee@user:alice
  docket tuple write team:east#member@team:east_intake#member case:2#public@user:*
  docket tuple write -f casebook.tuples
  grep east casebook.tuples | docket tuple write -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.formatSet = cmd.Flags().Changed("format")
			return e.runTupleWrite(cmd.Context(), &o, args)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "read tuples from FILE (- for standard input)")
	cmd.Flags().Var(&o.format, "format", "file format: text or jsonl (default: by extension)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "check everything and say what would be written; write nothing")
	_ = cmd.RegisterFlagCompletionFunc("format", o.format.complete)
	return cmd
}

// runTupleWrite writes the tuples of args, or of a file or standard input
// (imported), in one revision.
func (e *env) runTupleWrite(ctx context.Context, o *tupleWriteOptions, args []string) error {
	file := o.file
	stdin := len(args) == 1 && args[0] == "-"
	switch {
	case file != "" && len(args) > 0:
		return withHint("give either tuples or -f FILE", "both tuple arguments and -f %s given", file)
	case file == "" && len(args) == 0:
		return withHint("give tuples as arguments, -f FILE, or - for standard input", "nothing to write")
	case file != "" || stdin:
		path := file
		if stdin {
			path = "-"
		}
		res, err := e.importFile(ctx, path, formatFor(path, &o.format, o.formatSet), nil, o.dryRun)
		if err != nil {
			return err
		}
		if o.dryRun {
			return e.printDryRun("write", res.Tuples, res.Revision, nil, duplicateNote(res))
		}
		if res.Unchanged {
			return e.printUnchanged("wrote", res.Revision, fmt.Sprintf("all %d already stored", res.Tuples), duplicateNote(res))
		}
		return e.printWrite("wrote", res.Tuples, res.Revision, duplicateNote(res))
	}
	ts := make([]tuples.Tuple, 0, len(args))
	var problems []string
	for i, a := range args {
		t, err := parseTupleArg(i, a)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		ts = append(ts, t)
	}
	r, err := e.reader(ctx, 0)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := tuples.Validate(t, r.Schema()); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing written: %s", strings.Join(problems, "\n"))
	}
	if ts, err = unique(ts); err != nil {
		return err
	}
	b := tuples.Batch{Ops: make([]tuples.Op, len(ts))}
	for i, t := range ts {
		b.Ops[i] = tuples.Op{Kind: tuples.OpTouch, Tuple: t}
	}
	stored, err := storedAmong(ctx, r.Snapshot(), ts, true)
	if err != nil {
		return err
	}
	if o.dryRun {
		var fresh []tuples.Tuple
		for _, t := range ts {
			if !slices.Contains(stored, t) {
				fresh = append(fresh, t)
			}
		}
		return e.printDryRun("write", len(fresh), r.Revision(), fresh, writeNote{"already_stored", len(stored), "already stored"})
	}
	if len(stored) == len(ts) {
		return e.printUnchanged("wrote", r.Revision(), fmt.Sprintf("all %d already stored", len(ts)),
			writeNote{"already_stored", len(stored), "already stored"})
	}
	rev, err := e.service().Write(ctx, b)
	if err != nil {
		return err
	}
	return e.printWrite("wrote", len(ts), rev, writeNote{"already_stored", len(stored), "already stored"})
}

// tupleDeleteOptions are the flags of tuple delete.
type tupleDeleteOptions struct {
	ff      filterFlags
	partial string
	dryRun  bool
}

func newTupleDeleteCmd(e *env) *cobra.Command {
	var o tupleDeleteOptions
	cmd := &cobra.Command{
		Use:   "delete TUPLE... | --filter PARTIAL_TUPLE | --FIELD VALUE...",
		Short: "Delete tuples atomically and print the new revision",
		Long: `Delete the tuples given as arguments, or every tuple matching a filter, in one
revision. The filter is a partial tuple (--filter case:1, --filter
case#deny_list@user:mallory; see 'docket tuple read') and/or the field flags.
Deleting a tuple that does not exist is not an error. A filter must name at
least one field, so that no typo deletes everything.`,
		ValidArgsFunction: e.completeArgs(shapeTuple),
		Example: `  docket tuple delete case:1#assignee@user:alice
  docket tuple delete --filter case:1
  docket tuple delete --filter case#deny_list@user:mallory
  docket tuple delete --object-type case --object-id 1
  docket tuple delete --subject-type user --subject-id mallory`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runTupleDelete(cmd.Context(), &o, args)
		},
	}
	o.ff.add(cmd)
	cmd.Flags().StringVar(&o.partial, "filter", "", "delete every tuple matching this partial tuple")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "check everything and say what would be deleted; delete nothing")
	return cmd
}

// runTupleDelete deletes the tuples of args, or every tuple matching the
// filter, in one revision.
func (e *env) runTupleDelete(ctx context.Context, o *tupleDeleteOptions, args []string) error {
	ff := o.ff
	if o.partial != "" {
		p, err := parsePartial(o.partial)
		if err != nil {
			return err
		}
		if ff.f, err = mergeFilter(p, ff.f); err != nil {
			return err
		}
	}
	switch {
	case len(args) > 0 && !ff.empty():
		return withHint("give either tuples or filter flags", "both tuple arguments and a filter given")
	case len(args) == 0 && ff.empty():
		return withHint("give tuples as arguments, or a filter such as --object-type case --object-id 1", "nothing to delete")
	}
	r, err := e.reader(ctx, 0)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		if err := checkFilter(r.Schema(), filterWhat(o.partial, ff.f), ff.f); err != nil {
			return fmt.Errorf("nothing deleted: %w", err)
		}
		if o.dryRun {
			var matched []tuples.Tuple
			for cursor := ""; ; {
				ts, next, err := r.Snapshot().Read(ctx, ff.f, cursor, 10000)
				if err != nil {
					return fmt.Errorf("read %s: %w", describeFilter(ff.f), err)
				}
				matched = append(matched, ts...)
				if cursor = next; next == "" {
					break
				}
			}
			return e.printDryRun("delete", len(matched), r.Revision(), matched)
		}
		rev, n, err := e.service().DeleteMatching(ctx, ff.f)
		if err != nil {
			return fmt.Errorf("delete %s: %w", describeFilter(ff.f), err)
		}
		if n == 0 {
			return e.printUnchanged("deleted", rev, "no tuple matches "+filterWhat(o.partial, ff.f))
		}
		return e.printWrite("deleted", n, rev)
	}
	// A tuple the schema rejects can never be stored: deleting it would
	// quietly do nothing, so it is taken for a typo.
	var (
		ts       []tuples.Tuple
		problems []string
	)
	for i, a := range args {
		t, err := parseTupleArg(i, a)
		if err == nil {
			err = tuples.Validate(t, r.Schema())
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		ts = append(ts, t)
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing deleted: %s", strings.Join(problems, "\n"))
	}
	// A delete names tuples by key: whatever they carry goes with them.
	for i := range ts {
		ts[i].Payload = tuples.Payload{}
	}
	ts, _ = unique(ts)
	stored, err := storedAmong(ctx, r.Snapshot(), ts, false)
	if err != nil {
		return err
	}
	missing := len(ts) - len(stored)
	if o.dryRun {
		return e.printDryRun("delete", len(stored), r.Revision(), stored, writeNote{"not_stored", missing, "not stored"})
	}
	for _, t := range ts {
		if !slices.ContainsFunc(stored, func(s tuples.Tuple) bool { return s.Key() == t.Key() }) {
			fmt.Fprintf(e.stderr, "warning: %s is not stored; nothing to delete\n", t)
		}
	}
	if len(stored) == 0 {
		return e.printUnchanged("deleted", r.Revision(), fmt.Sprintf("none of the %d is stored", missing),
			writeNote{"not_stored", missing, "not stored"})
	}
	b := tuples.Batch{Ops: make([]tuples.Op, len(stored))}
	for i, t := range stored {
		b.Ops[i] = tuples.Op{Kind: tuples.OpDelete, Tuple: t}
	}
	rev, err := e.service().Write(ctx, b)
	if err != nil {
		return err
	}
	return e.printWrite("deleted", len(stored), rev, writeNote{"not_stored", missing, "not stored"})
}
