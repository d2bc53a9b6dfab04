package tuples

import (
	"strings"
	"testing"
	"time"

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
