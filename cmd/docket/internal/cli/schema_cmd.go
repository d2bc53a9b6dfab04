package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docketdb/docket/schema"
	"github.com/spf13/cobra"
)

func newSchemaCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Check, format, store and show schemas",
		Long: `Work with schema files (.rebac): check them for errors, print them in canonical
form, store one as the schema of the database, and show the stored schema.`,
		Example: `  docket schema check casebook.rebac
  docket schema fmt -w casebook.rebac
  docket schema write casebook.rebac
  docket schema show`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSchemaCheckCmd(e), newSchemaFmtCmd(e))
	addSchemaStoreCommands(cmd, e)
	return cmd
}

func newSchemaCheckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Report every error and warning in schema files",
		Long: `Parse and compile each schema file and report every problem found, one line
each on stderr, as FILE:LINE:COL: message; hint. Warnings (such as a relation
no tuple can ever make true) are printed too but do not make a file invalid.
Each valid file gets a line "FILE: ok" on stdout.

With --output json the diagnostics are printed on stdout as
{"files": [{"file", "valid", "diagnostics": [{"file", "line", "column",
"severity", "message", "hint"}]}]} instead, for editors and CI annotations.

Exit status: 0 when every file is valid, 1 when any file has errors, 2 when
a file cannot be read.`,
		Example: `  docket schema check casebook.rebac
  docket schema check schemas/*/*.rebac`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runSchemaCheck(args)

		},
	}
}

// runSchemaCheck reports the diagnostics of each schema file.
func (e *env) runSchemaCheck(paths []string) error {
	invalid, failed := false, false
	var report []fileDiagnostics
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(e.stderr, "error: "+fileError(path, err).Error())
			failed = true
			continue
		}
		fd := fileDiagnostics{File: path, Valid: true, Diagnostics: []diagnosticJSON{}}
		s, err := schema.Load(path, src)
		var list schema.ErrorList
		switch {
		case errors.As(err, &list):
			fd.Valid, invalid = false, true
			fd.add(list)
		case err != nil:
			return err
		default:
			fd.add(s.Warnings)
		}
		report = append(report, fd)
		if !e.json() {
			for _, d := range fd.Diagnostics {
				fmt.Fprintln(e.stderr, d.text)
			}
			if fd.Valid {
				// A line per valid file, so a run that found
				// nothing wrong says so rather than staying mute.
				ok := path + ": ok"
				if n := len(fd.Diagnostics); n > 0 {
					ok += fmt.Sprintf(" (%d warning%s)", n, plural(n))
				}
				fmt.Fprintln(e.stdout, ok)
			}
		}
	}
	if e.json() {
		if err := writeJSON(e.stdout, map[string]any{"files": nonNil(report)}); err != nil {
			return err
		}
	}
	switch {
	case failed:
		return exitStatus(exitFailure)
	case invalid:
		return exitStatus(exitNo)
	}
	return nil
}

// fileDiagnostics is one file's result in `schema check --output json`.
type fileDiagnostics struct {
	File        string           `json:"file"`
	Valid       bool             `json:"valid"`
	Diagnostics []diagnosticJSON `json:"diagnostics"`
}

type diagnosticJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	text     string
}

func (f *fileDiagnostics) add(ds []schema.Diagnostic) {
	for _, d := range ds {
		sev := "error"
		if d.Severity == schema.Warning {
			sev = "warning"
		}
		f.Diagnostics = append(f.Diagnostics, diagnosticJSON{
			File: d.Pos.Filename, Line: d.Pos.Line, Column: d.Pos.Column,
			Severity: sev, Message: d.Msg, Hint: d.Hint, text: d.String(),
		})
	}
}

// schemaFmtOptions are the flags of schema fmt.
type schemaFmtOptions struct{ write, list bool }

func newSchemaFmtCmd(e *env) *cobra.Command {
	var o schemaFmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-l] FILE...",
		Short: "Print schema files in canonical form, or rewrite them",
		Long: `Print each schema file in canonical form: two-space indentation, one relation
per line, single spaces around operators, only the parentheses precedence
needs, comments kept in place.

With -w, rewrite each file whose formatting differs (files already in
canonical form are left untouched). A file with errors is never rewritten:
its errors are reported and the exit status is 1. With -l, print the names
of files whose formatting differs instead of their contents.`,
		Example: `  docket schema fmt casebook.rebac
  docket schema fmt -w casebook.rebac
  docket schema fmt -l schemas/*/*.rebac`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runSchemaFmt(&o, args)

		},
	}
	cmd.Flags().BoolVarP(&o.write, "write", "w", false, "rewrite files in place when their formatting differs")
	cmd.Flags().BoolVarP(&o.list, "list", "l", false, "print the names of files whose formatting differs")
	return cmd
}

// runSchemaFmt prints each schema file in canonical form, or rewrites it.
func (e *env) runSchemaFmt(o *schemaFmtOptions, paths []string) error {
	invalid, failed := false, false
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(e.stderr, "error: "+fileError(path, err).Error())
			failed = true
			continue
		}
		// Printing needs only a parse; rewriting a file needs it
		// to be valid, so that fmt -w never blesses a broken file.
		var out string
		if o.write {
			s, err := schema.Load(path, src)
			if err != nil {
				for _, l := range errorLines(err) {
					fmt.Fprintln(e.stderr, l)
				}
				invalid = true
				continue
			}
			out = s.Text()
		} else {
			f, err := schema.Parse(path, src)
			if err != nil {
				for _, l := range errorLines(err) {
					fmt.Fprintln(e.stderr, l)
				}
				invalid = true
				continue
			}
			out = schema.Format(f)
		}
		changed := !bytes.Equal(src, []byte(out))
		if o.list && changed {
			fmt.Fprintln(e.stdout, path)
		}
		if o.write {
			if changed {
				if err := writeFileAtomic(path, []byte(out)); err != nil {
					fmt.Fprintln(e.stderr, "error: "+err.Error())
					failed = true
				}
			}
			continue
		}
		if !o.list {
			fmt.Fprint(e.stdout, out)
		}
	}
	switch {
	case failed:
		return exitStatus(exitFailure)
	case invalid:
		return exitStatus(exitNo)
	}
	return nil
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory, so an interrupted write never leaves half a file. The
// file's permissions are kept.
func writeFileAtomic(path string, data []byte) (err error) {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fileError(path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fileError(path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fileError(path, err)
	}
	if err := tmp.Close(); err != nil {
		return fileError(path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fileError(path, errors.Unwrap(err))
	}
	return nil
}
