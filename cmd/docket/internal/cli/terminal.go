package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// fileIsTerminal reports whether w is a terminal, which decides whether
// progress bars are drawn.
func fileIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
