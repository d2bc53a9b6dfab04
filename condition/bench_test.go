package condition

import "testing"

// go test -run '^$' -bench . ./condition/
func BenchmarkEvalAllPresent(b *testing.B) {
	c, diags := Compile("under_review", []Param{
		{Name: "now", Type: Type{Kind: KindTimestamp}},
		{Name: "review_ends", Type: Type{Kind: KindTimestamp}},
	}, "now < review_ends", Options{})
	if diags != nil {
		b.Fatal(diags)
	}
	stored, _ := DecodeContext([]byte(`{"review_ends":"2027-01-15T00:00:00Z"}`), MaxStoredContextBytes)
	req, _ := DecodeContext([]byte(`{"now":"2027-01-01T00:00:00Z"}`), MaxRequestContextBytes)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.Eval(stored, req); err != nil || r.Outcome != Allowed {
			b.Fatal(r, err)
		}
	}
}

func BenchmarkEvalMissing(b *testing.B) {
	c, diags := Compile("under_review", []Param{
		{Name: "now", Type: Type{Kind: KindTimestamp}},
		{Name: "review_ends", Type: Type{Kind: KindTimestamp}},
	}, "now < review_ends", Options{})
	if diags != nil {
		b.Fatal(diags)
	}
	stored, _ := DecodeContext([]byte(`{"review_ends":"2027-01-15T00:00:00Z"}`), MaxStoredContextBytes)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.Eval(stored, nil); err != nil || r.Outcome != Conditional {
			b.Fatal(r, err)
		}
	}
}

func BenchmarkEvalBound(b *testing.B) {
	c, diags := Compile("under_review", []Param{
		{Name: "now", Type: Type{Kind: KindTimestamp}},
		{Name: "review_ends", Type: Type{Kind: KindTimestamp}},
	}, "now < review_ends", Options{})
	if diags != nil {
		b.Fatal(diags)
	}
	stored, _ := DecodeContext([]byte(`{"review_ends":"2027-01-15T00:00:00Z"}`), MaxStoredContextBytes)
	req, _ := DecodeContext([]byte(`{"now":"2027-01-01T00:00:00Z"}`), MaxRequestContextBytes)
	sv, rv := c.Bind(stored), c.Bind(req)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.EvalBound(sv, rv); err != nil || r.Outcome != Allowed {
			b.Fatal(r, err)
		}
	}
}
