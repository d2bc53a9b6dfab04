package tuples

import "testing"

// FuzzParse: whatever parses prints back to the same text and passes the
// checks of tuples built in code. (store/kv fuzzes the keys of parsed
// tuples.)
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"doc:1#viewer@user:ana",
		"doc:a@b.org#viewer@user:ana@example.org",
		"doc:1#viewer@team:east#member",
		"doc:1#viewer@user:*",
		"doc:urn:x#viewer@user:名前",
		"doc:1#viewer@user:a#b#c",
		"doc:##@@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			return
		}
		if tp.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, tp.String())
		}
		if msg := checkSyntax(tp); msg != "" {
			t.Fatalf("Parse accepted %q, which checkSyntax refuses: %s", s, msg)
		}
	})
}

// FuzzPayloadRoundTrip: whatever parses prints back (Text) to a text that
// parses to the same tuple and payload, and the payload round-trips
// through its stored form and through a JSON line.
func FuzzPayloadRoundTrip(f *testing.F) {
	for _, s := range []string{
		"doc:1#viewer@user:ana[c]",
		`doc:1#viewer@user:ana[c:{"x":1}]`,
		`doc:1#viewer@user:ana[c:{"b":[1,2],"a":{"k":null}}]`,
		"doc:1#viewer@user:ana[expiration:2027-01-15T00:00:00Z]",
		"doc:1#viewer@user:ana[expiration:2027-01-15T01:00:00.5+01:00]",
		`doc:1#viewer@team:t#member[c:{"x":"y"}][expiration:2027-01-15T00:00:00Z]`,
		"doc:1#viewer@user:ana[c",
		"doc:1#viewer@user:ana[c:{]",
		"doc:1#viewer@user:ana[expiration:2027][c]",
		"doc:1#viewer@user:ana[c][c]",
		"doc:1#viewer@user:ana[]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, p, err := ParseWithPayload(s)
		if err != nil {
			return
		}
		again, p2, err := ParseWithPayload(tp.Text())
		if err != nil || again.Key() != tp.Key() || !p2.Equal(p) {
			t.Fatalf("%q printed as %q, which reads back as %v %v (%v)", s, tp.Text(), again.Text(), p2, err)
		}
		stored, err := DecodePayload(AppendPayload(nil, p))
		if err != nil || !stored.Equal(p) {
			t.Fatalf("%q: stored form reads back as %v (%v)", s, stored, err)
		}
		line, err := MarshalJSONLine(tp)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSONLine(line)
		if err != nil || back.Key() != tp.Key() || !back.Payload.Equal(p) {
			t.Fatalf("%q: JSON line %s reads back as %v (%v)", s, line, back.Text(), err)
		}
	})
}

// FuzzDecodePayload: damaged stored payloads are errors, never panics,
// and what decodes encodes back to the same bytes.
func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendPayload(nil, Payload{Condition: "c", Context: `{"x":1}`}))
	f.Add([]byte{payloadVersion | payloadExpiry, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload(b)
		if err != nil {
			return
		}
		if p.IsZero() != (len(b) == 0) {
			t.Fatalf("%x decodes to %v", b, p)
		}
	})
}
