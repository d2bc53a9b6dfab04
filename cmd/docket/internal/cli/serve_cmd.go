package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/docketdb/docket/internal/logsink"
	"github.com/docketdb/docket/server"
	storepkg "github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/postgres"
	"github.com/spf13/cobra"
)

// serveCacheMB is the Badger block cache of a served store.
const serveCacheMB = 1024

// serveFlags are the options of `docket serve`.
type serveFlags struct {
	addr, keysFile, tlsCert, tlsKey, metricsAddr string
	noAuth                                       bool
	grace                                        time.Duration
	// The SQL datastore's: migrate on start, and garbage collection.
	migrate           bool
	gcWindow, gcEvery time.Duration
	// Deleting expired tuples: how often, and how long after expiring.
	expiredEvery, expiredKeep time.Duration
	// memIndexLimit bounds the membership index held in memory (0: off);
	// memIndexSet says the flag was given.
	memIndexLimit int
	memIndexSet   bool
}

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Answer checks, lookups and writes over the network",
		Long: `Serve the store over the network until SIGTERM or SIGINT: the native API
(gRPC, gRPC-Web and Connect's JSON over HTTP POST, see proto/), the AuthZEN
Authorization API 1.0 under /access/v1/, GET /healthz, GET /readyz and
Prometheus metrics, all on --addr (cleartext HTTP/2 and HTTP/1.1, or TLS with
--tls-cert and --tls-key).

Every request but /healthz, /readyz and /.well-known/authzen-configuration
needs 'Authorization: Bearer KEY' with a key of --keys-file: one key per line,
'KEY' (read and write) or 'KEY read'. --no-auth serves without keys, and only
on a loopback --addr.

The server prints the address it listens on once ready. On SIGTERM or SIGINT it
stops accepting, lets requests in flight finish (up to --grace), closes the
store and exits 0.

With --datastore the store is a SQL datastore that several servers may share:
each answers at the revisions the others wrote, learns of their writes from
the datastore's change log, and collects the datastore's garbage in the
background (--gc-window, --gc-interval).

Tuples that expired more than --expired-gc-keep ago are deleted every
--expired-gc-interval, in one revision a pass, as 'docket tuple gc' deletes
them: reads at the current clock answer as before.

On a --db or --memory store the server holds the membership index of nesting
relations in memory, built in the background as it starts and kept in step
from the store's change log, and answers a subject's groups from it instead
of reading the store's index; --mem-index-limit bounds the tuples it may hold (0 turns
it off). /metrics shows its state (docket_store_mem_index_*).`,
		Example: `  docket serve --db ./docket.db --keys-file keys.txt
  docket serve --memory --no-auth --addr 127.0.0.1:7070
  docket serve --datastore postgres://docket:secret@db:5432/docket --migrate --keys-file keys.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.memIndexSet = cmd.Flags().Changed("mem-index-limit")
			return e.serve(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:7070", "address to listen on, for gRPC, Connect and HTTP/JSON alike")
	fl.StringVar(&f.keysFile, "keys-file", "", "file of bearer keys, one per line: `KEY` (read and write) or `KEY read`")
	fl.BoolVar(&f.noAuth, "no-auth", false, "serve without keys; refused unless --addr is a loopback address")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM); with --tls-cert")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address instead of on --addr")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "how long requests in flight may take to finish on shutdown")
	fl.BoolVar(&f.migrate, "migrate", false, "with --datastore, create or upgrade the datastore's tables before serving")
	fl.DurationVar(&f.gcWindow, "gc-window", time.Hour, "with --datastore, how long a revision stays readable after the next one commits")
	fl.DurationVar(&f.gcEvery, "gc-interval", time.Minute, "with --datastore, how often garbage is collected (0: never)")
	fl.DurationVar(&f.expiredEvery, "expired-gc-interval", 10*time.Minute, "how often expired tuples are deleted (0: never)")
	fl.DurationVar(&f.expiredKeep, "expired-gc-keep", 24*time.Hour, "how long after expiring a tuple is deleted (queries with an earlier --now/now still see it until then)")
	fl.IntVar(&f.memIndexLimit, "mem-index-limit", storepkg.DefaultMemIndexLimit, "with --db or --memory, the most tuples the membership index in memory holds, of nesting relations, the relations hops take into them and deny lists (0: off)")
	return cmd
}

// isLoopback reports whether addr's host is a loopback address or
// localhost; an empty host means every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (e *env) serve(ctx context.Context, f serveFlags) error {
	var keys *server.Keys
	switch {
	case e.server != "":
		return withHint("unset --server (and $DOCKET_SERVER) to serve a store", "serve does not run in client mode")
	case f.noAuth && f.keysFile != "":
		return withHint("choose one", "--no-auth and --keys-file contradict each other")
	case f.noAuth && !isLoopback(f.addr):
		return withHint("serve on 127.0.0.1 or localhost, or give --keys-file",
			"--no-auth is refused on %s: without keys, only this machine may connect", f.addr)
	case !f.noAuth && f.keysFile == "":
		return withHint("add --keys-file FILE (one key per line), or --no-auth on a loopback --addr",
			"serve needs bearer keys")
	case f.keysFile != "":
		k, err := server.LoadKeys(f.keysFile)
		if err != nil {
			return withHint("fix the keys file, or see 'docket serve --help'", "%v", err)
		}
		keys = k
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return withHint("give both, or neither", "--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey); err != nil {
			return withHint("check that the key is the certificate's own, both PEM",
				"TLS files %s and %s: %v", f.tlsCert, f.tlsKey, err)
		}
	}
	// A server lives long and answers from a hot working set: Badger's
	// own default block cache, not the small one of one-off commands.
	e.cacheMB = serveCacheMB
	// One log line a request: written from a goroutine of the sink's,
	// several lines a write under load, rather than one system call in
	// every request's path before its answer is flushed.
	sink := logsink.New(e.stderr)
	defer sink.Close()
	log := slog.New(slog.NewJSONHandler(sink, nil))
	if f.expiredEvery < 0 || f.expiredKeep < 0 {
		return withHint("give a duration of 0 or more, like 10m or 24h", "--expired-gc-interval and --expired-gc-keep must not be negative")
	}
	if f.memIndexLimit < 0 {
		return withHint("give a number of tuples, or 0 to turn it off", "--mem-index-limit must not be negative (got %d)", f.memIndexLimit)
	}
	if f.memIndexSet && f.memIndexLimit > 0 && e.datastore != "" {
		return withHint("drop --mem-index-limit: the servers on a SQL datastore read the membership index from the datastore",
			"--mem-index-limit applies to --db and --memory only")
	}
	if e.datastore == "" {
		e.memIndex = &storepkg.Options{MemIndex: storepkg.MemIndexBackground, MemIndexLimit: f.memIndexLimit}
		if f.memIndexLimit == 0 {
			e.memIndex = &storepkg.Options{MemIndex: storepkg.MemIndexOff}
		}
	}
	if f.migrate && e.datastore == "" {
		return withHint("add --datastore URL, or drop --migrate", "--migrate applies to a SQL datastore only")
	}
	var dsID string
	if e.datastore != "" && e.shared == nil {
		if e.memory {
			return withHint("drop one of them", "--datastore and --memory contradict each other")
		}
		b, err := e.openDatastoreBackend(ctx, postgres.Options{Migrate: f.migrate, GCWindow: f.gcWindow, GCInterval: f.gcEvery, Logger: log})
		if err != nil {
			return err
		}
		if dsID, err = b.StoreID(ctx); err != nil {
			b.Close()
			return datastoreError(err)
		}
		e.opened = storepkg.New(b, storepkg.Options{})
	}
	store, err := e.createStore()
	if err != nil {
		return err
	}
	id, backend := server.NewStoreID(), "memory"
	switch {
	case dsID != "":
		id, backend = dsID, "postgres"
	case !e.memory && e.shared == nil:
		backend = "badger"
		if id, err = server.DirStoreID(e.dbPath); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return withHint("stop what listens there, or choose another --addr", "listen on %s: %v", f.addr, errors.Unwrap(err))
	}
	defer ln.Close()
	var mln net.Listener
	if f.metricsAddr != "" {
		if mln, err = net.Listen("tcp", f.metricsAddr); err != nil {
			return withHint("stop what listens there, or choose another --metrics-addr", "listen on %s: %v", f.metricsAddr, errors.Unwrap(err))
		}
		defer mln.Close()
	}
	srv, err := server.New(server.Options{
		Store: store, StoreID: id, Backend: backend, Keys: keys, Logger: log,
		Version: buildVersion().Version, MetricsOnMain: mln == nil,
		Shared: dsID != "", ExpiredEvery: f.expiredEvery, ExpiredKeep: f.expiredKeep,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if mln != nil {
		ms := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" {
				http.NotFound(w, r)
				return
			}
			srv.MetricsHandler().ServeHTTP(w, r)
		}), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ms.Serve(mln) }()
		defer ms.Close()
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "docket serve: listening on %s://%s (%s store)\n", scheme, ln.Addr(), backend)
	if mln != nil {
		fmt.Fprintf(e.stdout, "docket serve: metrics on http://%s/metrics\n", mln.Addr())
	}
	if fl, ok := e.stdout.(interface{ Flush() error }); ok {
		_ = fl.Flush()
	}
	if err := srv.Serve(ctx, ln, f.tlsCert, f.tlsKey, f.grace); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(e.stdout, "docket serve: stopped")
	return nil
}
