package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"google.golang.org/protobuf/proto"
)

// directService makes Check and CheckBatch, the calls an application
// makes most, without connect-go's client: it writes the Connect request
// (the headers connect-go sends, the message in protobuf) on an
// h1Transport connection in one write and reads the answer itself, which
// saves about a third of a check's cost in the client. A 200 answer of
// application/proto is decoded here; any other answer (an error) is
// handed, as received, to connect-go's client through replay, so that
// the caller gets connect-go's own error, code, message and metadata,
// without asking the server twice. Calls it does not make so (headers
// set on the request, a context already done, a redirect, a connection
// that fails before an answer) go through connect-go unchanged: both
// calls are free of side effects, so a call sent again changes nothing.
type directService struct {
	docketv1connect.DocketServiceClient
	// replay is connect-go's client over replayTransport.
	replay docketv1connect.DocketServiceClient
	t      *h1Transport
	addr   string
	// check and batch are each call's request line and fixed headers.
	check, batch []byte
	// answered counts the calls answered directly (for tests).
	answered atomic.Int64
	// buffers hold each call's request and answer bytes, and gunzips
	// the readers of gzipped answers, between calls.
	buffers, gunzips sync.Pool
}

// userAgent is the one connect-go sends.
var userAgent = fmt.Sprintf("connect-go/%s (%s)", connect.Version, runtime.Version())

func newDirectService(gen, replay docketv1connect.DocketServiceClient, t *h1Transport, u *url.URL, base, authorization string) (*directService, error) {
	addr := u.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "80")
	}
	head := func(procedure string) ([]byte, error) {
		pu, err := url.Parse(base + procedure)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", pu.RequestURI(), u.Host, userAgent)
		b.WriteString("Accept-Encoding: gzip\r\nConnect-Protocol-Version: 1\r\nContent-Type: application/proto\r\n")
		if authorization != "" {
			fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
		}
		return []byte(b.String()), nil
	}
	check, err := head(docketv1connect.DocketServiceCheckProcedure)
	if err != nil {
		return nil, err
	}
	batch, err := head(docketv1connect.DocketServiceCheckBatchProcedure)
	if err != nil {
		return nil, err
	}
	return &directService{DocketServiceClient: gen, replay: replay, t: t, addr: addr, check: check, batch: batch}, nil
}

func (d *directService) Check(ctx context.Context, req *connect.Request[pb.CheckRequest]) (*connect.Response[pb.CheckResponse], error) {
	res := &pb.CheckResponse{}
	switch h, other, ok := d.call(ctx, d.check, req.Msg, res, len(req.Header()) == 0); {
	case !ok:
		return d.DocketServiceClient.Check(ctx, req)
	case other != nil:
		return d.replay.Check(context.WithValue(ctx, replayKey{}, other), req)
	default:
		out := connect.NewResponse(res)
		h.fill(out.Header(), out.Trailer())
		return out, nil
	}
}

func (d *directService) CheckBatch(ctx context.Context, req *connect.Request[pb.CheckBatchRequest]) (*connect.Response[pb.CheckBatchResponse], error) {
	res := &pb.CheckBatchResponse{}
	switch h, other, ok := d.call(ctx, d.batch, req.Msg, res, len(req.Header()) == 0); {
	case !ok:
		return d.DocketServiceClient.CheckBatch(ctx, req)
	case other != nil:
		return d.replay.CheckBatch(context.WithValue(ctx, replayKey{}, other), req)
	default:
		out := connect.NewResponse(res)
		h.fill(out.Header(), out.Trailer())
		return out, nil
	}
}

// replayKey carries the answer replayTransport returns.
type replayKey struct{}

// replayTransport answers a request with the answer its context
// carries, already received: connect-go's client then reads it as it
// reads any answer.
type replayTransport struct{}

func (replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody(req)
	res, ok := req.Context().Value(replayKey{}).(*http.Response)
	if !ok {
		return nil, errors.New("no answer to replay")
	}
	res.Request = req
	return res, nil
}

func newReplayClient(base string, opts ...connect.ClientOption) docketv1connect.DocketServiceClient {
	hc := &http.Client{
		Transport:     replayTransport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return docketv1connect.NewDocketServiceClient(hc, base, opts...)
}

// answerHeader is an answer's HTTP headers, which connect-go splits into
// the response's headers and (prefixed Trailer-) its trailers.
type answerHeader http.Header

func (a answerHeader) fill(header, trailer http.Header) {
	for k, v := range a {
		if t, ok := strings.CutPrefix(k, "Trailer-"); ok {
			trailer[t] = v
			continue
		}
		header[k] = v
	}
}

// directBufferKeep is the largest buffer kept for the next call.
const directBufferKeep = 1 << 20

// call sends msg with the request head and decodes a 200 answer of
// application/proto into res, returning its headers; any other answer
// is returned as other, its body read, for connect-go to read. ok false
// means the call is for connect-go to make (plain false: the request
// has headers of its own).
func (d *directService) call(ctx context.Context, head []byte, msg, res proto.Message, plain bool) (header answerHeader, other *http.Response, ok bool) {
	if !plain || ctx.Err() != nil {
		return nil, nil, false
	}
	var timeout string
	if deadline, ok := ctx.Deadline(); ok {
		// As connect-go sends it: whole milliseconds left, none when
		// less than one is (then connect-go's call says so).
		ms := int64(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return nil, nil, false
		}
		if timeout = strconv.FormatInt(ms, 10); len(timeout) > 10 {
			timeout = ""
		}
	}
	n := proto.Size(msg)
	buf, _ := d.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= directBufferKeep {
			d.buffers.Put(buf)
		}
	}()
	buf.Reset()
	buf.Write(head)
	var line [40]byte
	buf.Write(strconv.AppendInt(append(line[:0], "Content-Length: "...), int64(n), 10))
	buf.WriteString("\r\n")
	if timeout != "" {
		buf.WriteString("Connect-Timeout-Ms: ")
		buf.WriteString(timeout)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
	buf.Grow(n)
	body, err := proto.MarshalOptions{}.MarshalAppend(buf.AvailableBuffer(), msg)
	if err != nil || len(body) != n {
		return nil, nil, false
	}
	buf.Write(body)

	// An idle connection is taken without asking whether the server
	// closed it: if it did, the exchange fails and connect-go sends the
	// call again on a connection it checks.
	c, err := d.t.take(ctx, d.addr, false)
	if err != nil {
		return nil, nil, false
	}
	r, ok := c.exchange(ctx, buf.Bytes(), buf)
	switch {
	case !ok || (r.StatusCode >= 300 && r.StatusCode < 400):
		// A redirect is for connect-go's HTTP client to follow.
		return nil, nil, false
	case r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/proto":
		return nil, replayed(r, buf), true
	}
	answer := buf.Bytes()
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, _ := d.gunzips.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(answer))
		} else {
			err = zr.Reset(bytes.NewReader(answer))
		}
		if err == nil {
			answer, err = io.ReadAll(zr)
			d.gunzips.Put(zr)
		}
		if err != nil {
			return nil, replayed(r, buf), true
		}
	default:
		return nil, replayed(r, buf), true
	}
	if proto.Unmarshal(answer, res) != nil {
		return nil, replayed(r, buf), true
	}
	d.answered.Add(1)
	return answerHeader(r.Header), nil, true
}

// replayed is r with the body received, for connect-go to read.
func replayed(r *http.Response, body *bytes.Buffer) *http.Response {
	r.Body = io.NopCloser(bytes.NewReader(bytes.Clone(body.Bytes())))
	r.ContentLength = int64(body.Len())
	return r
}

// exchange writes req on c and reads the answer, whose body it leaves in
// buf (reset first). ok false means the exchange failed before a whole
// answer came and c is closed; otherwise c is back in the pool (or
// closed, if the server said so).
func (c *h1Conn) exchange(ctx context.Context, req []byte, buf *bytes.Buffer) (*http.Response, bool) {
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	}
	fail := func() (*http.Response, bool) {
		stop()
		c.close()
		return nil, false
	}
	if _, err := c.bw.Write(req); err != nil {
		return fail()
	}
	if err := c.bw.Flush(); err != nil {
		return fail()
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil || res.StatusCode < 200 {
		// An informational answer is connect-go's to handle, on a
		// connection of its own.
		return fail()
	}
	buf.Reset()
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return fail()
	}
	res.Body.Close()
	if !stop() {
		// The context's deadline hit the connection.
		c.close()
		return nil, false
	}
	if res.Close {
		c.close()
	} else {
		c.t.put(c)
	}
	return res, true
}
