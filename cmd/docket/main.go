// Command docket is the command-line interface to the Docket authorization
// engine: schema authoring, tuple management, checks, expansion, lookups and
// validation files. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/docketdb/docket/cmd/docket/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
