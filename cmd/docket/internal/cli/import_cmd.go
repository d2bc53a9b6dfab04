package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// importProgress draws an import's two phases on a terminal: reading and
// checking the input (bytes, when the size is known, else a spinner), then
// writing the tuples. Each bar shows its rate and the time left.
type importProgress struct {
	w     io.Writer
	read  *progressbar.ProgressBar
	write *progressbar.ProgressBar
}

func (p *importProgress) reading(r io.Reader, size int64) io.Reader {
	p.read = progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	rd := progressbar.NewReader(r, p.read)
	return &rd
}

func (p *importProgress) writing(done, total int) {
	if p.read != nil {
		_ = p.read.Finish()
		p.read = nil
	}
	if p.write == nil {
		p.write = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("writing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("tuples"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = p.write.Set(done)
}

func (p *importProgress) finish() {
	for _, b := range []*progressbar.ProgressBar{p.read, p.write} {
		if b != nil {
			_ = b.Finish()
		}
	}
}

func newTupleImportCmd(e *env) *cobra.Command {
	var quiet, dryRun bool
	format := newChoice("", "text", "jsonl")
	cmd := &cobra.Command{
		Use:   "import FILE | -",
		Short: "Load a large tuple file in one revision",
		Long: `Load every tuple of FILE (- for standard input) in one revision. Every line
is parsed and checked against the schema; if any is bad, every bad line (the
first 20, then a count) is reported as FILE:LINE[:COL] and nothing is
written. The input is read in chunks, so its size is not bounded by memory,
and nothing of it is visible until all of it is written. The format is text
(one tuple a line; // and # comment lines) unless the name ends in .jsonl,
.ndjson or .json, or --format says otherwise.

On a terminal a progress bar on standard error shows the rate and time left;
it is not drawn when standard error is not a terminal, or with --quiet.`,
		Example: `  docket tuple import casebook.tuples
  docket tuple import --quiet export.jsonl
  zcat big.tuples.gz | docket tuple import --format text -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			var p *importProgress
			// The bar is drawn on stderr, so stderr decides: with stdout
			// piped to a file it still shows; with stderr to a log file
			// it would fill it with control codes.
			if !quiet && e.isTerminal(e.stderr) {
				p = &importProgress{w: e.stderr}
			}
			res, err := e.importFile(cmd.Context(), path, formatFor(path, &format, cmd.Flags().Changed("format")), p, dryRun)
			if err != nil {
				return err
			}
			if dryRun {
				return e.printDryRun("import", res.Tuples, res.Revision, nil, duplicateNote(res))
			}
			if res.Unchanged {
				return e.printUnchanged("imported", res.Revision, fmt.Sprintf("all %d already stored", res.Tuples), duplicateNote(res))
			}
			return e.printWrite("imported", res.Tuples, res.Revision, duplicateNote(res))
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not draw a progress bar")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "read and check every line and say how many tuples would be imported; write nothing")
	cmd.Flags().Var(&format, "format", "file format: text or jsonl (default: by extension)")
	_ = cmd.RegisterFlagCompletionFunc("format", format.complete)
	return cmd
}
