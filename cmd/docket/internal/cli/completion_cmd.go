package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a script that teaches the shell to complete docket commands, flags and
flag values. Load it into the current shell, or install it where the shell
looks for completions.`,
		Example: `  # bash, current shell:
  source <(docket completion bash)
  # zsh, installed:
  docket completion zsh > "${fpath[1]}/_docket"
  # fish, installed:
  docket completion fish > ~/.config/fish/completions/docket.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(e.stdout, true)
			case "zsh":
				return root.GenZshCompletion(e.stdout)
			default:
				return root.GenFishCompletion(e.stdout, true)
			}
		},
	}
}
