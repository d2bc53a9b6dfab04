package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/tuples"
)

// The AuthZEN Authorization API 1.0 endpoints, at the specification's
// default paths. Mapping: subject and resource {type, id} are Docket
// objects type:id; action.name is a relation of the resource's type; an
// action search lists the relations the subject holds on the resource.
const (
	authzenMetadata       = "/.well-known/authzen-configuration"
	authzenEvaluation     = "/access/v1/evaluation"
	authzenEvaluations    = "/access/v1/evaluations"
	authzenSearchSubject  = "/access/v1/search/subject"
	authzenSearchResource = "/access/v1/search/resource"
	authzenSearchAction   = "/access/v1/search/action"
)

func (s *Server) authzenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+authzenMetadata, s.authzenConfiguration)
	mux.Handle("POST "+authzenEvaluation, s.authzen(s.azEvaluation))
	mux.Handle("POST "+authzenEvaluations, s.authzen(s.azEvaluations))
	mux.Handle("POST "+authzenSearchSubject, s.authzen(s.azSearchSubject))
	mux.Handle("POST "+authzenSearchResource, s.authzen(s.azSearchResource))
	mux.Handle("POST "+authzenSearchAction, s.authzen(s.azSearchAction))
}

// jsonObject is a JSON value that must be an object (or null, meaning
// absent): properties and context. Decoding anything else fails, which
// the endpoints answer with 400.
type jsonObject json.RawMessage

func (o *jsonObject) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if bytes.Equal(t, []byte("null")) {
		*o = nil
		return nil
	}
	if len(t) == 0 || t[0] != '{' {
		return errors.New("must be a JSON object")
	}
	*o = append((*o)[:0], t...)
	return nil
}

func (o jsonObject) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	return o, nil
}

type azEntity struct {
	Type       string     `json:"type"`
	ID         string     `json:"id"`
	Properties jsonObject `json:"properties,omitempty"`
}

type azAction struct {
	Name       string     `json:"name"`
	Properties jsonObject `json:"properties,omitempty"`
}

// azRequest is an evaluation, a search, or the defaults of an
// evaluations request.
type azRequest struct {
	Subject  *azEntity  `json:"subject"`
	Action   *azAction  `json:"action"`
	Resource *azEntity  `json:"resource"`
	Context  jsonObject `json:"context,omitempty"`
}

type azEvaluationsRequest struct {
	azRequest
	Evaluations []azRequest `json:"evaluations"`
	Options     *struct {
		Semantic string `json:"evaluations_semantic"`
	} `json:"options"`
}

type azPage struct {
	Token *string `json:"token"`
	Limit *int    `json:"limit"`
}

type azSearchRequest struct {
	azRequest
	Page *azPage `json:"page"`
}

type azDecision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

type azPageOut struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

type azSearchResponse struct {
	Page    *azPageOut `json:"page,omitempty"`
	Results []any      `json:"results"`
}

// azStatusError is an AuthZEN error with its HTTP status.
type azStatusError struct {
	status int
	msg    string
}

func (e *azStatusError) Error() string { return e.msg }

func azBad(format string, args ...any) error {
	return &azStatusError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// authzen wraps an endpoint: bearer key, content type, body size, a body
// that is one JSON object; the answer is 200 application/json, an error
// a status with a message string.
func (s *Server) authzen(fn func(ctx context.Context, body []byte) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="docket"`)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintln(w, msg)
		}
		if err := s.authorize(r.Header.Get("Authorization"), AccessRead); err != nil {
			fail(httpStatus(connect.CodeOf(err)), connectMessage(err))
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			fail(http.StatusBadRequest, fmt.Sprintf("Content-Type must be application/json, not %q", r.Header.Get("Content-Type")))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.limits.MaxRequestBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", s.limits.MaxRequestBytes))
			return
		case err != nil:
			fail(http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		t := bytes.TrimSpace(body)
		switch {
		case len(t) == 0:
			fail(http.StatusBadRequest, "the request body is empty; send a JSON object")
			return
		case t[0] != '{' || !json.Valid(t):
			fail(http.StatusBadRequest, "the request body is not a JSON object")
			return
		}
		out, err := fn(r.Context(), t)
		if err != nil {
			var se *azStatusError
			var lim *limitError
			switch {
			case errors.As(err, &se):
				fail(se.status, se.msg)
			case errors.As(err, &lim):
				fail(http.StatusRequestEntityTooLarge, lim.msg)
			default:
				code := codeOf(err)
				if code == connect.CodeInternal {
					s.log.Error("authzen request failed", "path", r.URL.Path, "error", err.Error())
				}
				fail(httpStatus(code), connectMessage(toConnect(err)))
			}
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			fail(http.StatusInternalServerError, "internal error encoding the answer")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
	})
}

func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

// decode reads a body into v; a field of the wrong JSON type is a 400.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return azBad("%s: must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return azBad("the request body does not fit the request: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "ptr", "struct", "map":
		return "object"
	case "slice":
		return "array"
	case "int", "int64":
		return "number"
	}
	return goKind
}

// need checks the fields an entity must carry; searching for an entity
// needs only its type (withID false).
func (e *azEntity) need(what string, withID bool) error {
	switch {
	case e == nil:
		return azBad("%s is missing", what)
	case e.Type == "":
		return azBad("%s.type is missing", what)
	case withID && e.ID == "":
		return azBad("%s.id is missing", what)
	}
	return nil
}

func (a *azAction) need() error {
	switch {
	case a == nil:
		return azBad("action is missing")
	case a.Name == "":
		return azBad("action.name is missing")
	}
	return nil
}

func (s *Server) sizes(r *azRequest) error {
	n := len(r.Context)
	for _, e := range []*azEntity{r.Subject, r.Resource} {
		if e != nil {
			n += len(e.Properties)
		}
	}
	if r.Action != nil {
		n += len(r.Action.Properties)
	}
	if n > s.limits.MaxContextBytes {
		return overLimit("properties and context: %d bytes of JSON; at most %d per evaluation", n, s.limits.MaxContextBytes)
	}
	return nil
}

// complete checks an evaluation has what it needs (400 otherwise).
func (s *Server) complete(r *azRequest) error {
	if err := r.Subject.need("subject", true); err != nil {
		return err
	}
	if err := r.Action.need(); err != nil {
		return err
	}
	if err := r.Resource.need("resource", true); err != nil {
		return err
	}
	return s.sizes(r)
}

// azFields are AuthZEN's names for a query's parts.
var azFields = fields{"resource.type", "action.name", "subject.type", "subject.relation"}

// azContext is the condition context of an AuthZEN request: the keys of
// `context` as they are, and each property of the subject, the resource
// and the action as subject_NAME, resource_NAME and action_NAME. A
// property wins over a key of `context` with the same name: it is the more
// specific of the two. fields names, for each parameter, the request field
// it came from, so that an error about its value points there.
type azContext struct {
	ctx    condition.Context
	fields map[string]string
}

func azConditionContext(r *azRequest) (azContext, error) {
	var out azContext
	add := func(field, prefix string, o jsonObject) error {
		if len(o) == 0 {
			return nil
		}
		// The request's size is bounded by sizes; this only reads it.
		c, err := condition.DecodeContext(o, math.MaxInt)
		if err != nil {
			return azBad("%s: %v", field, err)
		}
		if out.ctx == nil {
			out.ctx, out.fields = condition.Context{}, map[string]string{}
		}
		for k, v := range c {
			out.ctx[prefix+k] = v
			out.fields[prefix+k] = field + "." + k
		}
		return nil
	}
	if err := add("context", "", r.Context); err != nil {
		return azContext{}, err
	}
	if r.Subject != nil {
		if err := add("subject.properties", "subject_", r.Subject.Properties); err != nil {
			return azContext{}, err
		}
	}
	if r.Resource != nil {
		if err := add("resource.properties", "resource_", r.Resource.Properties); err != nil {
			return azContext{}, err
		}
	}
	if r.Action != nil {
		if err := add("action.properties", "action_", r.Action.Properties); err != nil {
			return azContext{}, err
		}
	}
	return out, nil
}

// valueError is a 400 naming the request field whose value a condition
// refused (of the wrong type for its parameter), or err as it is.
func (c azContext) valueError(err error) error {
	var ve *condition.ValueError
	if !errors.As(err, &ve) {
		return err
	}
	field := c.fields[ve.Param]
	if field == "" {
		field = "context." + ve.Param
	}
	v := *ve
	if field != "context."+ve.Param {
		// The value came from a property: the condition's hint to give
		// the parameter in the context would point elsewhere than the
		// field named.
		v.FromRequest = false
	}
	return azBad("%s: %v", field, &v)
}

// azQuery maps an evaluation to a check; a reason is given instead when
// the schema cannot hold the answer (an unknown type or relation), which
// AuthZEN answers as a deny.
func azQuery(snap tuples.Snapshot, r *azRequest, c azContext) (check.Query, string) {
	sch := snap.Schema()
	if sch == nil {
		return check.Query{}, "no schema written"
	}
	q := check.Query{
		Object:         tuples.Object{Type: r.Resource.Type, ID: r.Resource.ID},
		Relation:       r.Action.Name,
		Subject:        tuples.Subject{Type: r.Subject.Type, ID: r.Subject.ID},
		RequestContext: c.ctx,
	}
	if err := checkNames(sch, azFields, q.Object, q.Relation, &q.Subject); err != nil {
		return q, err.Error()
	}
	if q.Object.ID == tuples.Wildcard {
		return q, "resource.id: a resource needs a concrete id, not *"
	}
	return q, ""
}

func (s *Server) latestSnapshot(ctx context.Context) (tuples.Snapshot, error) { return s.open(ctx, 0) }

func (s *Server) azEvaluation(ctx context.Context, body []byte) (any, error) {
	var r azRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if err := s.complete(&r); err != nil {
		return nil, err
	}
	snap, err := s.latestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	return s.decide(ctx, snap, &r)
}

// decide answers one evaluation. A value a condition refuses is the
// caller's error (400).
func (s *Server) decide(ctx context.Context, snap tuples.Snapshot, r *azRequest) (azDecision, error) {
	c, err := azConditionContext(r)
	if err != nil {
		return azDecision{}, err
	}
	q, reason := azQuery(snap, r, c)
	if reason != "" {
		return azDecision{Decision: false, Context: map[string]any{"reason": reason}}, nil
	}
	rs, err := s.q.ReaderOn(snap).Check(ctx, query.CheckRequest{Checks: []check.Query{q}})
	if err != nil {
		return azDecision{}, c.valueError(err)
	}
	return verdict(rs[0]), nil
}

// decideItem is decide for an item of an evaluations request: the
// caller's errors are answered in place.
func (s *Server) decideItem(ctx context.Context, snap tuples.Snapshot, r *azRequest) (azDecision, error) {
	d, err := s.decide(ctx, snap, r)
	if _, ok := errors.AsType[*azStatusError](err); ok {
		return itemError(err), nil
	}
	return d, err
}

// verdict is the decision of a check. A conditional answer is a deny
// whose context names the condition parameters it lacks:
// {"decision": false, "context": {"conditional": true, "missing": [...]}}.
func verdict(res query.CheckResult) azDecision {
	if res.Conditional {
		missing := res.Missing
		if missing == nil {
			missing = []string{}
		}
		return azDecision{Context: map[string]any{"conditional": true, "missing": missing}}
	}
	return azDecision{Decision: res.Allowed}
}

// Evaluation semantics of an evaluations request.
const (
	executeAll          = "execute_all"
	denyOnFirstDeny     = "deny_on_first_deny"
	permitOnFirstPermit = "permit_on_first_permit"
)

func (s *Server) azEvaluations(ctx context.Context, body []byte) (any, error) {
	var r azEvaluationsRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	semantic := executeAll
	if r.Options != nil && r.Options.Semantic != "" {
		semantic = r.Options.Semantic
	}
	switch semantic {
	case executeAll, denyOnFirstDeny, permitOnFirstPermit:
	default:
		return nil, azBad("options.evaluations_semantic: %q is not one of execute_all, deny_on_first_deny, permit_on_first_permit", semantic)
	}
	if len(r.Evaluations) == 0 {
		// Without items the request is a single evaluation.
		if err := s.complete(&r.azRequest); err != nil {
			return nil, err
		}
		snap, err := s.latestSnapshot(ctx)
		if err != nil {
			return nil, err
		}
		defer snap.Close()
		return s.decide(ctx, snap, &r.azRequest)
	}
	if len(r.Evaluations) > s.limits.MaxBatch {
		return nil, overLimit("evaluations: %d items; at most %d per request", len(r.Evaluations), s.limits.MaxBatch)
	}
	snap, err := s.latestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	out := make([]azDecision, 0, len(r.Evaluations))
	// Items inherit each top-level entity they omit, whole; an item still
	// incomplete is answered in place with a deny saying why.
	items := make([]azRequest, len(r.Evaluations))
	problems := make([]error, len(r.Evaluations))
	for i, it := range r.Evaluations {
		if it.Subject == nil {
			it.Subject = r.Subject
		}
		if it.Action == nil {
			it.Action = r.Action
		}
		if it.Resource == nil {
			it.Resource = r.Resource
		}
		if it.Context == nil {
			it.Context = r.Context
		}
		items[i] = it
		problems[i] = s.complete(&items[i])
	}
	if semantic == executeAll {
		// Answered together: one batch shares the checker's walk.
		var qs []check.Query
		var at []int
		out = out[:len(items)]
		for i := range items {
			if problems[i] != nil {
				out[i] = itemError(problems[i])
				continue
			}
			c, err := azConditionContext(&items[i])
			if err != nil {
				out[i] = itemError(err)
				continue
			}
			q, reason := azQuery(snap, &items[i], c)
			if reason != "" {
				out[i] = azDecision{Context: map[string]any{"reason": reason}}
				continue
			}
			qs = append(qs, q)
			at = append(at, i)
		}
		var rs []query.CheckResult
		if len(qs) > 0 {
			rs, err = s.q.ReaderOn(snap).Check(ctx, query.CheckRequest{Checks: qs})
		}
		if _, ok := errors.AsType[*condition.ValueError](err); ok {
			// An item's value a condition refuses: ask the items one at a
			// time, so that the one at fault is answered in place.
			for _, i := range at {
				if out[i], err = s.decideItem(ctx, snap, &items[i]); err != nil {
					return nil, err
				}
			}
			return map[string]any{"evaluations": out}, nil
		}
		if err != nil {
			return nil, err
		}
		for j, res := range rs {
			out[at[j]] = verdict(res)
		}
		return map[string]any{"evaluations": out}, nil
	}
	for i := range items {
		var d azDecision
		if problems[i] != nil {
			d = itemError(problems[i])
		} else if d, err = s.decideItem(ctx, snap, &items[i]); err != nil {
			return nil, err
		}
		if (semantic == denyOnFirstDeny && !d.Decision) || (semantic == permitOnFirstPermit && d.Decision) {
			if d.Context == nil && !d.Decision {
				d.Context = map[string]any{"code": "200", "reason": semantic}
			}
			out = append(out, d)
			break
		}
		out = append(out, d)
	}
	return map[string]any{"evaluations": out}, nil
}

// itemError is the deny of an evaluation that could not be asked.
func itemError(err error) azDecision {
	status := http.StatusBadRequest
	if _, ok := errors.AsType[*limitError](err); ok {
		status = http.StatusRequestEntityTooLarge
	}
	return azDecision{Context: map[string]any{"error": map[string]any{"status": status, "message": err.Error()}}}
}

// searchPage is where a paged search resumes: at a revision, so that
// every page reads one snapshot, and after a position; the digest of the
// request ties the token to the request that began the search.
type searchPage struct {
	Rev    uint64 `json:"r"`
	After  string `json:"a"`
	Digest string `json:"d"`
}

// page reads a search's page object: the limit, and where to resume.
func (s *Server) page(ctx context.Context, kind string, r *azSearchRequest) (snap tuples.Snapshot, limit int, after string, digest string, err error) {
	limit = s.limits.DefaultPageSize
	var token string
	if r.Page != nil {
		if r.Page.Limit != nil {
			switch l := *r.Page.Limit; {
			case l < 0:
				return nil, 0, "", "", azBad("page.limit must not be negative")
			case l > s.limits.MaxPageSize:
				return nil, 0, "", "", overLimit("page.limit: %d; a page holds at most %d", l, s.limits.MaxPageSize)
			case l > 0:
				limit = l
			}
		}
		if r.Page.Token != nil {
			token = *r.Page.Token
		}
	}
	// The digest covers everything but the token: the specification has
	// every other value stay the same from page to page.
	plain := *r
	if plain.Page != nil {
		p := *plain.Page
		p.Token = nil
		plain.Page = &p
	}
	b, _ := json.Marshal(plain)
	sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
	digest = hex.EncodeToString(sum[:12])
	if token == "" {
		snap, err = s.latestSnapshot(ctx)
		return snap, limit, "", digest, err
	}
	raw, derr := base64.RawURLEncoding.DecodeString(token)
	var p searchPage
	if derr != nil || json.Unmarshal(raw, &p) != nil || p.Rev == 0 {
		return nil, 0, "", "", azBad("page.token: not a token this server issued; pass back the next_token of the previous page")
	}
	if p.Digest != digest {
		return nil, 0, "", "", azBad("page.token: the request differs from the one that began this search; keep every other value the same from page to page")
	}
	snap, err = s.open(ctx, tuples.Revision(p.Rev))
	if err != nil {
		return nil, 0, "", "", azBad("page.token: %v; start the search again without a token", err)
	}
	return snap, limit, p.After, digest, nil
}

func nextToken(rev tuples.Revision, after, digest string) string {
	b, _ := json.Marshal(searchPage{Rev: uint64(rev), After: after, Digest: digest})
	return base64.RawURLEncoding.EncodeToString(b)
}

func emptySearch() azSearchResponse {
	return azSearchResponse{Page: &azPageOut{}, Results: []any{}}
}

func (s *Server) azSearchSubject(ctx context.Context, body []byte) (any, error) {
	var r azSearchRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if err := r.Subject.need("subject", false); err != nil {
		return nil, err
	}
	if err := r.Action.need(); err != nil {
		return nil, err
	}
	if err := r.Resource.need("resource", true); err != nil {
		return nil, err
	}
	if err := s.sizes(&r.azRequest); err != nil {
		return nil, err
	}
	// The searched-for subject's id is ignored, as the specification
	// requires.
	r.Subject.ID = ""
	snap, limit, after, digest, err := s.page(ctx, "subject", &r)
	if err != nil {
		return nil, err
	}
	sch := snap.Schema()
	obj := tuples.Object{Type: r.Resource.Type, ID: r.Resource.ID}
	if sch == nil || sch.Type(r.Subject.Type) == nil || checkNames(sch, azFields, obj, r.Action.Name, nil) != nil {
		return emptySearch(), nil
	}
	c, err := azConditionContext(&r.azRequest)
	if err != nil {
		return nil, err
	}
	// Conditional members are not allowed, so they are left out.
	found, err := s.q.ReaderOn(snap).LookupSubjects(ctx, query.SubjectsRequest{Object: obj, Relation: r.Action.Name, Type: r.Subject.Type, Context: c.ctx})
	if err != nil {
		return nil, c.valueError(err)
	}
	out := emptySearch()
	for _, f := range found {
		if f.Subject.Relation != "" || (after != "" && f.Subject.ID <= after) {
			continue
		}
		if len(out.Results) == limit {
			// The token resumes after the last subject sent.
			out.Page.NextToken = nextToken(snap.Revision(), lastID(out.Results), digest)
			break
		}
		e := map[string]any{"type": f.Subject.Type, "id": f.Subject.ID}
		if len(f.Excluded) > 0 {
			ids := make([]string, len(f.Excluded))
			for i, x := range f.Excluded {
				ids[i] = x.ID
			}
			e["properties"] = map[string]any{"excluded": ids}
		}
		out.Results = append(out.Results, e)
	}
	out.Page.Count = len(out.Results)
	return out, nil
}

func lastID(results []any) string {
	return results[len(results)-1].(map[string]any)["id"].(string)
}

func (s *Server) azSearchResource(ctx context.Context, body []byte) (any, error) {
	var r azSearchRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if err := r.Subject.need("subject", true); err != nil {
		return nil, err
	}
	if err := r.Action.need(); err != nil {
		return nil, err
	}
	if err := r.Resource.need("resource", false); err != nil {
		return nil, err
	}
	if err := s.sizes(&r.azRequest); err != nil {
		return nil, err
	}
	r.Resource.ID = ""
	snap, limit, after, digest, err := s.page(ctx, "resource", &r)
	if err != nil {
		return nil, err
	}
	sch := snap.Schema()
	subj := tuples.Subject{Type: r.Subject.Type, ID: r.Subject.ID}
	if sch == nil || checkNames(sch, azFields, tuples.Object{Type: r.Resource.Type}, r.Action.Name, &subj) != nil {
		return emptySearch(), nil
	}
	c, err := azConditionContext(&r.azRequest)
	if err != nil {
		return nil, err
	}
	// Conditional members are not allowed, so they are left out.
	q := query.ResourcesRequest{Subject: subj, Type: r.Resource.Type, Relation: r.Action.Name, Limit: limit + 1, Context: c.ctx}
	if after != "" {
		q.Cursor = check.ResourceCursor(after)
	}
	out := emptySearch()
	more := false
	if _, err := s.q.ReaderOn(snap).LookupResources(ctx, q, func(o tuples.Object) bool {
		if len(out.Results) == limit {
			more = true
			return false
		}
		out.Results = append(out.Results, map[string]any{"type": o.Type, "id": o.ID})
		return true
	}); err != nil {
		return nil, c.valueError(err)
	}
	if more {
		out.Page.NextToken = nextToken(snap.Revision(), lastID(out.Results), digest)
	}
	out.Page.Count = len(out.Results)
	return out, nil
}

func (s *Server) azSearchAction(ctx context.Context, body []byte) (any, error) {
	var r azSearchRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if err := r.Subject.need("subject", true); err != nil {
		return nil, err
	}
	if err := r.Resource.need("resource", true); err != nil {
		return nil, err
	}
	if err := s.sizes(&r.azRequest); err != nil {
		return nil, err
	}
	r.Action = nil
	snap, limit, after, digest, err := s.page(ctx, "action", &r)
	if err != nil {
		return nil, err
	}
	sch := snap.Schema()
	obj := tuples.Object{Type: r.Resource.Type, ID: r.Resource.ID}
	subj := tuples.Subject{Type: r.Subject.Type, ID: r.Subject.ID}
	if sch == nil || checkNames(sch, azFields, obj, "", &subj) != nil || obj.ID == tuples.Wildcard {
		return emptySearch(), nil
	}
	// Relations in declaration order; the token resumes after an index.
	start := 0
	if after != "" {
		if start, err = strconv.Atoi(after); err != nil || start < 0 {
			return nil, azBad("page.token: not a token this server issued")
		}
	}
	c, err := azConditionContext(&r.azRequest)
	if err != nil {
		return nil, err
	}
	rels := sch.Type(obj.Type).RelationNames()
	var qs []check.Query
	for _, rel := range rels[min(start, len(rels)):] {
		qs = append(qs, check.Query{Object: obj, Relation: rel, Subject: subj, RequestContext: c.ctx})
	}
	// A conditional answer is not allowed, so it is left out as a deny.
	var rs []query.CheckResult
	if len(qs) > 0 {
		if rs, err = s.q.ReaderOn(snap).Check(ctx, query.CheckRequest{Checks: qs}); err != nil {
			return nil, c.valueError(err)
		}
	}
	out := emptySearch()
	for j, res := range rs {
		if !res.Allowed {
			continue
		}
		if len(out.Results) == limit {
			out.Page.NextToken = nextToken(snap.Revision(), strconv.Itoa(start+j), digest)
			break
		}
		out.Results = append(out.Results, map[string]any{"name": qs[j].Relation})
	}
	out.Page.Count = len(out.Results)
	return out, nil
}

// authzenConfiguration is the metadata document: the endpoints under the
// base URL the caller reached.
func (s *Server) authzenConfiguration(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	doc := map[string]string{
		"policy_decision_point":       base,
		"access_evaluation_endpoint":  base + authzenEvaluation,
		"access_evaluations_endpoint": base + authzenEvaluations,
		"search_subject_endpoint":     base + authzenSearchSubject,
		"search_resource_endpoint":    base + authzenSearchResource,
		"search_action_endpoint":      base + authzenSearchAction,
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
