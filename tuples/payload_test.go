package tuples

import (
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
)

func TestParseWithPayload(t *testing.T) {
	exp := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in, out string
		want    Payload
	}{
		{"case:1#deny_list@user:bob", "case:1#deny_list@user:bob", Payload{}},
		{"case:1#deny_list@user:bob[under_review]", "", Payload{Condition: "under_review"}},
		{`case:1#deny_list@user:bob[under_review:{"review_ends": "2027-01-15T00:00:00Z", "n": null}]`,
			`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}]`,
			Payload{Condition: "under_review", Context: `{"review_ends":"2027-01-15T00:00:00Z"}`}},
		{"case:1#deny_list@user:bob[expiration:2027-01-15T01:00:00+01:00]",
			"case:1#deny_list@user:bob[expiration:2027-01-15T00:00:00Z]", Payload{Expires: exp}},
		{`case:1#deny_list@team:east#member[c:{"a":[1,"]"]}][expiration:2027-01-15T00:00:00Z]`, "",
			Payload{Condition: "c", Context: `{"a":[1,"]"]}`, Expires: exp}},
		{`case:1#deny_list@user:*[c:{}]`, `case:1#deny_list@user:*[c]`, Payload{Condition: "c"}},
		{"user:ana@example.org#team@team:east[c]", "", Payload{Condition: "c"}},
	} {
		tp, p, err := ParseWithPayload(tc.in)
		if err != nil {
			t.Errorf("ParseWithPayload(%q): %v", tc.in, err)
			continue
		}
		if !p.Equal(tc.want) {
			t.Errorf("ParseWithPayload(%q) payload = %+v, want %+v", tc.in, p, tc.want)
		}
		out := tc.out
		if out == "" {
			out = tc.in
		}
		if got := tp.String() + p.String(); got != out {
			t.Errorf("ParseWithPayload(%q) prints %q, want %q", tc.in, got, out)
		}
	}
}

func TestParseWithPayloadErrors(t *testing.T) {
	for in, want := range map[string]string{
		"case:1#v@user:bob[":                                    "column 18: the `[` is never closed",
		"case:1#v@user:bob[c":                                   "never closed",
		"case:1#v@user:bob[c:{]":                                "column 21: the context after `c:` is not valid JSON",
		"case:1#v@user:bob[c:[1]]":                              "context must be a JSON object",
		"case:1#v@user:bob[c:{\"a\":1} x]":                      "expected `]` after the context of c",
		"case:1#v@user:bob[c][d]":                               "two conditions",
		"case:1#v@user:bob[expiration:2027-01-15]":              "column 30: expiration \"2027-01-15\" is not an RFC 3339 time",
		"case:1#v@user:bob[expiration:tomorrow]":                "not an RFC 3339 time",
		"case:1#v@user:bob[expiration]":                         "expected `:` and a time",
		"case:1#v@user:bob[expiration:2027-01-15T00:00:00Z][c]": "the condition comes before the expiration",
		"case:1#v@user:bob[expiration:2027-01-15T00:00:00Z][expiration:2027-01-15T00:00:00Z]": "two expirations",
		"case:1#v@user:bob[Bad]": "in condition name",
		"case:1#v@user:bob[c]x":  "unexpected 'x' after `]`",
		"case:1#v@user:b]ob":     "ids may not contain `[` or `]`",
		"case:1[x]#v@user:bob":   "ids may not contain `[` or `]`",
		"case:1#v@user:bob[c:{\"a\":\"" + strings.Repeat("x", 5000) + "\"}]": "more than the limit of 4096",
	} {
		_, _, err := ParseWithPayload(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseWithPayload(%q) = %v, want %q", clip(in), err, want)
		}
	}
}

func TestValidateWithPayload(t *testing.T) {
	s, err := schema.Load("s.rebac", []byte(`type user
type team {
  relation member: user
}
condition under_review(now timestamp, review_ends timestamp) { now < review_ends }
condition other(x int) { x > 1 }
type case {
  relation assignee: user | user with expiration
  relation deny_list: user | team#member | user with under_review and expiration
  relation restricted: user with under_review
}
`))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // in the past: accepted
	ok := []struct {
		tuple string
		p     Payload
	}{
		{"case:1#assignee@user:a", Payload{}},
		{"case:1#assignee@user:a", Payload{Expires: exp}},
		{"case:1#deny_list@user:a", Payload{Condition: "under_review", Context: `{"review_ends":"2027-01-15T00:00:00Z"}`, Expires: exp}},
		{"case:1#deny_list@user:a", Payload{Condition: "under_review"}},
		{"case:1#restricted@user:a", Payload{Condition: "under_review"}},
	}
	for _, tc := range ok {
		tp, _ := Parse(tc.tuple)
		if err := ValidateWithPayload(tp, tc.p, s); err != nil {
			t.Errorf("%s%s: %v", tc.tuple, tc.p, err)
		}
	}
	bad := []struct {
		tuple string
		p     Payload
		want  string
	}{
		{"case:1#assignee@user:a", Payload{Condition: "under_review"}, "does not allow subject user with under_review; it allows user | user with expiration"},
		{"case:1#deny_list@team:x#member", Payload{Expires: exp}, "does not allow subject team#member with expiration"},
		{"case:1#deny_list@user:a", Payload{Condition: "other"}, "does not allow subject user with other"},
		{"case:1#deny_list@user:a", Payload{Condition: "nope"}, `unknown condition "nope"`},
		{"case:1#deny_list@user:a", Payload{Condition: "under_review", Context: `{"review_end":"2027-01-15T00:00:00Z"}`}, "has no parameter review_end (it has: now, review_ends)"},
		{"case:1#deny_list@user:a", Payload{Condition: "under_review", Context: `{"review_ends":"soon"}`}, "parameter review_ends: expected timestamp"},
		{"case:1#deny_list@user:a", Payload{Context: `{"a":1}`}, "context but no condition"},
		{"case:1#restricted@user:a", Payload{}, "add the condition: [under_review]"},
	}
	for _, tc := range bad {
		tp, _ := Parse(tc.tuple)
		err := ValidateWithPayload(tp, tc.p, s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s%s: %v, want %q", tc.tuple, tc.p, err, tc.want)
		}
		if err == nil {
			continue
		}
		if Validate(tp, s) == nil && tc.p.IsZero() {
			t.Errorf("Validate accepts %s, which ValidateWithPayload refuses", tc.tuple)
		}
	}
}

func TestPayloadExpiry(t *testing.T) {
	at := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	p := Payload{Expires: at}
	if p.ExpiredAt(at.Add(-time.Nanosecond)) || !p.ExpiredAt(at) || !p.ExpiredAt(at.Add(time.Hour)) {
		t.Error("a tuple exists strictly before its expiry and not at or after it")
	}
	if (Payload{}).ExpiredAt(at) {
		t.Error("a tuple without expiry expired")
	}
}

// FuzzParseWithPayload: whatever parses prints back to a text that parses
// to the same tuple and payload.
func FuzzParseWithPayload(f *testing.F) {
	for _, s := range []string{
		"case:1#deny_list@user:bob[under_review]",
		`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}]`,
		"case:1#deny_list@user:bob[expiration:2027-01-15T00:00:00+05:30]",
		`case:1#d@team:e#member[c:{"a":[1,"]",{"b":null}]}][expiration:2027-01-15T00:00:00.5Z]`,
		"case:1#d@user:bob[c][",
		"case:1#d@user:b[ob",
		`case:1#d@user:bob[c:{"a":1e999}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, p, err := ParseWithPayload(s)
		if err != nil {
			return
		}
		text := tp.String() + p.String()
		tp2, p2, err := ParseWithPayload(text)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, text, err)
		}
		if tp2 != tp || !p2.Equal(p) {
			t.Fatalf("%q printed as %q parses to %v %+v, want %v %+v", s, text, tp2, p2, tp, p)
		}
		if msg := checkSyntax(tp); msg != "" {
			t.Fatalf("accepted %q, which checkSyntax refuses: %s", s, msg)
		}
	})
}

func TestPayloadEvaluate(t *testing.T) {
	s, err := schema.Load("s.rebac", []byte(`type user
condition under_review(now timestamp, review_ends timestamp) { now < review_ends }
condition from_network(client_ip ipaddress, allowed_cidr string) { client_ip.in_cidr(allowed_cidr) }
type case {
  relation deny_list: user | user with under_review and expiration
  relation on_site: user with from_network
}
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ctx := func(js string) condition.Context {
		if js == "" {
			return nil
		}
		c, err := condition.DecodeContext([]byte(js), condition.MaxRequestContextBytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	review := Payload{Condition: "under_review", Context: `{"review_ends":"2027-01-15T00:00:00Z"}`}
	cases := []struct {
		name    string
		p       Payload
		req     string
		now     time.Time
		want    condition.Outcome
		missing string
	}{
		{"plain", Payload{}, "", clock, condition.Allowed, ""},
		{"not yet expired", Payload{Expires: clock.Add(time.Second)}, "", clock, condition.Allowed, ""},
		{"expires at the clock", Payload{Expires: clock}, "", clock, condition.Denied, ""},
		{"under review", review, `{"now":"2027-01-01T00:00:00Z"}`, clock, condition.Allowed, ""},
		{"review over", review, `{"now":"2027-02-01T00:00:00Z"}`, clock, condition.Denied, ""},
		{"now missing", review, `{"client_ip":"10.0.0.1"}`, clock, condition.Conditional, "now"},
		{"stored wins", review, `{"now":"2027-01-01T00:00:00Z","review_ends":"2026-01-01T00:00:00Z"}`, clock, condition.Allowed, ""},
		{"expired beats condition", Payload{Condition: "under_review", Context: review.Context, Expires: clock.Add(-time.Hour)},
			`{"now":"2027-01-01T00:00:00Z"}`, clock, condition.Denied, ""},
		{"network in", Payload{Condition: "from_network", Context: `{"allowed_cidr":"10.1.0.0/16"}`}, `{"client_ip":"10.1.2.3"}`, clock, condition.Allowed, ""},
		{"network null", Payload{Condition: "from_network", Context: `{"allowed_cidr":"10.1.0.0/16"}`}, `{"client_ip":null}`, clock, condition.Conditional, "client_ip"},
	}
	for _, tc := range cases {
		got, err := tc.p.Evaluate(s, ctx(tc.req), tc.now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.Outcome != tc.want || strings.Join(got.Missing, ",") != tc.missing {
			t.Errorf("%s: %v %v, want %v %s", tc.name, got.Outcome, got.Missing, tc.want, tc.missing)
		}
	}
	if _, err := review.Evaluate(s, ctx(`{"now":"yesterday"}`), clock); err == nil ||
		!strings.Contains(err.Error(), "condition under_review: parameter now: expected timestamp") {
		t.Errorf("wrong-typed request value: %v", err)
	}
	if _, err := (Payload{Condition: "gone"}).Evaluate(s, nil, clock); err == nil {
		t.Error("an undeclared condition evaluates")
	}
}
