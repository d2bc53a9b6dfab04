package cli

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"testing"

	"github.com/docketdb/docket/internal/pgtest"
)

// pg is the PostgreSQL cluster of the tests of the SQL datastore, started
// by the first of them.
var pg = pgtest.New()

// childArgsEnv, when set in the environment, makes the test binary run
// docket with those arguments (space-separated) on its own standard
// streams instead of running tests: tests start the real command as a
// process, talking to it through real pipes.
const childArgsEnv = "DOCKET_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		// As main does: Ctrl-C (SIGINT) cancels the command's context.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code := Run(ctx, strings.Fields(args), os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(pg.Run(m))
}
