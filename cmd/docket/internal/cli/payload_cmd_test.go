package cli

import (
	"strings"
	"testing"

	"github.com/docketdb/docket/store/memory"
)

func TestTuplesWithPayloads(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.rebac", conditionSchema)
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runOn(t, s, "", "schema", "write", p).want(t, 0)

	deny := `case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-01-15T00:00:00Z]`
	runOn(t, s, "", "tuple", "write", deny, "case:1#deny_list@user:ana[under_review][expiration:2020-01-01T00:00:00Z]").want(t, 0)
	// Read and export show the payload; the tuple expired in 2020 is gone.
	r := runOn(t, s, "", "tuple", "read", "case:1")
	r.want(t, 0)
	if r.stdout != deny+"\n" {
		t.Errorf("read printed %q, want the live tuple with its payload", r.stdout)
	}
	r = runOn(t, s, "", "tuple", "export", "--format", "jsonl")
	r.want(t, 0)
	contains(t, "export", r.stdout, `"condition":"under_review","context":{"review_ends":"2027-01-15T00:00:00Z"},"expiration":"2027-01-15T00:00:00Z"`)
	// Writing it again as it is changes nothing; with another context it
	// replaces the stored one.
	r = runOn(t, s, "", "tuple", "write", deny)
	r.want(t, 0)
	contains(t, "rewrite", r.stdout+r.stderr, "already stored")
	other := strings.Replace(deny, "2027-01-15T00:00:00Z\"}", "2027-02-01T00:00:00Z\"}", 1)
	runOn(t, s, "", "tuple", "write", other).want(t, 0)
	if got := runOn(t, s, "", "tuple", "read", "case:1").stdout; got != other+"\n" {
		t.Errorf("after the replace, read printed %q", got)
	}
	// The change log shows payloads.
	contains(t, "changes", runOn(t, s, "", "tuple", "changes").stdout, "write "+other)

	// Bad input: each a clear error, nothing written.
	before := runOn(t, s, "", "tuple", "export").stdout
	for _, c := range []struct{ arg, want string }{
		{"case:1#assignee@user:eve[under_review]", "does not allow subject user with under_review"},
		{`case:1#deny_list@user:eve[under_review:{"review_ends":5}]`, "review_ends"},
		{`case:1#deny_list@user:eve[under_review:[1]]`, "context"},
		{"case:1#deny_list@user:eve[under_review][expiration:soon]", "not an RFC 3339 time"},
		{`case:1#deny_list@user:eve[under_review:{"x":1}]`, "has no parameter x"},
		{"case:1#deny_list@user:eve[nosuch]", `unknown condition "nosuch"`},
	} {
		r := runOn(t, s, "", "tuple", "write", "case:2#assignee@user:fine", c.arg)
		r.want(t, 2)
		contains(t, c.arg, r.stderr, c.want)
	}
	r = runOn(t, s, "", "tuple", "write", deny, other)
	r.want(t, 2)
	contains(t, "conflict", r.stderr, "argument 1 and argument 2 are both case:1#deny_list@user:bob")
	if after := runOn(t, s, "", "tuple", "export").stdout; after != before {
		t.Errorf("refused writes changed the store:\n%s\nwas:\n%s", after, before)
	}

	// Garbage collection deletes what has expired, and only that.
	r = runOn(t, s, "", "tuple", "gc", "--before", "yesterday")
	r.want(t, 2)
	contains(t, "gc --before", r.stderr, "--before", "RFC 3339")
	r = runOn(t, s, "", "tuple", "gc", "--before", "2026-01-01T00:00:00Z")
	r.want(t, 0)
	contains(t, "gc", r.stdout, "deleted 1 expired tuple ")
	r = runOn(t, s, "", "tuple", "gc", "--before", "2026-01-01T00:00:00Z", "-o", "json")
	r.want(t, 0)
	contains(t, "gc json", r.stdout, `"deleted": 0`)
	if got := runOn(t, s, "", "tuple", "read", "case:1").stdout; got != other+"\n" {
		t.Errorf("gc changed what is read: %q", got)
	}
}

func TestCheckWithConditionsAndClock(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.rebac", conditionSchema)
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runOn(t, s, "", "schema", "write", p).want(t, 0)
	runOn(t, s, "", "tuple", "write", "case:1#assignee@user:bob", "case:1#assignee@user:ana",
		`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-02-01T00:00:00Z]`).want(t, 0)

	// No `now` parameter: the deny entry is conditional, so is the answer.
	r := runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z")
	r.want(t, 3)
	contains(t, "conditional check", r.stdout, "conditional (missing now)")
	// Its explanation says a condition lacks a parameter, not that a
	// cycle left it open.
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "--explain")
	r.want(t, 3)
	contains(t, "conditional explanation", r.stdout, "case:1#viewer@user:bob conditional (missing now):", "undetermined: it rests on a condition that lacks now")
	if strings.Contains(r.stdout, "cycle") {
		t.Errorf("a conditional answer explained as a cycle:\n%s", r.stdout)
	}
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "-o", "json")
	r.want(t, 3)
	contains(t, "conditional json", r.stdout, `"conditional": true`, `"missing": [`, `"valid_until": "2027-02-01T00:00:00Z"`)
	// Under review: denied; review over: allowed.
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "--context", `{"now":"2027-01-10T00:00:00Z"}`)
	r.want(t, 1)
	contains(t, "under review", r.stdout, "denied")
	ctxFile := writeFile(t, dir, "ctx.json", `{"now":"2027-01-20T00:00:00Z"}`)
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-01-01T00:00:00Z", "--context-file", ctxFile)
	r.want(t, 0)
	contains(t, "review over", r.stdout, "allowed")
	// After the entry expires it no longer exists: allowed without any
	// parameter.
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "--now", "2027-02-01T00:00:00Z")
	r.want(t, 0)
	// Mixed: one denied wins the exit status over a conditional one.
	r = runOn(t, s, "", "check", "case:1#viewer@user:bob", "case:1#viewer@user:eve", "--now", "2027-01-01T00:00:00Z")
	r.want(t, 1)
	contains(t, "mixed", r.stdout, "case:1#viewer@user:bob conditional (missing now)", "case:1#viewer@user:eve denied")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--context", `[1]`}, "--context"},
		{[]string{"--context", `{"now":5}`}, "now"},
		{[]string{"--context", `{not json`}, "--context"},
		{[]string{"--now", "yesterday"}, `--now: "yesterday" is not an RFC 3339 time (like 2027-01-15T00:00:00Z); write --now 2027-01-15T00:00:00Z`},
		{[]string{"--context", "{}", "--context-file", ctxFile}, "both --context and --context-file"},
		{[]string{"--context-file", dir + "/none.json"}, "--context-file"},
	} {
		r := runOn(t, s, "", append([]string{"check", "case:1#viewer@user:bob"}, c.args...)...)
		r.want(t, 2)
		contains(t, strings.Join(c.args, " "), r.stderr, c.want)
	}
	// --now on the reads that take a clock.
	r = runOn(t, s, "", "expand", "case:1#deny_list", "--now", "2027-01-01T00:00:00Z")
	r.want(t, 0)
	contains(t, "expand", r.stdout, `user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-02-01T00:00:00Z]`)
	r = runOn(t, s, "", "expand", "case:1#deny_list", "--now", "2027-03-01T00:00:00Z")
	r.want(t, 0)
	if strings.Contains(r.stdout, "user:bob") {
		t.Errorf("expand after the expiry shows the entry:\n%s", r.stdout)
	}
	runOn(t, s, "", "expand", "case:1#deny_list", "--now", "soon").want(t, 2)
}

func TestValidateNowOverridesTheFiles(t *testing.T) {
	under := "../../../../schemas/casebook/review_under_way.yaml"
	run(t, "validate", under).want(t, 0)
	// After the review the deny-list entries are gone: its denials fail.
	r := run(t, "validate", "--now", "2027-02-01T00:00:00Z", under)
	r.want(t, 1)
	contains(t, "validate --now", r.stdout, "case:k1#view@user:wes")
	run(t, "validate", "--now", "later", under).want(t, 2)
	run(t, "validate", "--context", "[]", under).want(t, 2)
}

func TestLookupsWithConditions(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.rebac", conditionSchema)
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runOn(t, s, "", "schema", "write", p).want(t, 0)
	runOn(t, s, "", "tuple", "write", "case:1#assignee@user:bob", "case:1#assignee@user:ana", "case:2#assignee@user:bob",
		"case:3#assignee@user:bob", "case:3#deny_list@user:bob",
		`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-02-01T00:00:00Z]`).want(t, 0)
	clock := []string{"--now", "2027-01-01T00:00:00Z"}

	// Without `now`, bob's view of case:1 is conditional: listed apart,
	// exit status 3.
	r := runOn(t, s, "", append([]string{"lookup", "resources", "user:bob", "case#viewer"}, clock...)...)
	r.want(t, 3)
	if r.stdout != "case:1 conditional (missing now)\ncase:2\n" {
		t.Errorf("lookup resources printed %q", r.stdout)
	}
	r = runOn(t, s, "", append([]string{"lookup", "resources", "user:bob", "case#viewer", "-o", "json"}, clock...)...)
	r.want(t, 3)
	contains(t, "resources json", r.stdout, `"resources": [
    "case:2"
  ]`, `"conditional": [
    {
      "resource": "case:1",
      "missing": [
        "now"
      ]
    }
  ]`)
	// Pages of one count both kinds.
	r = runOn(t, s, "", append([]string{"lookup", "resources", "user:bob", "case#viewer", "--limit", "1"}, clock...)...)
	r.want(t, 3)
	if r.stdout != "case:1 conditional (missing now)\n" || !strings.Contains(r.stderr, "--cursor ") {
		t.Fatalf("first page: %q %q", r.stdout, r.stderr)
	}
	cursor := strings.TrimSpace(r.stderr[strings.Index(r.stderr, "--cursor ")+len("--cursor "):])
	r = runOn(t, s, "", append([]string{"lookup", "resources", "user:bob", "case#viewer", "--limit", "1", "--cursor", cursor}, clock...)...)
	r.want(t, 0)
	if r.stdout != "case:2\n" || r.stderr != "" {
		t.Errorf("second page: %q %q", r.stdout, r.stderr)
	}
	// The review over (the request's `now`) or still on, and after the
	// entry expired.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--context", `{"now":"2027-01-20T00:00:00Z"}`}, 0, "case:1\ncase:2\n"},
		{[]string{"--context", `{"now":"2027-01-10T00:00:00Z"}`}, 0, "case:2\n"},
		{[]string{"--now", "2027-02-01T00:00:00Z"}, 0, "case:1\ncase:2\n"},
	} {
		args := append([]string{"lookup", "resources", "user:bob", "case#viewer"}, c.args...)
		if c.args[0] != "--now" {
			args = append(args, clock...)
		}
		r := runOn(t, s, "", args...)
		r.want(t, c.code)
		if r.stdout != c.want {
			t.Errorf("%v printed %q, want %q", c.args, r.stdout, c.want)
		}
	}

	r = runOn(t, s, "", append([]string{"lookup", "subjects", "case:1#viewer"}, clock...)...)
	r.want(t, 3)
	if r.stdout != "user:ana\nuser:bob conditional (missing now)\n" {
		t.Errorf("lookup subjects printed %q", r.stdout)
	}
	r = runOn(t, s, "", append([]string{"lookup", "subjects", "case:1#viewer", "-o", "json"}, clock...)...)
	r.want(t, 3)
	contains(t, "subjects json", r.stdout, `"subjects": [
    {
      "subject": "user:ana"
    }
  ]`, `"conditional": [
    {
      "subject": "user:bob",
      "conditional": true,
      "missing": [
        "now"
      ]
    }
  ]`)
	r = runOn(t, s, "", append([]string{"lookup", "subjects", "case:1#viewer", "--context", `{"now":"2027-01-20T00:00:00Z"}`}, clock...)...)
	r.want(t, 0)
	if r.stdout != "user:ana\nuser:bob\n" {
		t.Errorf("lookup subjects with now printed %q", r.stdout)
	}
	// Bad parameters are errors naming the flag, as for check.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lookup", "subjects", "case:1#viewer", "--context", `{"now":5}`}, "parameter now: expected timestamp"},
		{[]string{"lookup", "resources", "user:bob", "case#viewer", "--context", "[1]"}, "--context"},
		{[]string{"lookup", "resources", "user:bob", "case#viewer", "--now", "soon"}, "--now"},
	} {
		r := runOn(t, s, "", c.args...)
		r.want(t, 2)
		contains(t, strings.Join(c.args, " "), r.stderr, c.want)
	}
}
