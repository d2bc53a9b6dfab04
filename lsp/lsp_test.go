package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Columns: the schema counts characters, the protocol UTF-16 code units;
// a name after an emoji in a comment line or a non-ASCII name must land on
// the same text either way.
func TestPositionsCountUTF16(t *testing.T) {
	src := "type user // 😀\ntype dög {\n  relation r: user\n}\n"
	a := analyze("x.rebac", src, false)
	if len(a.diags) != 1 || !strings.Contains(a.diags[0].Msg, "invalid type name `dög`") {
		t.Fatalf("diagnostics: %v", a.diags)
	}
	ds := a.protocolDiagnostics()
	if got := ds[0].Range; got != (protocol.Range{Start: protocol.Position{Line: 1, Character: 5}, End: protocol.Position{Line: 1, Character: 8}}) {
		t.Errorf("range of dög: %+v", got)
	}
	tx := newText("a😀b\n")
	if p := tx.position(1, 3); p.Character != 3 {
		t.Errorf("column 3 after an emoji is UTF-16 unit %d, want 3", p.Character)
	}
	if l, c := tx.schemaPos(protocol.Position{Line: 0, Character: 3}); l != 1 || c != 3 {
		t.Errorf("UTF-16 unit 3 is %d:%d, want 1:3", l, c)
	}
	bom := newText("\uFEFFtype user\n")
	if p := bom.position(1, 6); p.Character != 6 {
		t.Errorf("after a byte order mark, column 6 is unit %d, want 6 (the mark is one unit)", p.Character)
	}
}

// A path segment that reads relations of two types is not renamed from
// one of them: that would change what the path means.
func TestRenameRefusesAmbiguousPathSegment(t *testing.T) {
	src := `type user
type team {
  relation member: user
}
type group {
  relation member: user
}
type doc {
  relation holder: team | group
  relation viewer = holder#member
}
`
	a := analyze("x.rebac", src, false)
	if a.sch == nil {
		t.Fatalf("schema does not compile: %v", a.diags)
	}
	_, err := a.rename("file:///x.rebac", protocol.Position{Line: 2, Character: 12}, "members")
	if err == nil || !strings.Contains(err.Error(), "reads `team#member` and `group#member`") {
		t.Fatalf("rename of team#member: %v", err)
	}
	locs := a.definition("file:///x.rebac", protocol.Position{Line: 9, Character: 28})
	if len(locs) != 2 {
		t.Errorf("definition of holder#member: %d locations, want 2 (team and group)", len(locs))
	}
}

// In a validation file the inline schema is analysed at its place in the
// file, and formatting rewrites only the block, keeping its indentation.
func TestValidationFileSchema(t *testing.T) {
	src := "# rules\nschema: |\n  type user\n  type doc {\n    relation   viewer :user\n  }\ntuples:\n  - doc:1#viewer@user:a\n"
	a := analyze("v.yaml", src, true)
	if a.file == nil || len(a.diags) != 0 {
		t.Fatalf("inline schema: %v", a.diags)
	}
	o := a.occurrenceAt(protocol.Position{Line: 4, Character: 24})
	if o == nil || o.name != "user" {
		t.Fatalf("occurrence at the subject `user`: %+v", o)
	}
	edits := a.formatting()
	if len(edits) != 1 {
		t.Fatalf("edits: %+v", edits)
	}
	got := applyChange(src, edits[0].Range, edits[0].NewText)
	want := "# rules\nschema: |\n  type user\n\n  type doc {\n    relation viewer: user\n  }\ntuples:\n  - doc:1#viewer@user:a\n"
	if got != want {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, want)
	}
}

const partialSchema = `type user
type team {
  relation member: user
}

// Who a record reaches.
partial reach {
  relation owner: user | team#member
  // Owners and readers.
  relation view = owner | reader
}

type doc {
  ...reach
  relation reader: user
  relation edit = owner & view
}

type note {
  ...reach
  relation reader: user
}
`

// A partial is a symbol of its own; its relations are one declaration
// however many types include them, and a name a partial leaves to its
// types resolves to theirs.
func TestPartials(t *testing.T) {
	a := analyze("p.rebac", partialSchema, false)
	if a.sch == nil {
		t.Fatalf("schema does not compile: %v", a.diags)
	}
	const uri = "file:///p.rebac"
	lines := strings.Split(partialSchema, "\n")
	pos := func(line int, word string) protocol.Position {
		return protocol.Position{Line: uint32(line), Character: uint32(strings.Index(lines[line], word))}
	}
	// `owner` in doc's edit is the partial's owner.
	locs := a.definition(uri, pos(15, "owner"))
	if len(locs) != 1 || locs[0].Range.Start != pos(7, "owner") {
		t.Errorf("definition of owner in doc#edit: %+v", locs)
	}
	// `reader` in the partial is the reader of each type that includes it.
	locs = a.definition(uri, pos(9, "reader"))
	if len(locs) != 2 || locs[0].Range.Start.Line != 14 || locs[1].Range.Start.Line != 20 {
		t.Errorf("definition of reader in the partial: %+v", locs)
	}
	refs := a.references(uri, pos(6, "reach"), true)
	if len(refs) != 3 {
		t.Errorf("references of partial reach: %+v", refs)
	}
	o := a.occurrenceAt(pos(9, "view"))
	hover := a.hoverText(o)
	for _, want := range []string{"// in partial reach, included in doc, note", "relation view = owner | reader", "Owners and readers.", "On `doc` it expands to:", "`reader`: stored, user"} {
		if !strings.Contains(hover, want) {
			t.Errorf("hover on the partial's view lacks %q:\n%s", want, hover)
		}
	}
	if h := a.hoverText(a.occurrenceAt(pos(13, "reach"))); !strings.Contains(h, "Who a record reaches.") || !strings.Contains(h, "Included in `doc`, `note`.") {
		t.Errorf("hover on ...reach:\n%s", h)
	}
	we, err := a.rename(uri, pos(6, "reach"), "reachable")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(we.Changes[uri]); n != 3 {
		t.Errorf("rename of the partial: %d edits, want 3", n)
	}
	if _, err := a.rename(uri, pos(7, "owner"), "view"); err == nil || !strings.Contains(err.Error(), "partial `reach` already has a relation `view`") {
		t.Errorf("rename onto a taken name: %v", err)
	}
	// Completion after `...` offers the partials; in a partial's
	// expression, its relations and those of the types that include it.
	edited := strings.Replace(partialSchema, "  ...reach\n  relation reader", "  ...\n  relation reader", 1)
	b := analyze("p.rebac", edited, false)
	if got := labels(b.complete(protocol.Position{Line: 14, Character: 5})); got != "[reach]" {
		t.Errorf("completion after `...`: %s", got)
	}
	edited = strings.Replace(partialSchema, "relation view = owner | reader", "relation view = ", 1)
	b = analyze("p.rebac", edited, false)
	if got := labels(b.complete(protocol.Position{Line: 9, Character: uint32(len("  relation view = "))})); got != "[owner view reader edit]" {
		t.Errorf("completion in the partial's expression: %s", got)
	}
}

func labels(items []protocol.CompletionItem) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Label)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// With several syntax errors every one is reported, and what the parser
// read around them can still be navigated; formatting and rename wait
// for a schema that parses.
func TestSyntaxErrorsKeepNavigation(t *testing.T) {
	src := "type user\ntype doc {\n  relation owner user\n  relation viewer = owner |\n}\ntype note {\n  relation author: user\n}\n"
	a := analyze("e.rebac", src, false)
	if len(a.diags) < 2 {
		t.Fatalf("diagnostics: %v, want one per broken relation", a.diags)
	}
	locs := a.definition("file:///e.rebac", protocol.Position{Line: 6, Character: 20})
	if len(locs) != 1 || locs[0].Range.Start.Line != 0 {
		t.Errorf("definition of user after the errors: %+v", locs)
	}
	if edits := a.formatting(); edits != nil {
		t.Errorf("formatting a schema with syntax errors: %+v", edits)
	}
	if _, err := a.rename("file:///e.rebac", protocol.Position{Line: 0, Character: 6}, "person"); err == nil {
		t.Error("rename in a schema with syntax errors succeeded")
	}
}

// A bug in a handler fails its request with a message; the session goes on.
func TestHandlerPanicFailsTheRequest(t *testing.T) {
	s := &server{docs: map[string]*document{}}
	s.handler = &protocol.Handler{
		TextDocumentHover: func(*glsp.Context, *protocol.HoverParams) (*protocol.Hover, error) { panic("index out of range") },
	}
	s.handler.SetInitialized(true)
	params := json.RawMessage(`{"textDocument":{"uri":"file:///x.rebac"},"position":{"line":0,"character":0}}`)
	_, err := s.handle(context.Background(), nil, &jsonrpc2.Request{Method: "textDocument/hover", Params: &params})
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.CodeInternalError || !strings.Contains(rpcErr.Message, "internal error in textDocument/hover: index out of range") {
		t.Fatalf("error: %v", err)
	}
}

const conditionSchema = `// Open while a review runs.
condition under_review(now timestamp, review_ends timestamp) {
  now < review_ends
}

type user

type doc {
  relation deny_list: user | user with under_review and expiration
  relation viewer: user with under_review
}
`

// Conditions are symbols: declared at the top level, named by subjects.
func TestConditions(t *testing.T) {
	a := analyze("c.rebac", conditionSchema, false)
	if a.sch == nil {
		t.Fatalf("schema does not compile: %v", a.diags)
	}
	const uri = "file:///c.rebac"
	lines := strings.Split(conditionSchema, "\n")
	pos := func(line int, word string) protocol.Position {
		return protocol.Position{Line: uint32(line), Character: uint32(strings.Index(lines[line], word))}
	}
	locs := a.definition(uri, pos(9, "under_review"))
	if len(locs) != 1 || locs[0].Range.Start != pos(1, "under_review") {
		t.Errorf("definition of under_review: %+v", locs)
	}
	if refs := a.references(uri, pos(1, "under_review"), false); len(refs) != 2 {
		t.Errorf("references of under_review: %+v", refs)
	}
	h := a.hoverText(a.occurrenceAt(pos(9, "under_review")))
	for _, want := range []string{"condition under_review(now timestamp, review_ends timestamp) {\n  now < review_ends\n}", "Open while a review runs.", "`doc#viewer` allows `user with under_review`"} {
		if !strings.Contains(h, want) {
			t.Errorf("hover lacks %q:\n%s", want, h)
		}
	}
	we, err := a.rename(uri, pos(1, "under_review"), "in_review")
	if err != nil || len(we.Changes[uri]) != 3 {
		t.Errorf("rename of the condition: %v %+v", err, we)
	}
	if _, err := a.rename(uri, pos(1, "under_review"), "expiration"); err == nil {
		t.Error("a condition was renamed to expiration")
	}
	edited := strings.Replace(conditionSchema, "relation viewer: user with under_review", "relation viewer: user with ", 1)
	b := analyze("c.rebac", edited, false)
	if got := labels(b.complete(protocol.Position{Line: 9, Character: uint32(len("  relation viewer: user with "))})); got != "[under_review expiration]" {
		t.Errorf("completion after `with`: %s", got)
	}
	// Nothing is offered inside a condition's expression.
	if got := b.complete(protocol.Position{Line: 2, Character: 8}); len(got) != 0 {
		t.Errorf("completion in a condition body: %+v", got)
	}
}
