// Package server is `docket serve`: the native API (gRPC, gRPC-Web and
// Connect's JSON on one port, from the contract in proto/), the AuthZEN
// Authorization API 1.0, health, readiness and Prometheus metrics, over one
// store.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/docketdb/docket/check"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server.
type Options struct {
	Store store.Store
	// StoreID names the store in consistency tokens; it must differ
	// between stores (see StoreID in identity.go).
	StoreID string
	// Backend names the store's kind in Stats ("badger", "memory").
	Backend string
	// Keys are the accepted bearer keys; nil serves without
	// authentication (the command allows that on loopback only).
	Keys *Keys
	// Checker answers checks and lookups; nil: one with the default cache.
	Checker *check.Checker
	// Logger receives one line per request; nil discards them.
	Logger  *slog.Logger
	Limits  Limits
	Version string
	// MetricsOnMain serves /metrics on the main handler too.
	MetricsOnMain bool
	// Shared says that other processes write to the store too (a SQL
	// datastore shared by replicas): minimize_latency then reads at a
	// revision refreshed every LatestRefresh rather than asking the store
	// for its latest on every request, and Watch polls the store's change
	// log every WatchPoll for the others' writes.
	Shared bool
	// LatestRefresh (default 100ms) and WatchPoll (default 100ms) tune a
	// shared store; see Shared.
	LatestRefresh, WatchPoll time.Duration
	// ExpiredEvery, when positive, is how often Serve deletes the tuples
	// that expired more than ExpiredKeep ago (a revision a pass that
	// finds any); zero never does. See collectExpired.
	ExpiredEvery, ExpiredKeep time.Duration

	// memIndexPoll is how often the state of the store's membership
	// index in memory is looked at for the log (default 10s; tests).
	memIndexPoll time.Duration

	// noFastUnary sends every call through connect-go's handler, for the
	// tests that compare its answers with the fast path's.
	noFastUnary bool
}

// compressMinBytes is the smallest answer sent compressed to a client
// that accepts it.
const compressMinBytes = 4 << 10

// Server answers requests over one store. Create it with New; it is safe
// for concurrent use.
type Server struct {
	store store.Store
	// shared: other processes write to the store (Options.Shared).
	shared        bool
	refresh, poll time.Duration
	// expiredEvery and expiredKeep drive the deletion of expired tuples
	// (Options.ExpiredEvery).
	expiredEvery, expiredKeep time.Duration
	// memIndexPoll: see Options.memIndexPoll.
	memIndexPoll time.Duration
	// recent is a latest revision learned at recentAt, for
	// minimize_latency on a shared store.
	recentMu sync.Mutex
	recent   tuples.Revision
	recentAt time.Time

	tokens  tokens
	backend string
	keys    *Keys
	checker *check.Checker
	// q answers queries and applies writes: the layer the command line
	// uses too, over the same checker.
	q       *query.Service
	log     *slog.Logger
	limits  Limits
	version string
	metrics *metrics

	handler http.Handler
	// fast are the calls answered without connect-go's handler in the
	// common case (fastunary.go); errors writes their errors as
	// connect-go does.
	fast   map[string]fastUnary
	pools  *fastPools
	errors *connect.ErrorWriter
	// fastAnswers counts the calls the fast path answered (for tests).
	fastAnswers atomic.Int64
	ready       atomic.Bool
	// stopping is closed when shutdown begins, ending long streams
	// (Watch) so that in-flight requests can finish.
	stopping chan struct{}
	stopOnce sync.Once
	// written is closed and replaced after every write, waking watchers.
	wmu     sync.Mutex
	written chan struct{}
}

// New builds a Server; it is ready to answer once built.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("server: no store")
	}
	if o.StoreID == "" {
		return nil, errors.New("server: no store id")
	}
	s := &Server{
		store:    o.Store,
		tokens:   newTokens(o.StoreID),
		backend:  o.Backend,
		keys:     o.Keys,
		checker:  o.Checker,
		log:      o.Logger,
		limits:   o.Limits.withDefaults(),
		version:  o.Version,
		stopping: make(chan struct{}),
		written:  make(chan struct{}),
		shared:   o.Shared,
		refresh:  o.LatestRefresh,
		poll:     o.WatchPoll,

		expiredEvery: o.ExpiredEvery,
		expiredKeep:  max(o.ExpiredKeep, 0),
		memIndexPoll: o.memIndexPoll,
	}
	if s.refresh <= 0 {
		s.refresh = 100 * time.Millisecond
	}
	if s.poll <= 0 {
		s.poll = 100 * time.Millisecond
	}
	if s.memIndexPoll <= 0 {
		s.memIndexPoll = defaultMemIndexPoll
	}
	if s.checker == nil {
		s.checker = check.New(check.Options{MaxDepth: s.limits.MaxDepth})
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.q = query.New(s.store, query.Options{MaxDepth: s.limits.MaxDepth, Checker: s.checker})
	s.metrics = newMetrics(s.store, s.checker, endpointPaths())

	opts := connect.WithHandlerOptions(
		connect.WithInterceptors(outcomeInterceptor{}, authInterceptor{s}),
		connect.WithReadMaxBytes(int(s.limits.MaxRequestBytes)),
		connect.WithRecover(s.recovered),
		connect.WithCodec(jsonCodec{name: jsonName}),
		connect.WithCodec(jsonCodec{name: jsonCharsetName}),
		// Compressing a 40-byte check answer costs more than sending it;
		// only large answers (exports, big batches) are worth it.
		connect.WithCompressMinBytes(compressMinBytes),
	)
	s.errors = connect.NewErrorWriter(opts)
	if !o.noFastUnary {
		s.fast, s.pools = s.fastUnaryRoutes(), newFastPools()
	}
	mux := http.NewServeMux()
	mux.Handle(docketv1connect.NewDocketServiceHandler(native{s}, opts))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(docketv1connect.DocketServiceName), opts))
	reflector := grpcreflect.NewStaticReflector(docketv1connect.DocketServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, opts))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, opts))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: shutting down")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if o.MetricsOnMain {
		mux.Handle("GET /metrics", s.MetricsHandler())
	}
	s.authzenRoutes(mux)
	s.handler = s.middleware(mux)
	s.ready.Store(true)
	return s, nil
}

// Handler serves every endpoint of the main port.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// recovered turns a panic in a handler into an Internal error; the panic
// is logged, the process keeps serving.
func (s *Server) recovered(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.log.Error("panic in handler", "method", spec.Procedure, "panic", fmt.Sprint(p))
	return connect.NewError(connect.CodeInternal, errors.New("internal error; the server log has the details"))
}

// wrote wakes every watcher after a write.
func (s *Server) wrote() {
	s.wmu.Lock()
	close(s.written)
	s.written = make(chan struct{})
	s.wmu.Unlock()
}

func (s *Server) writeSignal() <-chan struct{} {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.written
}

// changeSignal is the store's wake-up for other processes' writes, or
// nil (see store.ChangeNotifier).
func (s *Server) changeSignal() <-chan struct{} {
	if n, ok := s.store.(store.ChangeNotifier); ok {
		return n.ChangeSignal()
	}
	return nil
}

// BeginShutdown marks the server not ready and ends its watch streams;
// requests in flight go on.
func (s *Server) BeginShutdown() {
	s.ready.Store(false)
	s.stopOnce.Do(func() { close(s.stopping) })
}

// reqInfo is what the middleware learns of a request for its log line and
// metrics; the outcome interceptor fills in the native call's code.
type reqInfo struct {
	method  string
	outcome string
}

type reqInfoKey struct{}

// statusWriter records the status a handler wrote. It forwards Flush, and
// Unwrap lets http.ResponseController reach the connection, both of which
// streaming needs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware gives every request an X-Request-ID (the caller's, echoed,
// or a new one), and logs and counts it when it ends. Bearer keys are
// never logged.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		info := &reqInfo{method: r.URL.Path}
		status := http.StatusOK
		if !s.serveFastUnary(w, r, info) {
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info)))
			if sw.status != 0 {
				status = sw.status
			}
		}
		if info.outcome == "" {
			info.outcome = strconv.Itoa(status)
		}
		elapsed := time.Since(start)
		s.metrics.endpoint(info.method).observe(info.outcome, elapsed)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", info.method),
			slog.String("outcome", info.outcome),
			slog.Duration("duration", elapsed),
			slog.String("request_id", id),
			slog.String("peer", r.RemoteAddr),
			slog.String("protocol", r.Proto))
	})
}

// endpointPaths are the paths the metrics name; any other path counts as
// "other", so that scanning for random paths cannot grow the series.
func endpointPaths() []string {
	var paths []string
	for _, p := range []string{
		"/healthz", "/readyz", "/metrics", authzenMetadata,
		authzenEvaluation, authzenEvaluations, authzenSearchSubject, authzenSearchResource, authzenSearchAction,
		"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
	} {
		paths = append(paths, p)
	}
	sd := pb.File_docket_v1_docket_proto.Services().ByName("DocketService")
	for i := range sd.Methods().Len() {
		paths = append(paths, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(i).Name()))
	}
	return paths
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// outcomeInterceptor records a native call's code for the request log.
type outcomeInterceptor struct{}

func record(ctx context.Context, err error) {
	if info, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		info.outcome = outcomeOf(err)
	}
}

// outcomeOf is the outcome logged and counted for a call's error: the
// code the caller sees. A context's own error (connect-go returns it
// unwrapped when a call's deadline passed before it began) is sent as
// canceled or deadline_exceeded.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		if _, ok := errors.AsType[*connect.Error](err); !ok {
			return connect.CodeCanceled.String()
		}
	case errors.Is(err, context.DeadlineExceeded):
		if _, ok := errors.AsType[*connect.Error](err); !ok {
			return connect.CodeDeadlineExceeded.String()
		}
	}
	return connect.CodeOf(err).String()
}

func (outcomeInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		record(ctx, err)
		return res, err
	}
}

func (outcomeInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (outcomeInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		record(ctx, err)
		return err
	}
}

// Serve answers on ln until ctx is done, then shuts down: it stops
// accepting, ends watch streams, and waits up to grace for requests in
// flight. With tlsCert and tlsKey set it serves TLS (HTTP/2 and
// HTTP/1.1), otherwise cleartext HTTP/1.1 and HTTP/2 (h2c), which gRPC
// clients use without TLS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCert, tlsKey string, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetHTTP2(true)
	hs.Protocols.SetUnencryptedHTTP2(tlsCert == "")
	// Expired tuples are deleted, and the membership index in memory
	// built and watched, in the background while the server serves, and
	// no longer once it stops, before the store closes.
	gctx, stopGC := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { s.collectExpired(gctx) })
	background.Go(func() { s.watchMemIndex(gctx) })
	defer func() {
		stopGC()
		background.Wait()
	}()
	done := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			done <- hs.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.BeginShutdown()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = hs.Close()
		return fmt.Errorf("requests still running after %s were cut off", grace)
	}
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
