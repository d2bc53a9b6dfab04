package tuples

import (
	"strings"
	"testing"
)

func TestJSONLinePayloadRoundTrip(t *testing.T) {
	for _, text := range []string{
		"doc:1#viewer@user:ana",
		"doc:1#viewer@user:ana[tier]",
		`doc:1#viewer@user:ana[tier:{"level":2}]`,
		"doc:1#viewer@team:t#member[expiration:2027-01-15T00:00:00Z]",
		`case:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-15T00:00:00Z"}][expiration:2027-01-15T00:00:00.5Z]`,
	} {
		tu, _, err := ParseWithPayload(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if tu.Text() != text {
			t.Errorf("Text() = %s, want %s", tu.Text(), text)
		}
		line, err := MarshalJSONLine(tu)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSONLine(line)
		if err != nil {
			t.Fatalf("%s: reading back %s: %v", text, line, err)
		}
		if back.Key() != tu.Key() || !back.Payload.Equal(tu.Payload) {
			t.Errorf("%s: JSON line %s read back as %s", text, line, back.Text())
		}
	}
	// An offset is kept as the same instant, written in UTC.
	tu, err := ParseJSONLine([]byte(`{"object":"doc:1","relation":"viewer","subject":"user:ana","expiration":"2027-01-15T01:00:00+01:00"}`))
	if err != nil || tu.Text() != "doc:1#viewer@user:ana[expiration:2027-01-15T00:00:00Z]" {
		t.Errorf("offset expiry: %s %v", tu.Text(), err)
	}
}

func TestJSONLinePayloadErrors(t *testing.T) {
	const head = `{"object":"doc:1","relation":"viewer","subject":"user:ana",`
	for _, c := range []struct{ line, want string }{
		{head + `"context":{"level":2}}`, `"context" without "condition"`},
		{head + `"condition":"tier","context":[1]}`, `"context" must be a JSON object`},
		{head + `"condition":"tier","context":"x"}`, `"context" must be a JSON object`},
		{head + `"condition":"Tier"}`, `"condition": unexpected 'T'`},
		{head + `"condition":""}`, `"condition" is empty`},
		{head + `"condition":7}`, `"condition" must be a string, not a number`},
		{head + `"expiration":"tomorrow"}`, `"expiration": expiration "tomorrow" is not an RFC 3339 time`},
		{head + `"expiration":"2027-01-15"}`, `not an RFC 3339 time`},
		{head + `"condition":"tier","context":{"level":2}`, "not closed"},
		{head + `"condition":"tier","condition":"tier"}`, `field "condition" given twice`},
		{head + `"condition":"tier","context":{"big":"` + strings.Repeat("x", 5000) + `"}}`, "more than the limit of 4096"},
	} {
		_, err := ParseJSONLine([]byte(c.line))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.90s: error %v, want %q", c.line, err, c.want)
		}
	}
}
