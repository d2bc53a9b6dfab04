// Package lsp is Docket's language server: diagnostics, hover, go to
// definition, references, completion, formatting and rename for schema
// files (.rebac) and for the inline schema of validation files (.yaml),
// over the Language Server Protocol.
//
// Messages are framed and dispatched by github.com/sourcegraph/jsonrpc2
// and decoded into the protocol types of github.com/tliron/glsp; the
// analysis itself is the schema package's parser, compiler and formatter,
// so an editor shows exactly what `docket schema check` prints.
package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// serverName is reported to clients in the initialize result.
const serverName = "docket"

// Serve runs one language server session on in and out (a process's
// standard input and output) until the client sends exit or closes in.
// The error is nil after a shutdown request followed by exit, as the
// protocol asks; exit without shutdown, or a closed input, is an error.
func Serve(ctx context.Context, in io.Reader, out io.Writer, version string) error {
	s := &server{docs: map[string]*document{}, version: version}
	s.handler = s.protocolHandler()
	stream := jsonrpc2.NewBufferedStream(stdio{in, out}, jsonrpc2.VSCodeObjectCodec{})
	conn := jsonrpc2.NewConn(ctx, stream, jsonrpc2.HandlerWithError(s.handle))
	select {
	case <-conn.DisconnectNotify():
	case <-ctx.Done():
		_ = conn.Close()
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.exited && s.shutdown:
		return nil
	case s.exited:
		return errors.New("exit before shutdown")
	}
	return errors.New("the client closed the connection without exit")
}

type stdio struct {
	io.Reader
	io.Writer
}

func (s stdio) Write(p []byte) (int, error) {
	n, err := s.Writer.Write(p)
	if f, ok := s.Writer.(interface{ Flush() error }); ok && err == nil {
		err = f.Flush()
	}
	return n, err
}

func (s stdio) Close() error {
	if c, ok := s.Reader.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

type server struct {
	handler *protocol.Handler
	version string

	mu       sync.Mutex
	docs     map[string]*document
	shutdown bool
	exited   bool
}

// document is an open text document and the analysis of its text.
type document struct {
	uri     string
	version int32
	text    string
	a       *analysis
}

// handle adapts jsonrpc2's requests to glsp's typed dispatch. Requests are
// handled one at a time, in the order they arrive, so document versions
// and the requests about them stay in step.
func (s *server) handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (result any, err error) {
	defer func() {
		// A bug fails the one request, with a message the editor shows,
		// instead of ending the session with a stack trace.
		if v := recover(); v != nil {
			result, err = nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError,
				Message: fmt.Sprintf("internal error in %s: %v; please report it with the schema", req.Method, v)}
		}
	}()
	gctx := &glsp.Context{
		Method: req.Method,
		Notify: func(method string, params any) { _ = conn.Notify(ctx, method, params) },
		Call:   func(method string, params any, result any) { _ = conn.Call(ctx, method, params, result) },
	}
	if req.Params != nil {
		gctx.Params = *req.Params
	}
	if req.Method == protocol.MethodExit {
		s.mu.Lock()
		s.exited = true
		s.mu.Unlock()
		return nil, conn.Close()
	}
	var validMethod, validParams bool
	result, validMethod, validParams, err = s.handler.Handle(gctx)
	switch {
	case !validMethod:
		if req.Notif || strings.HasPrefix(req.Method, "$/") {
			return nil, nil
		}
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "method not supported: " + req.Method}
	case !validParams:
		msg := "invalid parameters"
		if err != nil {
			msg = err.Error()
		}
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: msg}
	case err != nil:
		return nil, &jsonrpc2.Error{Code: codeRequestFailed, Message: err.Error()}
	}
	return result, nil
}

func (s *server) protocolHandler() *protocol.Handler {
	return &protocol.Handler{
		Initialize:  s.initialize,
		Initialized: func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown: func(*glsp.Context) error {
			s.mu.Lock()
			s.shutdown = true
			s.mu.Unlock()
			return nil
		},
		SetTrace:                        func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		WorkspaceDidChangeConfiguration: func(*glsp.Context, *protocol.DidChangeConfigurationParams) error { return nil },
		TextDocumentDidOpen:             s.didOpen,
		TextDocumentDidChange:           s.didChange,
		TextDocumentDidSave:             func(*glsp.Context, *protocol.DidSaveTextDocumentParams) error { return nil },
		TextDocumentDidClose:            s.didClose,
		TextDocumentHover:               s.hover,
		TextDocumentDefinition:          s.definition,
		TextDocumentReferences:          s.references,
		TextDocumentCompletion:          s.completion,
		TextDocumentFormatting:          s.formatting,
		TextDocumentPrepareRename:       s.prepareRename,
		TextDocumentRename:              s.rename,
		TextDocumentDocumentSymbol:      s.documentSymbol,
	}
}

func (s *server) initialize(_ *glsp.Context, _ *protocol.InitializeParams) (any, error) {
	caps := s.handler.CreateServerCapabilities()
	caps.TextDocumentSync = protocol.TextDocumentSyncOptions{
		OpenClose: ptr(true),
		Change:    ptr(protocol.TextDocumentSyncKindIncremental),
	}
	caps.CompletionProvider = &protocol.CompletionOptions{TriggerCharacters: []string{":", "|", "#", ".", "=", "&", "-", "("}}
	caps.RenameProvider = protocol.RenameOptions{PrepareProvider: ptr(true)}
	version := s.version
	return protocol.InitializeResult{
		Capabilities: caps,
		ServerInfo:   &protocol.InitializeResultServerInfo{Name: serverName, Version: &version},
	}, nil
}

func ptr[T any](v T) *T { return &v }

// filename is the name diagnostics are computed under: the path of a
// file: URI, as `schema check` is given a path.
func filename(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Scheme == "file" {
		return u.Path
	}
	return uri
}

func isYAML(uri string) bool {
	ext := strings.ToLower(path.Ext(filename(uri)))
	return ext == ".yaml" || ext == ".yml"
}

func (s *server) update(ctx *glsp.Context, uri string, version int32, text string) {
	d := &document{uri: uri, version: version, text: text, a: analyze(filename(uri), text, isYAML(uri))}
	s.mu.Lock()
	s.docs[uri] = d
	s.mu.Unlock()
	v := protocol.UInteger(max(version, 0))
	ctx.Notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{
		URI: uri, Version: &v, Diagnostics: d.a.protocolDiagnostics(),
	})
}

func (s *server) doc(uri string) (*document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil {
		return nil, fmt.Errorf("document %s is not open", uri)
	}
	return d, nil
}

func (s *server) didOpen(ctx *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	s.update(ctx, p.TextDocument.URI, p.TextDocument.Version, p.TextDocument.Text)
	return nil
}

func (s *server) didChange(ctx *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return err
	}
	text := d.text
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case protocol.TextDocumentContentChangeEvent:
			text = applyChange(text, *c.Range, c.Text)
		case protocol.TextDocumentContentChangeEventWhole:
			text = c.Text
		}
	}
	s.update(ctx, p.TextDocument.URI, p.TextDocument.Version, text)
	return nil
}

func (s *server) didClose(ctx *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	s.mu.Lock()
	delete(s.docs, p.TextDocument.URI)
	s.mu.Unlock()
	// Closed documents keep no markers.
	ctx.Notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{
		URI: p.TextDocument.URI, Diagnostics: []protocol.Diagnostic{},
	})
	return nil
}

func (s *server) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	o := d.a.occurrenceAt(p.Position)
	if o == nil {
		return nil, nil
	}
	md := d.a.hoverText(o)
	if md == "" {
		return nil, nil
	}
	r := d.a.spanRange(o.span)
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md}, Range: &r}, nil
}

func (s *server) definition(_ *glsp.Context, p *protocol.DefinitionParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	return d.a.definition(p.TextDocument.URI, p.Position), nil
}

func (s *server) references(_ *glsp.Context, p *protocol.ReferenceParams) ([]protocol.Location, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	return d.a.references(p.TextDocument.URI, p.Position, p.Context.IncludeDeclaration), nil
}

func (s *server) completion(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	items := d.a.complete(p.Position)
	if items == nil {
		items = []protocol.CompletionItem{}
	}
	return items, nil
}

func (s *server) formatting(_ *glsp.Context, p *protocol.DocumentFormattingParams) ([]protocol.TextEdit, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	return d.a.formatting(), nil
}

func (s *server) prepareRename(_ *glsp.Context, p *protocol.PrepareRenameParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	o, _, err := d.a.renameTarget(p.Position)
	if err != nil {
		return nil, err
	}
	return protocol.RangeWithPlaceholder{Range: d.a.spanRange(o.span), Placeholder: o.name}, nil
}

func (s *server) rename(_ *glsp.Context, p *protocol.RenameParams) (*protocol.WorkspaceEdit, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	return d.a.rename(p.TextDocument.URI, p.Position, p.NewName)
}

func (s *server) documentSymbol(_ *glsp.Context, p *protocol.DocumentSymbolParams) (any, error) {
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	syms := d.a.documentSymbols()
	if syms == nil {
		syms = []protocol.DocumentSymbol{}
	}
	return syms, nil
}

// codeRequestFailed is the protocol's error code for a request that was
// understood but could not be carried out (a rename to a taken name).
const codeRequestFailed = -32803
