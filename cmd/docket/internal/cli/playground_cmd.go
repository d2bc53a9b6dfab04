package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/docketdb/docket/cmd/docket/internal/playground"
	"github.com/spf13/cobra"
)

func newPlaygroundCmd(e *env) *cobra.Command {
	addr := "127.0.0.1:7071"
	cmd := &cobra.Command{
		Use:   "playground [--addr 127.0.0.1:7071] [FILE.yaml]",
		Short: "Serve a local page to edit, validate and explain a validation file",
		Long: `Serve a web page on this machine for writing a schema against its tuples and
assertions: the three parts of a validation file side by side, the schema's
errors and warnings as you type, validate, the explanation of any assertion
and the userset tree of any OBJECT#RELATION drawn as graphs, and loading and
downloading validation files.

The page opens on FILE.yaml (its schema_file and tuples_file are read beside
it) or on a seed example. Everything runs in this process on in-memory
stores; no database is opened or written, and FILE.yaml is never changed
(download the edited file instead). The page and its editor are built into
the binary: nothing is fetched from the network.

The URL is printed once the server listens; Ctrl-C stops it.`,
		Example: `  docket playground
  docket playground schemas/casebook/model_team_based.yaml
  docket playground --addr 127.0.0.1:8080`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return runPlayground(cmd.Context(), e, addr, file)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", addr, "address to listen on (HOST:PORT; the page answers only requests for localhost)")
	return cmd
}

func runPlayground(ctx context.Context, e *env, addr, file string) error {
	handler, err := playground.New(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return withHint("choose another port with --addr", "listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	host := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	fmt.Fprintf(e.stdout, "docket playground: http://%s/\n", host)
	if f, ok := e.stdout.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	select {
	case err := <-done:
		return fmt.Errorf("playground server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop playground server: %w", err)
	}
	return nil
}
