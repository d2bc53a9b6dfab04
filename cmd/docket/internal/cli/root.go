// Package cli implements the docket command tree. Everything a command needs
// (streams, environment, the store it opens) lives in an env built per run,
// so a test gets a fresh tree and no state leaks between runs.
package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/docketdb/docket/client"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Run executes one docket command line and returns the process exit status:
// 0 success, 1 a negative answer (invalid schema, denied check, failed
// assertion), 2 an error.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: fileIsTerminal}
	if fileIsTerminal(stdout) {
		return e.run(ctx, args)
	}
	// Into a pipe or file, a line per write call would make large reads
	// and lookups syscall-bound; on a terminal, lines appear as they come.
	bw := bufio.NewWriterSize(stdout, 64<<10)
	e.stdout = bw
	code := e.run(ctx, args)
	if err := bw.Flush(); err != nil && code == exitOK {
		fmt.Fprintf(stderr, "error: write output: %v\n", err)
		code = exitFailure
	}
	return code
}

// env is the world one run of the command tree sees.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// isTerminal reports whether w is an interactive terminal; nil means
	// never (tests).
	isTerminal func(w io.Writer) bool

	// Global flags.
	dbPath   string
	memory   bool
	readOnly bool
	// datastore is the URL of a SQL datastore (--datastore), which
	// replaces --db.
	datastore string
	// migrate applies the datastore's missing migrations on open.
	migrate bool
	output  choice
	// readOnlyWhy says why a store was opened read-only without
	// --read-only, for the error of a write.
	readOnlyWhy string
	// Client mode: the server, its key and the consistency of reads;
	// remote is the store of the server, once opened.
	server, token, consistency string
	remote                     *client.Store

	// started is set once flags and arguments parsed and a command began
	// to run: errors before that are usage errors.
	started bool
	// opened is the store this run opened; shared, when set, a store
	// supplied from outside (tests) that outlives the run.
	opened store.Store
	shared store.Store
	// snaps are the snapshots this run opened, closed when it ends.
	snaps []tuples.Snapshot
	// svc is the query layer on the opened store.
	svc *query.Service
	// cacheMB, when set, sizes the Badger block cache of the store a run
	// opens (a long-running server wants more than a one-off command).
	cacheMB int
	// memIndex, when set, is how the Badger or in-memory store a run
	// opens holds the membership index in memory (store.Options.MemIndex
	// and MemIndexLimit); unset, as badger.Open and memory.New choose.
	memIndex *store.Options
}

func (e *env) run(ctx context.Context, args []string) (code int) {
	defer func() {
		// A bug must not greet the operator with a Go stack trace; the
		// trace is there for whoever sets DOCKET_DEBUG.
		if r := recover(); r != nil {
			fmt.Fprintln(e.stderr, internalErrorLine(r))
			if e.getenv("DOCKET_DEBUG") != "" {
				fmt.Fprintf(e.stderr, "%s", debug.Stack())
			}
			_ = e.closeStore()
			code = exitFailure
		}
	}()
	// A fault reading or writing a memory-mapped database file (a file
	// cut short under it, a full disk) panics this goroutine instead of
	// killing the process, so that it reaches the recover above.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if e.isTerminal == nil {
		e.isTerminal = fileIsTerminal
	}
	root := newRootCmd(e)
	if bad := unknownLeadingFlag(root, args); bad != "" {
		fmt.Fprintf(e.stderr, "error: unknown flag: %s; run 'docket --help' for usage\n", bad)
		return exitFailure
	}
	root.SetArgs(args)
	// Cobra prints usage after a flag or argument error (until the
	// pre-run hook silences it); hold it so it follows the error line.
	var usage bytes.Buffer
	root.SetOut(&usage)
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		// Shell completion answers on stdout.
		root.SetOut(e.stdout)
	}
	ran, err := root.ExecuteContextC(ctx)
	e.reportToken()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Ctrl-C: every write is all or nothing, so nothing was written.
		name := "docket"
		if ran != nil {
			name = ran.Name()
		}
		err = fmt.Errorf("%s cancelled; nothing was written", name)
	}
	if cerr := e.closeStore(); err == nil && cerr != nil {
		err = cerr
	}
	if errors.Is(err, store.ErrReadOnly) {
		why := "it was opened with --read-only; drop the flag to write"
		if e.readOnlyWhy != "" {
			why = "it was opened read-only because " + e.readOnlyWhy + "; check the directory's filesystem and permissions"
		}
		err = withHint(why, "database at %s is read-only: nothing was written", e.dbPath)
	}
	err = hintFor(err)
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	var no *negative
	if errors.As(err, &no) {
		for _, l := range errorLines(no.err) {
			fmt.Fprintln(e.stderr, l)
		}
		return exitNo
	}
	err = oneLineSuggestion(err)
	lines := errorLines(err)
	if !e.started && usage.Len() == 0 && len(lines) == 1 && !strings.Contains(lines[0], "did you mean") {
		lines[0] += "; run 'docket --help' for usage"
	}
	if e.json() {
		// A script that asked for JSON reads errors as JSON too.
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "error: ")
		}
		_ = writeJSON(e.stderr, map[string]any{"error": strings.Join(lines, "\n"), "errors": lines, "exit_status": exitFailure})
		return exitFailure
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "error: ") {
			fmt.Fprintln(e.stderr, l)
		} else {
			fmt.Fprintln(e.stderr, "error: "+l)
		}
	}
	if !e.started && usage.Len() > 0 {
		// A usage error: cobra has written how the command is used; show
		// it after the error so the error is the first thing read.
		fmt.Fprintln(e.stderr)
		fmt.Fprint(e.stderr, strings.TrimRight(usage.String(), "\n")+"\n")
	}
	return exitFailure
}

// oneLineSuggestion folds cobra's "unknown command" suggestions, which
// span three lines ("Did you mean this?", then the names), into the
// error's one line.
func oneLineSuggestion(err error) error {
	msg, names, ok := strings.Cut(err.Error(), "\n\nDid you mean this?\n")
	if !ok {
		return err
	}
	var quoted []string
	for _, n := range strings.Fields(names) {
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(quoted, " or "))
}

// reportTo is where internal errors are reported.
const reportTo = "https://github.com/docketdb/docket/issues"

// internalErrorLine is the one line printed for a panic: what happened,
// the version, and how to report it.
func internalErrorLine(r any) string {
	v := buildVersion()
	version := v.Version
	if v.Revision != "" {
		version += " " + v.Revision
	}
	msg := fmt.Sprint(r)
	if err, ok := r.(error); ok && strings.Contains(err.Error(), "fault") {
		msg += " (a database file could not be read or written: is the disk full, or was a file cut short?)"
	}
	return fmt.Sprintf("error: internal error: %s (docket %s); please report it at %s with the command line, and the output of the same command with DOCKET_DEBUG=1", msg, version, reportTo)
}

// unknownLeadingFlag returns a flag given before the command name that no
// global flag is. Cobra takes the command name for that flag's value and
// then reports the next argument as an unknown command ("docket --nosuch
// check X": unknown command "X"), which misleads.
func unknownLeadingFlag(root *cobra.Command, args []string) string {
	flags := root.PersistentFlags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return ""
		}
		var f *pflag.Flag
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "--") {
			if name == "help" {
				return ""
			}
			f = flags.Lookup(name)
		} else {
			if name == "h" {
				return ""
			}
			hasValue = hasValue || len(name) > 1 // -ojson
			f = flags.ShorthandLookup(name[:1])
		}
		if f == nil {
			return a
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // its value
		}
	}
	return ""
}

// negative ends a command with status 1, printing err's lines as they are
// (diagnostics already say where they are).
type negative struct{ err error }

func (n *negative) Error() string { return n.err.Error() }

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "docket",
		Short: "Docket is a Zanzibar-style authorization engine",
		Long: `Docket answers "may this subject do this to that object?" from a schema of
types and relations and a store of relationship tuples.

The store is an embedded Badger database (--db, default $DOCKET_DB or
./docket.db), or an in-memory store with --memory for one-off runs.

Exit status: 0 success, 1 a negative answer (invalid schema, denied check,
failed assertion), 2 an error.`,
		Example: `  docket schema write casebook.rebac
  docket tuple write case:1#assignee@user:alice
  docket check case:1#viewer@user:alice`,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// From here on, failures are about the data, not about how
			// the command was called: do not bury them under usage text.
			cmd.SilenceUsage = true
			cmd.Root().SilenceUsage = true
			e.started = true
			if e.memory && cmd.Flags().Changed("db") {
				return withHint("give one of them", "--memory and --db both given: --memory uses an empty in-memory store, not the database at %s", e.dbPath)
			}
			if e.memory && e.readOnly {
				return withHint("give one of them", "--memory and --read-only both given: an in-memory store starts empty")
			}
			if e.datastore != "" && e.readOnly {
				return withHint("drop --read-only; give the datastore's user read-only privileges instead", "--read-only applies to a Badger database (--db), not to --datastore")
			}
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	// Help goes to stdout (below); cobra's error output to stderr. Its
	// usage output is captured by run, to follow the error line.
	root.SetErr(e.stderr)
	root.SetIn(e.stdin)
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		text := c.Long
		if text == "" {
			text = c.Short
		}
		if text = strings.TrimRight(text, " \n"); text != "" {
			fmt.Fprintln(e.stdout, text)
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprint(e.stdout, c.UsageString())
	})
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withHint("see '"+c.CommandPath()+" --help'", "%v", err)
	})

	defaultDB := e.getenv("DOCKET_DB")
	if defaultDB == "" {
		defaultDB = "docket.db"
	}
	e.output = newChoice("text", "text", "json")
	pf := root.PersistentFlags()
	pf.StringVar(&e.dbPath, "db", defaultDB, "path of the Badger database directory; $DOCKET_DB sets the default")
	pf.BoolVar(&e.memory, "memory", false, "use an empty in-memory store instead of --db (lost on exit)")
	pf.BoolVar(&e.readOnly, "read-only", false, "open --db without writing to it (read-only media, snapshots); automatic where its directory is not writable")
	pf.StringVar(&e.datastore, "datastore", e.getenv("DOCKET_DATASTORE"), "use the SQL datastore at this postgres://USER:PASS@HOST:PORT/DB URL instead of --db; $DOCKET_DATASTORE sets the default")
	pf.VarP(&e.output, "output", "o", "output format: text or json")
	pf.StringVar(&e.server, "server", e.getenv("DOCKET_SERVER"), "talk to the docket server at this URL instead of opening a store; $DOCKET_SERVER sets the default")
	pf.StringVar(&e.token, "token", e.getenv("DOCKET_TOKEN"), "the bearer key for --server; $DOCKET_TOKEN sets the default")
	pf.StringVar(&e.consistency, "consistency", "", "with --server, the revision reads use: full (the default), latency, at-least:TOKEN or exact:TOKEN")
	_ = root.RegisterFlagCompletionFunc("output", e.output.complete)

	root.AddCommand(
		newSchemaCmd(e),
		newVersionCmd(e),
		newCompletionCmd(e),
		newLspCmd(e),
		newPlaygroundCmd(e),
		newServeCmd(e),
		newDBCmd(e),
		newDatastoreCmd(e),
	)
	addStoreCommands(root, e)
	return root
}

// choice is a flag value restricted to a fixed set of words, rejected at
// parse time when it is anything else.
type choice struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) choice {
	return choice{value: def, allowed: allowed}
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(s string) error {
	for _, a := range c.allowed {
		if s == a {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
}

func (c *choice) Type() string { return strings.Join(c.allowed, "|") }

func (c *choice) complete(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return c.allowed, cobra.ShellCompDirectiveNoFileComp
}

func (e *env) json() bool { return e.output.value == "json" }
