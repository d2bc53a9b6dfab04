package schema

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -update rewrites the .golden and .errors files from the current code. The
// files are the specification: review the diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/*/*.golden and *.errors from the current output")

func testdataFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.rebac"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no testdata/%s/*.rebac files", dir)
	}
	return files
}

// checkGolden compares got with the file want, or rewrites it under -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./schema -run %s -update` to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestValidGolden loads every valid schema, checks that it formats to its
// .golden file, that the golden text is a fixed point of the formatter, and
// that the canonical text compiles to the same schema.
func TestValidGolden(t *testing.T) {
	for _, path := range testdataFiles(t, "valid") {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".rebac"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Load(name, src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(s.Warnings) > 0 {
				t.Errorf("unexpected warnings:\n%s", ErrorList(s.Warnings))
			}
			got := Format(s.File())
			if got != s.Text() {
				t.Errorf("Text() differs from Format(File())")
			}
			checkGolden(t, strings.TrimSuffix(path, ".rebac")+".golden", got)

			again, err := Load(name, []byte(got))
			if err != nil {
				t.Fatalf("formatted text does not load: %v\n%s", err, got)
			}
			if twice := Format(again.File()); twice != got {
				t.Errorf("format is not idempotent\n--- once ---\n%s\n--- twice ---\n%s", got, twice)
			}
			if a, b := fileTree(s.File()), fileTree(again.File()); a != b {
				t.Errorf("formatting changed the tree\n--- before ---\n%s\n--- after ---\n%s", a, b)
			}
			if a, b := dumpSchema(s), dumpSchema(again); a != b {
				t.Errorf("Text() compiles to a different schema\n--- before ---\n%s\n--- after ---\n%s", a, b)
			}
		})
	}
}

// TestInvalidGolden loads every invalid schema and compares the complete
// list of diagnostics (errors, or warnings when there are no errors) with
// its .errors file.
func TestInvalidGolden(t *testing.T) {
	files := testdataFiles(t, "invalid")
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".rebac"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := diagnosticsText(t, name, src)
			if got == "" {
				t.Fatalf("%s loads without errors or warnings", name)
			}
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !strings.HasPrefix(line, name+":") {
					t.Errorf("diagnostic does not start with %q: %s", name+":", line)
				}
				if strings.Contains(line, "internal") {
					t.Errorf("internal error: %s", line)
				}
			}
			checkGolden(t, strings.TrimSuffix(path, ".rebac")+".errors", got)
		})
	}
}

// diagnosticsText is what an operator sees for src: every error, or every
// warning when it compiles; one diagnostic per line.
func diagnosticsText(t *testing.T, name string, src []byte) string {
	t.Helper()
	s, err := Load(name, src)
	var list ErrorList
	switch {
	case err != nil:
		if !errors.As(err, &list) {
			t.Fatalf("Load returned %T, want ErrorList: %v", err, err)
		}
		if s != nil {
			t.Errorf("Load returned a schema together with errors")
		}
	default:
		list = s.Warnings
	}
	var b strings.Builder
	for _, d := range list {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
