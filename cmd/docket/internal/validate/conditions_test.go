package validate

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/condition"
)

// designFile is the validation file of the language design, with a clock,
// a default context, checks with their own context and conditional
// assertions.
const designFile = `schema: |
  type user
  type team {
    relation member: user
  }
  condition under_review(now timestamp, review_ends timestamp) {
    now < review_ends
  }
  condition from_network(client_ip ipaddress, allowed_cidr string) {
    client_ip.in_cidr(allowed_cidr)
  }
  type case {
    relation assignee: user
    relation deny_list: user | team#member | user with under_review
    relation viewer = assignee - deny_list
    relation viewer_on_site: user with from_network
    relation temporary: user with expiration
  }
now: 2026-12-01T00:00:00Z
context: {client_ip: "10.1.2.3"}
tuples:
  - case:1#assignee@user:bob
  - case:1#assignee@user:ana
  - case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}]
  - case:1#viewer_on_site@user:eve[from_network:{"allowed_cidr":"10.1.0.0/16"}]
  - case:1#viewer_on_site@user:ana[from_network:{"allowed_cidr":"192.168.0.0/16"}]
  - case:1#temporary@user:old[expiration:2026-11-30T00:00:00Z]
  - case:1#temporary@user:new[expiration:2026-12-02T00:00:00Z]
assertions:
  allowed:
    - case:1#viewer@user:ana
    - 'case:1#viewer@user:bob with {"now": "2027-02-01T00:00:00Z"}'
    - case:1#viewer_on_site@user:eve
    - case:1#temporary@user:new
  denied:
    - 'case:1#viewer@user:bob with {"now": "2027-01-01T00:00:00Z"}'
    - case:1#viewer_on_site@user:ana
    - case:1#temporary@user:old
  conditional:
    - case:1#viewer@user:bob
    - 'case:1#viewer_on_site@user:eve with {"client_ip": null}'
expected:
  subjects:
    case:1#viewer@user: {allowed: [user:ana], conditional: [user:bob]}
    case:1#viewer_on_site@user: [user:eve]
  resources:
    user:bob: {case#viewer: {allowed: [], conditional: [case:1]}}
`

func TestValidationFileWithConditions(t *testing.T) {
	rep, err := RunSource(context.Background(), "design.yaml", []byte(designFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 || rep.Passed != 12 {
		t.Fatalf("passed %d, failures %+v", rep.Passed, rep.Failures)
	}
	// Moving the clock past the expiry turns the temporary grant off.
	later := strings.Replace(designFile, "now: 2026-12-01T00:00:00Z", "now: 2026-12-03T00:00:00Z", 1)
	if rep, err = RunSource(context.Background(), "later.yaml", []byte(later), nil); err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Assertion, "case:1#temporary@user:new") || rep.Failures[0].Got != "denied" {
		t.Fatalf("after the expiry: %+v", rep.Failures)
	}
	// A conditional answer is a failure of an allowed or denied assertion.
	wrong := strings.Replace(designFile, "  conditional:\n    - case:1#viewer@user:bob\n", "  conditional:\n", 1)
	wrong = strings.Replace(wrong, "    - case:1#viewer@user:ana\n", "    - case:1#viewer@user:ana\n    - case:1#viewer@user:bob\n", 1)
	if rep, err = RunSource(context.Background(), "wrong.yaml", []byte(wrong), nil); err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Got != "conditional (missing now)" {
		t.Fatalf("a conditional answer asserted allowed: %+v", rep.Failures)
	}
}

func TestValidationFileConditionErrors(t *testing.T) {
	for _, c := range []struct{ edit, with, want string }{
		{"now: 2026-12-01T00:00:00Z", "now: tomorrow", "now: \"tomorrow\" is not an RFC 3339 time"},
		{"now: 2026-12-01T00:00:00Z", "now: [1]", "now must be a time"},
		{`context: {client_ip: "10.1.2.3"}`, "context: [1]", "context must be a mapping"},
		{`context: {client_ip: "10.1.2.3"}`, "context: {client_ip: 5}", ""}, // a wrong type is an error of the check that uses it
		{`'case:1#viewer@user:bob with {"now": "2027-02-01T00:00:00Z"}'`, `'case:1#viewer@user:bob with {"now": }'`, "context:"},
		{"  - case:1#assignee@user:ana\n", "  - case:1#assignee@user:ana\n  - case:1#deny_list@user:bob[under_review]\n", "given again with another condition or expiry (first at line"},
		{"  - case:1#assignee@user:ana\n", "  - case:1#assignee@user:ana[under_review]\n", "does not allow subject user with under_review"},
	} {
		src := strings.Replace(designFile, c.edit, c.with, 1)
		if src == designFile {
			t.Fatalf("edit %q did not apply", c.edit)
		}
		_, err := RunSource(context.Background(), "bad.yaml", []byte(src), nil)
		if err == nil {
			t.Errorf("%s: accepted", c.with)
			continue
		}
		if c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.with, err, c.want)
		}
	}
}

func TestOverridesReplaceClockAndMergeContext(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/design.yaml"
	if err := os.WriteFile(path, []byte(designFile), 0o644); err != nil {
		t.Fatal(err)
	}
	ip, err := condition.DecodeContext([]byte(`{"client_ip":"192.168.1.1"}`), condition.MaxRequestContextBytes)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunWith(context.Background(), path, nil, Overrides{Context: ip})
	if err != nil {
		t.Fatal(err)
	}
	// eve's network no longer matches and ana's now does, for the checks
	// and for the lookup alike.
	var got []string
	for _, f := range rep.Failures {
		got = append(got, f.Assertion)
	}
	if all := strings.Join(got, "\n"); len(got) != 3 || !strings.Contains(all, "viewer_on_site@user:eve") || !strings.Contains(all, "viewer_on_site@user:ana") ||
		!strings.Contains(all, "subjects of case:1#viewer_on_site@user") {
		t.Errorf("with client_ip overridden, failures %q", got)
	}
	rep, err = RunWith(context.Background(), path, nil, Overrides{Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Assertion, "temporary@user:new") {
		t.Errorf("with the clock overridden, failures %+v", rep.Failures)
	}
}

func TestExpectationMapForm(t *testing.T) {
	const file = `schema: |
  type user
  type doc {
    relation viewer: user | user with expiration
  }
now: 2027-01-01T00:00:00Z
tuples:
  - doc:1#viewer@user:a
  - doc:1#viewer@user:b[expiration:2026-12-31T00:00:00Z]
expected:
  subjects:
    doc:1#viewer: {allowed: [user:a], conditional: []}
  resources:
    user:a: {doc#viewer: {allowed: [doc:1]}}
`
	rep, err := RunSource(context.Background(), "map.yaml", []byte(file), nil)
	if err != nil || rep.Passed != 2 || len(rep.Failures) != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	wrong := strings.Replace(file, "{allowed: [user:a], conditional: []}", "{allowed: [user:a, user:b]}", 1)
	if rep, err = RunSource(context.Background(), "map.yaml", []byte(wrong), nil); err != nil || len(rep.Failures) != 1 {
		t.Fatalf("an expired member listed as allowed: %+v %v", rep, err)
	}
	// The conditional list is exhaustive too: an expired member is not
	// conditional.
	wrong = strings.Replace(file, "{allowed: [user:a], conditional: []}", "{allowed: [user:a], conditional: [user:b]}", 1)
	if rep, err = RunSource(context.Background(), "map.yaml", []byte(wrong), nil); err != nil || len(rep.Failures) != 1 ||
		!strings.Contains(rep.Failures[0].Got, "conditional [] (missing user:b)") {
		t.Fatalf("an expired member listed as conditional: %+v %v", rep, err)
	}
	src := strings.Replace(file, "{allowed: [user:a], conditional: []}", "{allowed: [user:a], maybe: []}", 1)
	if _, err := RunSource(context.Background(), "map.yaml", []byte(src), nil); err == nil {
		t.Error("an unknown key of an expectation accepted")
	}
}
