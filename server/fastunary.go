package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"google.golang.org/protobuf/proto"
)

// The hottest unary calls (Check, CheckBatch) in Connect's protocol over
// HTTP/1.1 are answered here, without connect-go's handler: in the
// common case (a POST of application/proto or application/json with a
// known length, uncompressed) that handler's per-request work (its
// connection wrapper, interceptor chain, buffer copies and a copy of the
// request for its context) costs about as much as the server's own
// handling outside the walk. Every other request, and every one of these
// that this path cannot read (a body that does not decode, a bad
// Connect-Timeout-Ms), goes to connect-go's handler, which then answers
// it exactly as it always did; the answers of both are the same bytes
// (fastunary_test.go compares them request by request).

// fastUnary is one unary procedure answered on the fast path: a new
// request message to decode into, and the method answering it.
type fastUnary struct {
	request func() proto.Message
	call    func(ctx context.Context, req proto.Message) (proto.Message, error)
}

// fastCodec is a request's encoding on the fast path.
type fastCodec int

const (
	fastProto fastCodec = iota
	fastJSON
)

func (c fastCodec) unmarshal(b []byte, m proto.Message) error {
	if c == fastJSON {
		return jsonCodec{}.Unmarshal(b, m)
	}
	return proto.Unmarshal(b, m)
}

func (c fastCodec) marshal(dst []byte, m proto.Message) ([]byte, error) {
	if c == fastJSON {
		b, err := jsonCodec{}.Marshal(m)
		return append(dst, b...), err
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

// fastUnaryRoutes maps the procedures' paths to their fast paths. They
// are read calls: a read key may make them.
func (s *Server) fastUnaryRoutes() map[string]fastUnary {
	n := native{s}
	return map[string]fastUnary{
		docketv1connect.DocketServiceCheckProcedure: {
			request: func() proto.Message { return &pb.CheckRequest{} },
			call: func(ctx context.Context, m proto.Message) (proto.Message, error) {
				res, err := n.check(ctx, m.(*pb.CheckRequest))
				return res, err
			},
		},
		docketv1connect.DocketServiceCheckBatchProcedure: {
			request: func() proto.Message { return &pb.CheckBatchRequest{} },
			call: func(ctx context.Context, m proto.Message) (proto.Message, error) {
				res, err := n.checkBatch(ctx, m.(*pb.CheckBatchRequest))
				return res, err
			},
		},
	}
}

// fastPools hold, between requests, the fast path's buffers (request
// bodies and encoded answers) and its gzip writers.
type fastPools struct {
	buffers, gzips sync.Pool
}

func newFastPools() *fastPools {
	p := &fastPools{}
	p.buffers.New = func() any { b := make([]byte, 0, 1024); return &b }
	p.gzips.New = func() any { return gzip.NewWriter(io.Discard) }
	return p
}

func (p *fastPools) buffer() *[]byte { return p.buffers.Get().(*[]byte) }

// fastBufferKeep is the largest buffer put back in the pool, so that one
// large batch does not keep its memory for good.
const fastBufferKeep = 1 << 20

func (p *fastPools) put(b *[]byte) {
	if cap(*b) <= fastBufferKeep {
		*b = (*b)[:0]
		p.buffers.Put(b)
	}
}

// replayBody is a request body of which the fast path read a part (or
// all): the handler it falls back to reads the same bytes again.
type replayBody struct {
	io.Reader
	body io.ReadCloser
}

func (r replayBody) Close() error { return r.body.Close() }

// fastUnaryCodec says whether r is a request the fast path can read, and
// in which encoding: a POST over HTTP/1.x of exactly application/proto or
// application/json, of a known length within the request limit, not
// compressed, in Connect's protocol version 1 (or unnamed, as connect-go
// accepts).
func (s *Server) fastUnaryCodec(r *http.Request) (fastCodec, bool) {
	if r.ProtoMajor != 1 || r.Method != http.MethodPost {
		return 0, false
	}
	if r.ContentLength < 0 || r.ContentLength > s.limits.MaxRequestBytes {
		return 0, false
	}
	h := r.Header
	if len(h["Content-Encoding"]) != 0 {
		return 0, false
	}
	if v := h["Connect-Protocol-Version"]; len(v) != 0 && v[0] != "1" {
		return 0, false
	}
	var c fastCodec
	switch ct := h["Content-Type"]; {
	case len(ct) == 0:
		return 0, false
	case ct[0] == "application/proto":
		c = fastProto
	case ct[0] == "application/json":
		c = fastJSON
	default:
		return 0, false
	}
	return c, true
}

// connectTimeout is the request's Connect-Timeout-Ms, read as connect-go
// reads it; ok false for a value connect-go refuses, which its handler
// then answers.
func connectTimeout(r *http.Request) (d time.Duration, set, ok bool) {
	v := r.Header["Connect-Timeout-Ms"]
	if len(v) == 0 || v[0] == "" {
		return 0, false, true
	}
	if len(v[0]) > 10 {
		return 0, false, false
	}
	ms, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return 0, false, false
	}
	return time.Duration(ms) * time.Millisecond, true, true
}

// acceptsGzip says whether an answer may be sent gzipped, as connect-go
// negotiates it for unary Connect calls: the first name in
// Accept-Encoding that it supports, and gzip is the only one.
func acceptsGzip(r *http.Request) bool {
	for _, name := range strings.FieldsFunc(r.Header.Get("Accept-Encoding"), func(c rune) bool { return c == ',' || c == ' ' }) {
		if name == "gzip" {
			return true
		}
	}
	return false
}

var (
	contentTypes        = [...][]string{fastProto: {"application/proto"}, fastJSON: {"application/json"}}
	acceptEncodingGzip  = []string{"gzip"}
	contentEncodingGzip = []string{"gzip"}
)

// gzipped is b compressed as connect-go compresses an answer (gzip at
// the default level).
func (p *fastPools) gzipped(dst, b []byte) []byte {
	zw := p.gzips.Get().(*gzip.Writer)
	buf := bytes.NewBuffer(dst)
	zw.Reset(buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	zw.Reset(io.Discard)
	p.gzips.Put(zw)
	return buf.Bytes()
}

// serveFastUnary answers r if it is a call the fast path takes, and says
// whether it did; when it did not, r (its body restored if read) is for
// connect-go's handler. On an answer info's outcome is set, as the
// interceptors set it on connect-go's path.
func (s *Server) serveFastUnary(w http.ResponseWriter, r *http.Request, info *reqInfo) bool {
	route, ok := s.fast[r.URL.Path]
	if !ok {
		return false
	}
	codec, ok := s.fastUnaryCodec(r)
	if !ok {
		return false
	}
	timeout, timed, ok := connectTimeout(r)
	if !ok {
		return false
	}
	// The deadline runs from the request's arrival, before its body is
	// read, as in connect-go.
	var deadline time.Time
	if timed {
		deadline = time.Now().Add(timeout)
	}
	in := s.pools.buffer()
	body := *in
	if int64(cap(body)) < r.ContentLength {
		body = make([]byte, r.ContentLength)
	}
	body = body[:r.ContentLength]
	if n, err := io.ReadFull(r.Body, body); err != nil {
		// The body is shorter than announced, or the client went: the
		// handler reads the same and answers as it does.
		r.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(body[:n]), r.Body), body: r.Body}
		return false
	}
	// The message is decoded before the key is checked, as connect-go
	// does; a body that does not decode is the handler's to refuse, in
	// its words.
	req := route.request()
	if err := codec.unmarshal(body, req); err != nil {
		r.Body = replayBody{Reader: bytes.NewReader(body), body: r.Body}
		return false
	}
	*in = body
	defer s.pools.put(in)

	ctx := r.Context()
	if timed {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	header := w.Header()
	header["Accept-Encoding"] = acceptEncodingGzip
	answered := false
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err := s.recovered(ctx, connect.Spec{Procedure: r.URL.Path, StreamType: connect.StreamTypeUnary}, r.Header, p)
			info.outcome = outcomeOf(err)
			if !answered {
				_ = s.errors.Write(w, r, err)
			}
		}
	}()

	var res proto.Message
	err := s.authorize(r.Header.Get("Authorization"), AccessRead)
	if err == nil {
		// As connect-go does, a call whose deadline passed (or whose
		// client went) before it began is not begun.
		err = contextDone(ctx)
	}
	if err == nil {
		res, err = route.call(ctx, req)
		err = toConnect(err)
	}
	if err == nil {
		outp := s.pools.buffer()
		defer s.pools.put(outp)
		var out []byte
		out, err = codec.marshal((*outp)[:0], res)
		*outp = out
		if err != nil {
			err = connect.NewError(connect.CodeInternal, fmt.Errorf("marshal message: %w", err))
		} else {
			if len(out) >= compressMinBytes && acceptsGzip(r) {
				zp := s.pools.buffer()
				defer s.pools.put(zp)
				out = s.pools.gzipped((*zp)[:0], out)
				*zp = out
				header["Content-Encoding"] = contentEncodingGzip
			}
			header["Content-Type"] = contentTypes[codec]
			info.outcome = "ok"
			answered = true
			s.fastAnswers.Add(1)
			_, _ = w.Write(out)
			return true
		}
	}
	info.outcome = outcomeOf(err)
	answered = true
	s.fastAnswers.Add(1)
	_ = s.errors.Write(w, r, err)
	return true
}

// contextDone is ctx's error with the code connect-go gives it.
func contextDone(ctx context.Context) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	default:
		return connect.NewError(connect.CodeCanceled, err)
	}
}
