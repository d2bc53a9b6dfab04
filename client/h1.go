package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// h1Transport is an HTTP/1.1 client for cleartext servers that makes each
// call in the caller's goroutine: it writes the request line, headers and
// body in one write and reads the answer on the same goroutine. Go's
// http.Transport hands every request to a writer goroutine and every
// answer from a reader goroutine, and writes a body apart from its
// headers: over loopback those hand-offs and the extra write are a third
// of a small call's cost (docs/server.md, Performance). Requests it does
// not handle (a body of unknown length, as a client stream sends; an
// Expect or Upgrade header; another scheme) go to fallback, which is an
// http.Transport. Connections are kept alive and reused, newest first.
type h1Transport struct {
	fallback *http.Transport
	dialer   *net.Dialer
	// idleTimeout closes a connection idle that long; maxIdle bounds
	// the idle connections kept.
	idleTimeout time.Duration
	maxIdle     int

	mu   sync.Mutex
	idle []*h1Conn
}

func newH1Transport(fallback *http.Transport) *h1Transport {
	return &h1Transport{
		fallback:    fallback,
		dialer:      &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		idleTimeout: fallback.IdleConnTimeout,
		maxIdle:     fallback.MaxIdleConnsPerHost,
	}
}

// h1Conn is one connection to the server.
type h1Conn struct {
	t    *h1Transport
	nc   net.Conn
	addr string
	br   *bufio.Reader
	bw   *bufio.Writer
	// idleTimer closes the connection once idle for the transport's
	// idle timeout (unless taken from the pool first).
	idleTimer *time.Timer
}

// headersWriter hides the *bufio.Writer from http.Request.Write, which
// flushes a buffered writer of that type after the headers when a body
// follows, sending the request in two writes instead of one.
type headersWriter struct{ *bufio.Writer }

var errUpgrade = errors.New("the server switched protocols, which this client does not speak")

// handles reports whether the request is one this transport makes.
func handles(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Method == http.MethodConnect {
		return false
	}
	if req.Header.Get("Expect") != "" || req.Header.Get("Upgrade") != "" {
		return false
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	// A body of unknown length (ContentLength -1, or 0 with a body) is a
	// stream: chunked, and written while the answer is read.
	return !hasBody || req.ContentLength > 0
}

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !handles(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	addr := req.URL.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "80")
	}
	c, err := t.get(ctx, addr)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	res, err := c.roundTrip(ctx, req)
	if err != nil {
		c.close()
		closeBody(req)
		return nil, err
	}
	return res, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// get returns an idle connection to addr that is still open, or dials one.
func (t *h1Transport) get(ctx context.Context, addr string) (*h1Conn, error) {
	return t.take(ctx, addr, true)
}

// take is get, asking an idle connection whether the server closed it
// only when peek is set. A call that may be sent again when its
// connection turns out closed (one free of side effects) saves the
// system call.
func (t *h1Transport) take(ctx context.Context, addr string, peek bool) (*h1Conn, error) {
	for {
		t.mu.Lock()
		var c *h1Conn
		for i := len(t.idle) - 1; i >= 0; i-- {
			if t.idle[i].addr == addr {
				c = t.idle[i]
				t.idle = append(t.idle[:i], t.idle[i+1:]...)
				break
			}
		}
		t.mu.Unlock()
		if c == nil {
			break
		}
		c.idleTimer.Stop()
		// The server may have closed the connection while it was idle
		// (its idle timeout, a restart): then it is readable, at EOF.
		if !peek || alive(c.nc) {
			return c, nil
		}
		c.nc.Close()
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &h1Conn{t: t, nc: nc, addr: addr, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 8<<10)}
	c.idleTimer = time.AfterFunc(time.Hour, c.expire)
	c.idleTimer.Stop()
	return c, nil
}

// put keeps c for the next request, or closes it when enough are idle.
func (t *h1Transport) put(c *h1Conn) {
	t.mu.Lock()
	if len(t.idle) >= t.maxIdle {
		t.mu.Unlock()
		c.close()
		return
	}
	// Armed before another caller can take c, who stops it.
	c.idleTimer.Reset(t.idleTimeout)
	t.idle = append(t.idle, c)
	t.mu.Unlock()
}

// expire closes c if it is still idle: a timer that fires as c is taken
// from the pool finds it gone and leaves it.
func (c *h1Conn) expire() {
	t := c.t
	t.mu.Lock()
	for i, o := range t.idle {
		if o == c {
			t.idle = append(t.idle[:i], t.idle[i+1:]...)
			t.mu.Unlock()
			c.nc.Close()
			return
		}
	}
	t.mu.Unlock()
}

func (c *h1Conn) close() {
	c.idleTimer.Stop()
	c.nc.Close()
}

// CloseIdleConnections closes the idle connections of both transports;
// http.Client.CloseIdleConnections calls it.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	t.fallback.CloseIdleConnections()
}

// aLongTimeAgo is a deadline that has passed: setting it interrupts a
// blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip sends req on c and reads the answer's header; the answer's
// body keeps c until it is read to its end or closed.
func (c *h1Conn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	// A cancelled context interrupts the call where it waits: the
	// deadline fails the blocked read or write, and the connection,
	// left mid-exchange, is closed.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	if err := req.Write(headersWriter{c.bw}); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	if err := c.bw.Flush(); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	var res *http.Response
	for {
		var err error
		if res, err = http.ReadResponse(c.br, req); err != nil {
			return fail(fmt.Errorf("read response: %w", err))
		}
		if res.StatusCode >= 200 || res.StatusCode < 100 {
			break
		}
		res.Body.Close()
		if res.StatusCode == http.StatusSwitchingProtocols {
			return fail(errUpgrade)
		}
		// 1xx informational answers precede the real one.
	}
	res.Body = &h1Body{c: c, body: res.Body, stop: stop, ctx: ctx, keep: !res.Close && !req.Close, empty: res.ContentLength == 0}
	return res, nil
}

// Body states.
const (
	bodyOpen int32 = iota
	bodyEOF
	bodyClosed
)

var errBodyClosed = errors.New("read on a closed response body")

// h1Body is an answer's body; it returns its connection to the pool once
// read to the end, and closes the connection if closed before (which
// also ends a read blocked in another goroutine).
type h1Body struct {
	c     *h1Conn
	body  io.ReadCloser
	stop  func() bool
	ctx   context.Context
	keep  bool
	empty bool
	state atomic.Int32
}

func (b *h1Body) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEOF:
		return 0, io.EOF
	case bodyClosed:
		return 0, errBodyClosed
	}
	n, err := b.body.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if b.state.CompareAndSwap(bodyOpen, bodyEOF) {
			b.release(true)
		}
	default:
		if b.state.CompareAndSwap(bodyOpen, bodyClosed) {
			b.release(false)
		}
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.state.CompareAndSwap(bodyOpen, bodyClosed) {
		// An answer without a body is complete unread.
		b.release(b.empty)
	}
	return nil
}

// release gives the connection back to the pool if the exchange ended
// cleanly and both sides keep it alive, else closes it.
func (b *h1Body) release(clean bool) {
	// stop is false once the context's deadline has hit the connection.
	if b.stop() && clean && b.keep {
		b.c.t.put(b.c)
		return
	}
	b.c.close()
}
