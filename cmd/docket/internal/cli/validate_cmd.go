package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/docketdb/docket/cmd/docket/internal/validate"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/postgres"
	"github.com/spf13/cobra"
)

func newValidateCmd(e *env) *cobra.Command {
	kind := storeKind("memory")
	var cond conditionFlags
	cmd := &cobra.Command{
		Use:   "validate FILE.yaml...",
		Short: "Run validation files: a schema, tuples and the answers expected",
		Long: `Run each validation file on a fresh, empty store (the database at --db is
never touched): an in-memory one, or with --store badger a Badger database
in a temporary directory, removed afterwards, so the rules are proved on the
embedded store operators run. With --datastore URL each file runs on the SQL
datastore instead, in a schema (namespace) of its own in that database,
dropped afterwards. For each file: load its schema (schema: or schema_file:), write its tuples
(tuples: or tuples_file:; paths are relative to the file), then test its
assertions (allowed / denied checks) and its exhaustive expectations
(expected.subjects, expected.resources).

Each failure prints FILE:LINE of the assertion, what was expected, what the
checker answered and its explanation; a summary "N passed, M failed" ends
the run. A file that cannot be read, is malformed, or names unknown types or
relations is an error, reported with its position.

Files may pin the clock (now:) and give condition parameters (context:, and
a check's own ' with {JSON}'); --now replaces every file's clock, and
--context (or --context-file) is merged over every file's context:.

Exit status: 0 when everything passed, 1 when anything failed, 2 on error.`,
		Example: `  docket validate schemas/casebook/team_based.yaml
  docket validate schemas/*/*.yaml
  docket validate --store badger schemas/*/*.yaml
  docket validate --datastore postgres://docket:secret@db:5432/docket schemas/*/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ov, err := cond.overrides()
			if err != nil {
				return err
			}
			return e.runValidate(cmd.Context(), kind, args, ov)
		},
	}
	cmd.Flags().Var(&kind, "store", "store each file runs on: memory, or badger (a temporary Badger database)")
	addConditionFlags(cmd, &cond)
	return cmd
}

// runValidate runs each validation file on a fresh store of its own and
// reports the failures and a summary.
func (e *env) runValidate(ctx context.Context, kind storeKind, paths []string, ov validate.Overrides) error {
	passed, failed, broken := 0, 0, 0
	type fileResult struct {
		*validate.Report
		Errors []string `json:"errors,omitempty"`
	}
	var results []fileResult
	for _, path := range paths {
		open := kind.opener()
		if e.datastore != "" {
			open = func() (store.Store, error) {
				s, err := postgres.OpenScratch(ctx, e.datastore)
				return s, datastoreError(err)
			}
		}
		rep, err := validate.RunWith(ctx, path, open, ov)
		if err != nil {
			lines := errorLines(err)
			for _, l := range lines {
				fmt.Fprintln(e.stderr, "error: "+l)
			}
			results = append(results, fileResult{Report: &validate.Report{File: path, Failures: []validate.Failure{}}, Errors: lines})
			broken++
			continue
		}
		passed += rep.Passed
		failed += len(rep.Failures)
		results = append(results, fileResult{Report: rep})
		if rep.Failures == nil {
			rep.Failures = []validate.Failure{}
		}
		if e.json() {
			continue
		}
		for _, f := range rep.Failures {
			fmt.Fprintf(e.stdout, "%s: FAIL %s\n  expected %s, got %s\n", f.Pos, f.Assertion, f.Expected, f.Got)
			if f.Explanation != "" {
				for _, l := range strings.Split(f.Explanation, "\n") {
					fmt.Fprintln(e.stdout, "  "+l)
				}
			}
		}
	}
	if e.json() {
		if err := writeJSON(e.stdout, map[string]any{"passed": passed, "failed": failed, "files": results}); err != nil {
			return err
		}
	} else {
		summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
		if broken > 0 {
			summary += fmt.Sprintf(", %d file%s with errors", broken, plural(broken))
		}
		fmt.Fprintln(e.stdout, summary)
	}
	switch {
	case broken > 0:
		return exitStatus(exitFailure)
	case failed > 0:
		return exitStatus(exitNo)
	}
	return nil
}

// storeKind is the --store flag of validate; a bad value is rejected while
// flags are parsed, with usage.
type storeKind string

func (k *storeKind) String() string { return string(*k) }
func (k *storeKind) Type() string   { return "memory|badger" }

func (k *storeKind) Set(s string) error {
	if s != "memory" && s != "badger" {
		return fmt.Errorf("must be memory or badger")
	}
	*k = storeKind(s)
	return nil
}

func (k storeKind) opener() validate.OpenStore {
	if k == "badger" {
		return openTempBadger
	}
	return nil
}

// openTempBadger opens a Badger database in a new temporary directory that
// is removed when the store is closed.
func openTempBadger() (store.Store, error) {
	dir, err := os.MkdirTemp("", "docket-validate-")
	if err != nil {
		return nil, fmt.Errorf("make a temporary directory: %w", err)
	}
	s, err := badger.Open(dir, badger.Options{BlockCacheMB: 16})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return tempStore{Store: s, dir: dir}, nil
}

type tempStore struct {
	store.Store
	dir string
}

func (t tempStore) Close() error {
	return errors.Join(t.Store.Close(), os.RemoveAll(t.dir))
}
