package condition

import (
	"bytes"
	"testing"
)

// FuzzDecodeContext: any input either fails with an error or decodes to a
// context whose canonical encoding decodes to the same encoding.
func FuzzDecodeContext(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":null,"b":[1,2,{"c":"d"}]}`, `[]`, `{"a":1e400}`,
		`{"review_ends":"2027-01-15T00:00:00Z"}`, `{"a":"\u0000"}`, ` {"x": true} `, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	c, _ := Compile("c", []Param{{Name: "a", Type: Type{Kind: KindInt}}, {Name: "b", Type: mustFuzzType("list<any>")}},
		"a > 1 || size(b) > 0", Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, err := DecodeContext(data, MaxRequestContextBytes)
		if err != nil {
			return
		}
		enc := ctx.Encode()
		again, err := DecodeContext(append([]byte("{}")[:0:0], orEmpty(enc)...), MaxRequestContextBytes)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !bytes.Equal(again.Encode(), enc) {
			t.Fatalf("encoding not stable: %s then %s", enc, again.Encode())
		}
		// Evaluation never panics, whatever the values.
		_, _ = c.Eval(ctx, nil)
	})
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte("{}")
	}
	return b
}

func mustFuzzType(s string) Type {
	t, err := ParseType(s)
	if err != nil {
		panic(err)
	}
	return t
}
