package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer answers every POST with its body, counting the connections
// it accepted.
func echoServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %d %s", r.Method, r.ContentLength, b)
		}
	}
	srv := httptest.NewUnstartedServer(h)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func h1Client(t *testing.T) (*http.Client, *h1Transport) {
	t.Helper()
	if !keepAliveChecked {
		t.Skip("h1Transport is not used on this system")
	}
	u, _ := url.Parse("http://127.0.0.1:1")
	h1 := newH1Transport(transport(false, false, nil))
	if !inCallerGoroutine(u, false) {
		t.Log("a proxy is configured; testing the transport directly anyway")
	}
	t.Cleanup(h1.CloseIdleConnections)
	return &http.Client{Transport: h1}, h1
}

func post(t *testing.T, c *http.Client, ctx context.Context, url, body string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

func TestH1ReusesOneConnection(t *testing.T) {
	srv, conns := echoServer(t, nil)
	c, _ := h1Client(t)
	for i := range 20 {
		got, err := post(t, c, context.Background(), srv.URL+"/x", fmt.Sprint("body-", i))
		if want := fmt.Sprintf("POST %d body-%d", len(fmt.Sprint("body-", i)), i); err != nil || got != want {
			t.Fatalf("call %d = %q, %v; want %q", i, got, err, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 calls one after another opened %d connections; want 1", n)
	}
}

func TestH1EmptyBodyAndGet(t *testing.T) {
	srv, conns := echoServer(t, nil)
	c, _ := h1Client(t)
	for range 3 {
		got, err := post(t, c, context.Background(), srv.URL, "")
		if err != nil || got != "POST 0 " {
			t.Fatalf("empty POST = %q, %v", got, err)
		}
		res, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "GET 0 " {
			t.Fatalf("GET = %q", b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("opened %d connections; want 1", n)
	}
}

func TestH1ServerClosedIdleConnection(t *testing.T) {
	srv, conns := echoServer(t, nil)
	c, _ := h1Client(t)
	if _, err := post(t, c, context.Background(), srv.URL, "one"); err != nil {
		t.Fatal(err)
	}
	// The server drops its idle connections (a restart, its idle
	// timeout): the next call must not fail on the dead one.
	srv.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	got, err := post(t, c, context.Background(), srv.URL, "two")
	if err != nil || got != "POST 3 two" {
		t.Fatalf("call after the server closed the idle connection = %q, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("opened %d connections; want 2", n)
	}
}

func TestH1ConnectionCloseIsNotReused(t *testing.T) {
	srv, conns := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	c, _ := h1Client(t)
	for range 3 {
		if got, err := post(t, c, context.Background(), srv.URL, "x"); err != nil || got != "bye" {
			t.Fatalf("= %q, %v", got, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("opened %d connections for 3 answers that close theirs; want 3", n)
	}
}

func TestH1BodyClosedEarly(t *testing.T) {
	srv, conns := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Write([]byte(strings.Repeat("y", 100<<10)))
	})
	c, _ := h1Client(t)
	for range 2 {
		res, err := c.Post(srv.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		var b [10]byte
		if _, err := io.ReadFull(res.Body, b[:]); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if _, err := res.Body.Read(b[:]); err == nil {
			t.Fatal("read after close succeeded")
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("opened %d connections; an answer left unread must not be reused (want 2)", n)
	}
}

func TestH1ContextCancelled(t *testing.T) {
	release := make(chan struct{})
	srv, _ := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})
	defer close(release)
	c, _ := h1Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := post(t, c, ctx, srv.URL+"/slow", "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("call past its deadline = %v after %s; want DeadlineExceeded at once", err, time.Since(start))
	}
	if got, err := post(t, c, context.Background(), srv.URL+"/fast", "x"); err != nil || got != "ok" {
		t.Fatalf("call after a cancelled one = %q, %v", got, err)
	}
}

func TestH1StreamedBodyGoesToFallback(t *testing.T) {
	srv, _ := echoServer(t, nil)
	c, _ := h1Client(t)
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "streamed")
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL, io.NopCloser(pr))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "POST -1 streamed" {
		t.Fatalf("streamed POST = %q", b)
	}
}

func TestH1Concurrent(t *testing.T) {
	srv, conns := echoServer(t, nil)
	c, _ := h1Client(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				body := fmt.Sprintf("g%d-%d", g, i)
				got, err := post(t, c, context.Background(), srv.URL, body)
				if want := fmt.Sprintf("POST %d %s", len(body), body); err != nil || got != want {
					t.Errorf("= %q, %v; want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > 8 {
		t.Errorf("8 callers opened %d connections; want at most 8", n)
	}
}

func TestH1IdleTimeout(t *testing.T) {
	srv, conns := echoServer(t, nil)
	c, h1 := h1Client(t)
	h1.idleTimeout = 20 * time.Millisecond
	if _, err := post(t, c, context.Background(), srv.URL, "a"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h1.mu.Lock()
		n := len(h1.idle)
		h1.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle connection outlived the idle timeout")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := post(t, c, context.Background(), srv.URL, "b"); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("opened %d connections; want 2", n)
	}
}

// A stream's reader blocked on the next message is released when another
// goroutine closes the body, as a Watch's caller does to stop it.
func TestH1CloseUnblocksRead(t *testing.T) {
	release := make(chan struct{})
	srv, _ := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c, _ := h1Client(t)
	res, err := c.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	var b [5]byte
	if _, err := io.ReadFull(res.Body, b[:]); err != nil || string(b[:]) != "first" {
		t.Fatalf("first chunk = %q, %v", b, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := res.Body.Read(b[:])
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	res.Body.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read on a closed body succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the body did not end the blocked read")
	}
}
