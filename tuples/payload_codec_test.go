package tuples

import (
	"testing"
	"time"
)

func TestPayloadCodecRoundTrip(t *testing.T) {
	exp := time.Date(2027, 1, 15, 0, 0, 0, 123, time.UTC)
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, p := range []Payload{
		{},
		{Condition: "c"},
		{Condition: "under_review", Context: `{"review_ends":"2027-01-15T00:00:00Z"}`},
		{Expires: exp},
		{Expires: far},
		{Condition: "c", Context: `{"a":1}`, Expires: exp},
	} {
		b := AppendPayload(nil, p)
		if len(b) != PayloadLen(p) {
			t.Errorf("%v: PayloadLen %d, encoded %d bytes", p, PayloadLen(p), len(b))
		}
		got, err := DecodePayload(b)
		if err != nil || !got.Equal(p) {
			t.Errorf("%v: round trip gave %v, %v", p, got, err)
		}
		if p.IsZero() != (len(b) == 0) {
			t.Errorf("%v: a plain tuple must store nothing, stored %x", p, b)
		}
	}
}

func TestExpiredValue(t *testing.T) {
	exp := time.Date(2027, 1, 15, 0, 0, 0, 500, time.UTC)
	b := AppendPayload(nil, Payload{Expires: exp})
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{exp.Add(-time.Nanosecond), false},
		{exp, true}, // at the expiry the tuple is gone
		{exp.Add(time.Nanosecond), true},
		{exp.Add(-time.Hour), false},
		{exp.Add(time.Hour), true},
		{time.Time{}, false}, // a raw read sees everything
	} {
		if got := ExpiredValue(b, c.now); got != c.want {
			t.Errorf("ExpiredValue(now=%v) = %v, want %v", c.now, got, c.want)
		}
		if got := (Payload{Expires: exp}).ExpiredAt(c.now) && !c.now.IsZero(); got != c.want {
			t.Errorf("ExpiredAt(%v) disagrees with ExpiredValue", c.now)
		}
	}
	if ExpiredValue(AppendPayload(nil, Payload{Condition: "c"}), exp) {
		t.Error("a payload without expiry expired")
	}
	if ExpiredValue(nil, exp) {
		t.Error("a plain tuple expired")
	}
}

func TestDecodePayloadRefusesDamage(t *testing.T) {
	good := AppendPayload(nil, Payload{Condition: "c", Context: `{"a":1}`, Expires: time.Unix(5, 0)})
	for _, b := range [][]byte{
		{0xff},
		{0x01},                                 // no version bit
		{payloadVersion | payloadExpiry, 1, 2}, // short expiry
		{payloadVersion | payloadCond, 5, 'a'}, // name longer than the value
		{payloadVersion | payloadCond, 0},      // empty name
		{payloadVersion, 1},                    // bytes left over
		good[:len(good)-12],
	} {
		if _, err := DecodePayload(b); err == nil {
			t.Errorf("DecodePayload(%x) accepted damaged bytes", b)
		}
	}
}
