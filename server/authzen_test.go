package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/server"
)

// authzenFixture is the certification scenario's fixture as far as it
// needs no conditions: alice reads and writes record-1, bob reads it.
var authzenFixture = []string{
	"record:record-1#owner@user:alice",
	"record:record-1#reader@user:bob",
	"record:record-2#owner@user:bob",
	"record:record-3#owner@user:alice",
}

type azReply struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (ts *testServer) authzen(t *testing.T, path, body string, headers ...string) azReply {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+readKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := azReply{status: res.StatusCode, header: res.Header, body: string(b)}
	if res.StatusCode == 200 {
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: 200 with Content-Type %q", path, ct)
		}
		if err := json.Unmarshal(b, &r.json); err != nil {
			t.Fatalf("%s: 200 with a body that is not a JSON object: %s", path, b)
		}
	}
	return r
}

func decisions(t *testing.T, r azReply) []bool {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	items, ok := r.json["evaluations"].([]any)
	if !ok {
		t.Fatalf("no evaluations array: %s", r.body)
	}
	var out []bool
	for _, it := range items {
		d, ok := it.(map[string]any)["decision"].(bool)
		if !ok {
			t.Fatalf("an item without a boolean decision: %s", r.body)
		}
		out = append(out, d)
	}
	return out
}

func results(t *testing.T, r azReply, field string) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	items, ok := r.json["results"].([]any)
	if !ok {
		t.Fatalf("no results array: %s", r.body)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.(map[string]any)[field].(string))
	}
	return out
}

const (
	evaluation  = "/access/v1/evaluation"
	evaluations = "/access/v1/evaluations"
	searchSubj  = "/access/v1/search/subject"
	searchRes   = "/access/v1/search/resource"
	searchAct   = "/access/v1/search/action"
)

func TestAuthZENEvaluation(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, authzenFixture...)
	decide := func(body string) bool {
		t.Helper()
		r := ts.authzen(t, evaluation, body)
		d, ok := r.json["decision"].(bool)
		if r.status != 200 || !ok {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		return d
	}
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, true},
		{`{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, true},
		{`{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, true},
		{`{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, false},
		// Optional context, additional properties and unknown fields
		// change nothing.
		{`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":{"time":"1985-10-26T01:22-07:00"}}`, true},
		{`{"subject":{"type":"user","id":"alice","properties":{"department":"Sales","ip_address":"172.217.22.14"}},"action":{"name":"read","properties":{"method":"GET"}},"resource":{"type":"record","id":"record-1","properties":{"library_record":{"title":"AuthZEN in Action"}}}}`, true},
		{`{"subject":{"type":"user","id":"alice","extra":1},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"unknown_field":"x"}`, true},
		// Names the schema lacks are a deny, saying why.
		{`{"subject":{"type":"user","id":"alice"},"action":{"name":"can_read"},"resource":{"type":"record","id":"record-1"}}`, false},
		{`{"subject":{"type":"robot","id":"r2"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, false},
	} {
		if got := decide(c.body); got != c.want {
			t.Errorf("%s: decision %v, want %v", c.body, got, c.want)
		}
	}
	r := ts.authzen(t, evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"can_read"},"resource":{"type":"record","id":"record-1"}}`)
	if !strings.Contains(r.body, "relations of record: owner") {
		t.Errorf("unknown action: no reason given: %s", r.body)
	}
	// The same request, again and again: the same decision.
	for range 5 {
		if !decide(`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`) {
			t.Fatal("decision changed on repetition")
		}
	}

	// X-Request-ID is echoed, and made up when absent.
	ok := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`
	if r := ts.authzen(t, evaluation, ok, "X-Request-ID", "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"); r.header.Get("X-Request-ID") != "bfe9eb29-ab87-4ca3-be83-a1d5d8305716" {
		t.Errorf("X-Request-ID not echoed: %v", r.header)
	}
	if r := ts.authzen(t, evaluation, `{}`, "X-Request-ID", "err-1"); r.status != 400 || r.header.Get("X-Request-ID") != "err-1" {
		t.Errorf("X-Request-ID not echoed on an error: %d %v", r.status, r.header)
	}
	if r := ts.authzen(t, evaluation, ok); r.status != 200 || r.header.Get("X-Request-ID") == "" {
		t.Errorf("no X-Request-ID when the request had none: %v", r.header)
	}
}

// TestAuthZENBadRequests: every malformed request of the certification
// scenario, and Docket's limits, answered with a status and a message.
func TestAuthZENBadRequests(t *testing.T) {
	ts := startServer(t, func(o *server.Options) { o.Limits.MaxRequestBytes = 4096; o.Limits.MaxBatch = 10 })
	ts.seed(t, authzenFixture...)
	for _, c := range []struct {
		what, path, body string
		headers          []string
		want             int
	}{
		{"missing subject", evaluation, `{"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"missing action", evaluation, `{"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"missing resource", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"}}`, nil, 400},
		{"subject without type", evaluation, `{"subject":{"id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"subject without id", evaluation, `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"action without name", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"resource without type", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"id":"record-1"}}`, nil, 400},
		{"resource without id", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}}`, nil, 400},
		{"wrong content type", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, []string{"Content-Type", "text/plain"}, 400},
		{"no content type", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, []string{"Content-Type", ""}, 400},
		{"malformed JSON", evaluation, `{"subject":{"type":"user",`, nil, 400},
		{"empty body", evaluation, ``, nil, 400},
		{"a JSON array", evaluation, `[1,2]`, nil, 400},
		{"subject a string", evaluation, `{"subject":"alice","action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"action.name a number", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":123},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"context not an object", evaluation, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":"now"}`, nil, 400},
		{"properties not an object", evaluation, `{"subject":{"type":"user","id":"alice","properties":[1]},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"no key", evaluation, `{}`, []string{"Authorization", ""}, 401},
		{"wrong key", evaluation, `{}`, []string{"Authorization", "Bearer nope"}, 401},
		{"oversized body", evaluation, `{"context":{"pad":"` + strings.Repeat("x", 5000) + `"}}`, nil, 413},
		{"oversized batch", evaluations, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"evaluations":[` + strings.Repeat(`{"resource":{"type":"record","id":"r"}},`, 10) + `{}]}`, nil, 413},
		{"unknown semantic", evaluations, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"options":{"evaluations_semantic":"sometimes"}}`, nil, 400},
		{"evaluations not an array", evaluations, `{"evaluations":{}}`, nil, 400},
		{"subject search without action", searchSubj, `{"subject":{"type":"user"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"subject search, resource without id", searchSubj, `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record"}}`, nil, 400},
		{"resource search without subject", searchRes, `{"action":{"name":"read"},"resource":{"type":"record"}}`, nil, 400},
		{"resource search, subject without id", searchRes, `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record"}}`, nil, 400},
		{"action search without resource", searchAct, `{"subject":{"type":"user","id":"alice"}}`, nil, 400},
		{"action search, subject without id", searchAct, `{"subject":{"type":"user"},"resource":{"type":"record","id":"record-1"}}`, nil, 400},
		{"negative page limit", searchRes, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"},"page":{"limit":-1}}`, nil, 400},
		{"foreign page token", searchRes, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"},"page":{"token":"abc"}}`, nil, 400},
	} {
		r := ts.authzen(t, c.path, c.body, c.headers...)
		if r.status != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.what, r.status, c.want, r.body)
			continue
		}
		if strings.TrimSpace(r.body) == "" {
			t.Errorf("%s: %d without a message", c.what, r.status)
		}
		if c.want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate", c.what)
		}
	}
}

func TestAuthZENEvaluations(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, authzenFixture...)
	for _, c := range []struct {
		what, body string
		want       []bool
	}{
		{"defaults for subject and action", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"}}]}`, []bool{true, false}},
		{"fixture decisions in order", `{"subject":{"type":"user","id":"bob"},"resource":{"type":"record","id":"record-1"},"evaluations":[{"action":{"name":"read"}},{"action":{"name":"write"}}]}`, []bool{true, false}},
		{"no defaults", `{"evaluations":[{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}},{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}]}`, []bool{true, false}},
		{"context inherited and overridden", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"context":{"time":"2025-06-27T18:03-07:00"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"},"context":{"time":"2025-06-27T19:00-07:00","source":"batch-override"}}]}`, []bool{true, false}},
		{"an empty item inherits everything", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"},"evaluations":[{},{"resource":{"type":"record","id":"record-2"}}]}`, []bool{true, false}},
		{"an incomplete item is a deny in place", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"execute_all"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{}]}`, []bool{true, false}},
		{"execute_all", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"execute_all"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"}},{"resource":{"type":"record","id":"record-3"}}]}`, []bool{true, false, true}},
		{"deny_on_first_deny", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"}},{"resource":{"type":"record","id":"record-3"}}]}`, []bool{true, false}},
		{"permit_on_first_permit", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"permit_on_first_permit"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"}},{"resource":{"type":"record","id":"record-3"}}]}`, []bool{true}},
		{"permit_on_first_permit, denies first", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"permit_on_first_permit"},"evaluations":[{"resource":{"type":"record","id":"record-2"}},{"resource":{"type":"record","id":"record-3"}},{"resource":{"type":"record","id":"record-1"}}]}`, []bool{false, true}},
	} {
		r := ts.authzen(t, evaluations, c.body)
		if got := decisions(t, r); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v (%s)", c.what, got, c.want, r.body)
		}
	}
	r := ts.authzen(t, evaluations, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{}]}`)
	if !strings.Contains(r.body, `"status":400`) {
		t.Errorf("an incomplete item's context does not say why: %s", r.body)
	}
	r = ts.authzen(t, evaluations, `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"resource":{"type":"record","id":"record-2"}}]}`)
	if !strings.Contains(r.body, `"reason":"deny_on_first_deny"`) {
		t.Errorf("deny_on_first_deny's deny without its reason: %s", r.body)
	}
	// Without items, or with none, the request is a single evaluation.
	for _, body := range []string{
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"evaluations":[]}`,
	} {
		r := ts.authzen(t, evaluations, body)
		if r.status != 200 || r.json["decision"] != true {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

func TestAuthZENSearch(t *testing.T) {
	ts := startServer(t)
	ts.seed(t, append(authzenFixture, "record:record-4#reader@user:carol", "record:record-5#reader@user:carol", "record:record-6#reader@user:carol")...)
	// S1, with context, and with a subject id that must be ignored.
	for _, body := range []string{
		`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
		`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":{"time":"2025-06-27T18:03-07:00","ip":"192.168.1.1"}}`,
		`{"subject":{"type":"user","id":"zed"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
	} {
		if got := results(t, ts.authzen(t, searchSubj, body), "id"); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Errorf("subject search %s: %v", body, got)
		}
	}
	// S2, and with a resource id that must be ignored.
	for _, body := range []string{
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}}`,
		`{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
	} {
		if got := results(t, ts.authzen(t, searchRes, body), "id"); !slices.Equal(got, []string{"record-1", "record-3"}) {
			t.Errorf("resource search %s: %v", body, got)
		}
	}
	// S3.
	if got := results(t, ts.authzen(t, searchAct, `{"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"},"context":{"time":"x"}}`), "name"); !slices.Equal(got, []string{"owner", "read", "write", "delete"}) {
		t.Errorf("action search: %v", got)
	}
	// Unknown ids and types: no results, not an error.
	for path, body := range map[string]string{
		searchAct:  `{"subject":{"type":"user","id":"nonexistent-user"},"resource":{"type":"record","id":"record-1"}}`,
		searchSubj: `{"subject":{"type":"spaceship"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
		searchRes:  `{"subject":{"type":"user","id":"alice"},"action":{"name":"fly"},"resource":{"type":"record"}}`,
	} {
		r := ts.authzen(t, path, body)
		if got := results(t, r, "id"); len(got) != 0 || !strings.Contains(r.body, `"results":[]`) {
			t.Errorf("%s %s: %s", path, body, r.body)
		}
	}

	// Pagination: pages of two until next_token is empty; the token
	// refuses a changed request.
	page := func(path, body string, field string) []string {
		var all []string
		token := ""
		for range 10 {
			b := strings.TrimSuffix(body, "}") + `,"page":{"limit":2` + map[bool]string{true: `,"token":"` + token + `"`}[token != ""] + `}}`
			r := ts.authzen(t, path, b)
			all = append(all, results(t, r, field)...)
			p, ok := r.json["page"].(map[string]any)
			if !ok {
				t.Fatalf("%s: no page object: %s", path, r.body)
			}
			token, _ = p["next_token"].(string)
			if token == "" {
				return all
			}
			changed := strings.TrimSuffix(body, "}") + `,"page":{"limit":3,"token":"` + token + `"}}`
			if r := ts.authzen(t, path, changed); r.status != 400 {
				t.Errorf("%s: a token with a changed request: %d %s", path, r.status, r.body)
			}
		}
		t.Fatalf("%s: pagination never ended", path)
		return nil
	}
	if got := page(searchRes, `{"subject":{"type":"user","id":"carol"},"action":{"name":"read"},"resource":{"type":"record"}}`, "id"); !slices.Equal(got, []string{"record-4", "record-5", "record-6"}) {
		t.Errorf("paged resource search: %v", got)
	}
	if got := page(searchSubj, `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, "id"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("paged subject search: %v", got)
	}
	if got := page(searchAct, `{"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"}}`, "name"); !slices.Equal(got, []string{"owner", "read", "write", "delete"}) {
		t.Errorf("paged action search: %v", got)
	}
}

func TestAuthZENMetadata(t *testing.T) {
	ts := startServer(t)
	res, err := ts.http.Get(ts.url + "/.well-known/authzen-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]string
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || json.NewDecoder(res.Body).Decode(&doc) != nil {
		t.Fatalf("metadata: %d %v", res.StatusCode, res.Header)
	}
	if doc["policy_decision_point"] != ts.url || doc["access_evaluation_endpoint"] != ts.url+evaluation ||
		doc["access_evaluations_endpoint"] != ts.url+evaluations || doc["search_subject_endpoint"] != ts.url+searchSubj ||
		doc["search_resource_endpoint"] != ts.url+searchRes || doc["search_action_endpoint"] != ts.url+searchAct {
		t.Errorf("metadata: %v", doc)
	}
}
