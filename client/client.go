// Package client is the Go client of `docket serve`: the generated
// DocketService client with bearer keys, consistency helpers and
// transports chosen for each protocol. Applications that
// embed the store use check/ and tuples/ directly instead.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"github.com/docketdb/docket/internal/wire"
	"github.com/docketdb/docket/tuples"
)

// Options configure a Client.
type Options struct {
	// Token is the bearer key sent with every call ("" sends none).
	Token string
	// GRPC speaks the gRPC protocol, over HTTP/2, instead of Connect's,
	// over HTTP/1.1 (both are answered on the same port; see transport).
	GRPC bool
	// HTTPClient replaces the default transport.
	HTTPClient *http.Client
	// TLS configures https:// servers; nil uses the system roots.
	TLS *tls.Config
}

// Client calls one server. Every method of the generated
// DocketServiceClient is available on it; Check, Write and friends below
// cover the common calls with plain strings.
type Client struct {
	docketv1connect.DocketServiceClient
	base string
}

// New returns a client of the server at baseURL (http://HOST:PORT, or
// https:// for TLS).
func New(baseURL string, o Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: write http://HOST:PORT or https://HOST:PORT", baseURL)
	}
	hc := o.HTTPClient
	var h1 *h1Transport
	if hc == nil {
		t := transport(u.Scheme == "https", o.GRPC, o.TLS)
		hc = &http.Client{Transport: t}
		if inCallerGoroutine(u, o.GRPC) {
			h1 = newH1Transport(t)
			hc.Transport = h1
		}
	}
	// Small requests go uncompressed: compressing a check costs more
	// than it saves on any network.
	auth := bearer(o.Token)
	opts := []connect.ClientOption{connect.WithInterceptors(auth), connect.WithCompressMinBytes(4 << 10)}
	if o.GRPC {
		opts = append(opts, connect.WithGRPC())
	}
	base := strings.TrimRight(baseURL, "/")
	svc := docketv1connect.NewDocketServiceClient(hc, base, opts...)
	if h1 != nil {
		d, err := newDirectService(svc, newReplayClient(base, opts...), h1, u, base, auth.header)
		if err != nil {
			return nil, fmt.Errorf("server URL %q: %w", baseURL, err)
		}
		svc = d
	}
	return &Client{DocketServiceClient: svc, base: base}, nil
}

// transport picks the HTTP version for the protocol. gRPC needs HTTP/2:
// over TLS for https, cleartext (h2c) for http. Connect's protocol works
// over either, and HTTP/1.1 costs less per call: a request and its answer
// on a connection of their own, where HTTP/2 adds frames, flushes and, in
// Go's server, a goroutine per request and per header write; over
// loopback a check costs about half (docs/server.md, Performance).
// Concurrent calls each take an idle connection of the pool, or open one.
func transport(secure, grpc bool, cfg *tls.Config) *http.Transport {
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 256,
	}
	t.Protocols = new(http.Protocols)
	switch {
	case !grpc:
		t.Protocols.SetHTTP1(true)
	case secure:
		t.Protocols.SetHTTP2(true)
	default:
		t.Protocols.SetUnencryptedHTTP2(true)
	}
	return t
}

// inCallerGoroutine says whether calls to u go through h1Transport:
// Connect's protocol over cleartext HTTP/1.1 without a proxy, on systems
// where an idle connection the server closed can be told apart.
func inCallerGoroutine(u *url.URL, grpc bool) bool {
	if grpc || u.Scheme != "http" || !keepAliveChecked {
		return false
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err == nil && proxy == nil
}

// BaseURL is the server's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

type bearerInterceptor struct{ header string }

func bearer(token string) bearerInterceptor {
	if token == "" {
		return bearerInterceptor{}
	}
	return bearerInterceptor{header: "Bearer " + token}
}

func (b bearerInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b.header != "" {
			req.Header().Set("Authorization", b.header)
		}
		return next(ctx, req)
	}
}

func (b bearerInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b.header != "" {
			conn.RequestHeader().Set("Authorization", b.header)
		}
		return conn
	}
}

func (b bearerInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// Consistency requirements, for the consistency field of every read.

// FullyConsistent reads the latest committed revision.
func FullyConsistent() *pb.Consistency {
	return &pb.Consistency{Requirement: &pb.Consistency_FullyConsistent{FullyConsistent: true}}
}

// MinimizeLatency reads a recent revision the server already knows.
func MinimizeLatency() *pb.Consistency {
	return &pb.Consistency{Requirement: &pb.Consistency_MinimizeLatency{MinimizeLatency: true}}
}

// AtLeastAsFresh reads a revision no older than the token's (a write's).
func AtLeastAsFresh(token string) *pb.Consistency {
	return &pb.Consistency{Requirement: &pb.Consistency_AtLeastAsFresh{AtLeastAsFresh: token}}
}

// AtExactSnapshot reads exactly the token's revision.
func AtExactSnapshot(token string) *pb.Consistency {
	return &pb.Consistency{Requirement: &pb.Consistency_AtExactSnapshot{AtExactSnapshot: token}}
}

// Object builds an object reference from "type:id".
func Object(s string) (*pb.ObjectRef, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return nil, fmt.Errorf("object %q: write TYPE:ID", s)
	}
	return &pb.ObjectRef{Type: typ, Id: id}, nil
}

// Subject builds a subject reference from "type:id", "type:id#relation"
// or "type:*".
func Subject(s string) (*pb.SubjectRef, error) {
	obj, rel, _ := strings.Cut(s, "#")
	o, err := Object(obj)
	if err != nil {
		return nil, fmt.Errorf("subject %q: write TYPE:ID, TYPE:ID#RELATION or TYPE:*", s)
	}
	return &pb.SubjectRef{Type: o.Type, Id: o.Id, Relation: rel}, nil
}

// Tuple builds a tuple from its text form, "type:id#relation@subject",
// with an optional [CONDITION], [CONDITION:{JSON}] and
// [expiration:RFC3339] suffix, as `docket tuple write` takes it.
func Tuple(s string) (*pb.Tuple, error) {
	t, _, err := tuples.ParseWithPayload(s)
	if err != nil {
		return nil, fmt.Errorf("tuple %q: %w", s, err)
	}
	return wire.Tuple(t)
}

// Check asks whether subject holds relation on object ("type:id",
// "relation", "type:id"), at the given consistency (nil: the server's
// default), and returns the answer with the revision it was computed at.
// It sends no condition context: an answer that depends on condition
// parameters is conditional, which this reports as false; ask
// DocketServiceClient.Check with a context to learn what it misses.
func (c *Client) Check(ctx context.Context, object, relation, subject string, cons *pb.Consistency) (bool, *pb.Revision, error) {
	o, err := Object(object)
	if err != nil {
		return false, nil, err
	}
	s, err := Subject(subject)
	if err != nil {
		return false, nil, err
	}
	res, err := c.DocketServiceClient.Check(ctx, connect.NewRequest(&pb.CheckRequest{Consistency: cons, Object: o, Relation: relation, Subject: s}))
	if err != nil {
		return false, nil, err
	}
	return res.Msg.Allowed, res.Msg.Revision, nil
}

// Touch writes the tuples (text form) in one atomic write and returns its
// revision, whose token a later read passes as AtLeastAsFresh.
func (c *Client) Touch(ctx context.Context, ts ...string) (*pb.Revision, error) {
	return c.write(ctx, pb.WriteOp_KIND_TOUCH, ts)
}

// Delete deletes the tuples (text form) in one atomic write.
func (c *Client) Delete(ctx context.Context, ts ...string) (*pb.Revision, error) {
	return c.write(ctx, pb.WriteOp_KIND_DELETE, ts)
}

func (c *Client) write(ctx context.Context, kind pb.WriteOp_Kind, ts []string) (*pb.Revision, error) {
	if len(ts) == 0 {
		return nil, errors.New("no tuples to write")
	}
	req := &pb.WriteRequest{}
	for _, s := range ts {
		t, err := Tuple(s)
		if err != nil {
			return nil, err
		}
		req.Ops = append(req.Ops, &pb.WriteOp{Kind: kind, Tuple: t})
	}
	res, err := c.DocketServiceClient.Write(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return res.Msg.Revision, nil
}
