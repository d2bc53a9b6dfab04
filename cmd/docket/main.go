// Command docket is the command-line interface to the Docket authorization
// engine: schema authoring, tuple management, checks, expansion, lookups and
// validation files. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/docketdb/docket/cmd/docket/internal/cli"
)

func main() {
	if os.Getenv("DOCKET_DEBUG") == "" {
		// A panic in a goroutine the CLI cannot recover (one of the
		// storage engine's own) prints its message, not a dump of every
		// goroutine.
		debug.SetTraceback("none")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
