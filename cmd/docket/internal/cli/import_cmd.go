package cli

import (
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newTupleImportCmd(e *env) *cobra.Command {
	var quiet bool
	format := newChoice("text", "text", "jsonl")
	cmd := &cobra.Command{
		Use:   "import FILE | -",
		Short: "Load a large tuple file in one revision",
		Long: `Load every tuple of FILE (- for standard input) in one revision. The whole
file is parsed and checked against the schema first: every bad line is
reported as FILE:LINE[:COL] and nothing is written. The format is text (one
tuple a line, // comments) unless the name ends in .jsonl or .ndjson, or
--format says otherwise.

On a terminal a progress bar shows the rate and time left; it is not drawn
when standard output is not a terminal, or with --quiet.`,
		Example: `  docket tuple import casebook.tuples
  docket tuple import --quiet export.jsonl
  zcat big.tuples.gz | docket tuple import --format text -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			var bar *progressbar.ProgressBar
			var progress func(done, total int)
			if !quiet && e.isTerminal(e.stdout) {
				progress = func(done, total int) {
					if bar == nil {
						bar = progressbar.NewOptions(total,
							progressbar.OptionSetWriter(e.stderr),
							progressbar.OptionSetDescription("importing"),
							progressbar.OptionShowCount(),
							progressbar.OptionShowIts(),
							progressbar.OptionSetItsString("tuples"),
							progressbar.OptionSetPredictTime(true),
							progressbar.OptionClearOnFinish(),
							progressbar.OptionThrottle(100_000_000),
						)
					}
					_ = bar.Set(done)
				}
			}
			res, err := e.importFile(cmd.Context(), path, formatFor(path, &format, cmd.Flags().Changed("format")), progress)
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			return e.printWrite("imported", res.Tuples, res.Revision)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not draw a progress bar")
	cmd.Flags().Var(&format, "format", "file format: text or jsonl (default: by extension)")
	_ = cmd.RegisterFlagCompletionFunc("format", format.complete)
	return cmd
}
