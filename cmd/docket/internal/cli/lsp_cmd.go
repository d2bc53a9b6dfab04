package cli

import (
	"github.com/docketdb/docket/lsp"
	"github.com/spf13/cobra"
)

func newLspCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "lsp",
		Short: "Run the language server for schema files on stdin and stdout",
		Long: `Run a Language Server Protocol server on standard input and output, for an
editor to start: diagnostics as you type (the errors and warnings of
'docket schema check', at the same positions), hover, go to definition, find
references, completion, formatting and rename, for .rebac files and the
inline schema (schema: |) of validation files.

It is not meant to be run by hand; docs/tools.md shows how to set it up in
VS Code, Neovim, Helix and Emacs.`,
		Example: `  docket lsp`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return lsp.Serve(cmd.Context(), e.stdin, e.stdout, buildVersion().Version)
		},
	}
}
