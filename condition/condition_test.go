package condition

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func mustType(t *testing.T, s string) Type {
	t.Helper()
	ty, err := ParseType(s)
	if err != nil {
		t.Fatalf("ParseType(%q): %v", s, err)
	}
	return ty
}

func mustCompile(t *testing.T, params string, expr string) *Condition {
	t.Helper()
	var ps []Param
	for _, f := range strings.Split(params, ";") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, ty, _ := strings.Cut(f, " ")
		ps = append(ps, Param{Name: name, Type: mustType(t, ty)})
	}
	c, diags := Compile("c", ps, expr, Options{})
	if len(diags) > 0 {
		t.Fatalf("Compile(%q): %v", expr, diags)
	}
	return c
}

func ctx(t *testing.T, js string) Context {
	t.Helper()
	if js == "" {
		return nil
	}
	c, err := DecodeContext([]byte(js), MaxRequestContextBytes)
	if err != nil {
		t.Fatalf("DecodeContext(%s): %v", js, err)
	}
	return c
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"bool", "int", "uint", "double", "string", "bytes", "duration",
		"timestamp", "ipaddress", "any", "list<int>", "map<string, list<timestamp>>", "list<map<string, any>>"} {
		ty := mustType(t, s)
		if ty.String() != s {
			t.Errorf("ParseType(%q).String() = %q", s, ty.String())
		}
		if again := mustType(t, ty.String()); !again.Equal(ty) {
			t.Errorf("%s does not round-trip", s)
		}
	}
	if ty := mustType(t, "map<string,int>"); ty.String() != "map<string, int>" {
		t.Errorf("spacing not normalised: %s", ty)
	}
	for s, want := range map[string]string{
		"float":          `unknown parameter type "float"`,
		"list":           "expected '<'",
		"map<int, bool>": "map keys must be string",
		"list<int":       `expected ">"`,
		"int>":           `unexpected ">"`,
	} {
		_, err := ParseType(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseType(%q) = %v, want error containing %q", s, err, want)
		}
	}
	if mustType(t, "list<int>").Equal(mustType(t, "list<uint>")) {
		t.Error("list<int> equals list<uint>")
	}
}

func TestEvalOutcomes(t *testing.T) {
	cases := []struct {
		params, expr, stored, request string
		want                          Outcome
		missing                       []string
	}{
		{"x int; y int", "x < 100 || y < 50", `{"x": 5}`, "", Allowed, nil},
		{"x int; y int", "x < 100 || y < 50", `{"x": 500}`, "", Conditional, []string{"y"}},
		{"x int; y int", "x < 100 && y < 50", "", "", Conditional, []string{"x", "y"}},
		{"x int; y int", "x < 100 && y < 50", `{"x": 500}`, "", Denied, nil},
		{"x int; y int", "x < 100 && y < 50", `{"x": 5}`, `{"y": 7}`, Allowed, nil},
		// Stored values win over the request's.
		{"x int", "x == 1", `{"x": 1}`, `{"x": 2}`, Allowed, nil},
		{"x int", "x == 1", `{"x": 2}`, `{"x": 1}`, Denied, nil},
		// null is the same as missing.
		{"x int", "x == 1", "", `{"x": null}`, Conditional, []string{"x"}},
		{"now timestamp; review_ends timestamp", "now < review_ends",
			`{"review_ends": "2027-01-15T00:00:00Z"}`, `{"now": "2027-01-01T00:00:00Z"}`, Allowed, nil},
		{"now timestamp; review_ends timestamp", "now < review_ends",
			`{"review_ends": "2027-01-15T00:00:00Z"}`, `{"now": "2027-02-01T00:00:00+01:00"}`, Denied, nil},
		{"client_ip ipaddress; allowed_cidr string", "client_ip.in_cidr(allowed_cidr)",
			`{"allowed_cidr": "10.1.0.0/16"}`, `{"client_ip": "10.1.2.3"}`, Allowed, nil},
		{"client_ip ipaddress; allowed_cidr string", "client_ip.in_cidr(allowed_cidr)",
			`{"allowed_cidr": "192.168.0.0/16"}`, `{"client_ip": "10.1.2.3"}`, Denied, nil},
		{"client_ip ipaddress", `client_ip == ipaddress("::1") || client_ip.in_cidr("10.0.0.0/8")`,
			"", `{"client_ip": "::1"}`, Allowed, nil},
		{"tags list<string>", `"a" in tags`, `{"tags": ["b", "a"]}`, "", Allowed, nil},
		{"limits map<string, int>", `limits["x"] > 2`, `{"limits": {"x": 3}}`, "", Allowed, nil},
		{"d duration", `d > duration("1h")`, `{"d": "90m"}`, "", Allowed, nil},
		{"b bytes", `b == b"hi"`, `{"b": "aGk="}`, "", Allowed, nil},
		{"u uint; f double", `u > 3u && f < 1.5`, `{"u": 4, "f": 1.25}`, "", Allowed, nil},
		{"a any", `a.level > 2.0`, `{"a": {"level": 3}}`, "", Allowed, nil},
		{"flag bool", `flag`, `{"flag": false}`, "", Denied, nil},
	}
	for _, tc := range cases {
		c := mustCompile(t, tc.params, tc.expr)
		got, err := c.Eval(ctx(t, tc.stored), ctx(t, tc.request))
		if err != nil {
			t.Errorf("%s with %s %s: %v", tc.expr, tc.stored, tc.request, err)
			continue
		}
		if got.Outcome != tc.want || !reflect.DeepEqual(got.Missing, tc.missing) {
			t.Errorf("%s with stored %s request %s = %v %v, want %v %v",
				tc.expr, tc.stored, tc.request, got.Outcome, got.Missing, tc.want, tc.missing)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	c := mustCompile(t, "x int; y int", "x < 100 || y < 50")
	_, err := c.Eval(nil, ctx(t, `{"x": "five"}`))
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Condition != "c" || ve.Param != "x" || ve.Expected.Kind != KindInt {
		t.Fatalf("wrong-typed value: %v", err)
	}
	if want := `condition c: parameter x: expected int, got a string; give "x" in the request's context as a whole number, like 42`; err.Error() != want {
		t.Errorf("message: %v\nwant:    %s", err, want)
	}
	// A stored value cannot be corrected by the request: no hint.
	_, err = c.EvalBound(c.Bind(ctx(t, `{"x": "five"}`)), Values{})
	if !errors.As(err, &ve) || ve.FromRequest || strings.Contains(err.Error(), "request") {
		t.Errorf("a stored value's error: %v", err)
	}
	c = mustCompile(t, "ip ipaddress; cidr string", "ip.in_cidr(cidr)")
	_, err = c.Eval(ctx(t, `{"cidr": "nonsense"}`), ctx(t, `{"ip": "10.0.0.1"}`))
	var ee *EvalError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "not a CIDR block") {
		t.Errorf("bad CIDR: %v", err)
	}
	_, err = c.Eval(nil, ctx(t, `{"ip": "10.0.0.300"}`))
	if want := `condition c: parameter ip: expected ipaddress, got "10.0.0.300", which is not an IP address; give "ip" in the request's context as an IP address string, like "10.1.2.3"`; !errors.As(err, &ve) || err.Error() != want {
		t.Errorf("bad address: %v\nwant:         %s", err, want)
	}
}

func TestCompileErrors(t *testing.T) {
	int1 := []Param{{Name: "x", Type: Type{Kind: KindInt}}}
	cases := []struct {
		params []Param
		expr   string
		line   int
		col    int
		want   string
	}{
		{int1, "x <", 1, 4, "Syntax error"},
		{int1, "x < 1 &&\n  y", 2, 3, "undeclared reference to 'y'"},
		{int1, "x + 1", 1, 1, "must be a bool expression"},
		{[]Param{{Name: "l", Type: mustType(t, "list<string>")}}, "l.all(a, l.all(b, a == b))", 1, 1, "over the limit"},
	}
	for _, tc := range cases {
		_, diags := Compile("c", tc.params, tc.expr, Options{})
		if len(diags) == 0 {
			t.Errorf("Compile(%q): no error", tc.expr)
			continue
		}
		d := diags[0]
		if d.Line != tc.line || d.Column != tc.col || !strings.Contains(d.Message, tc.want) {
			t.Errorf("Compile(%q) = %d:%d %s, want %d:%d ...%s", tc.expr, d.Line, d.Column, d.Message, tc.line, tc.col, tc.want)
		}
	}
	// A single scan over the largest list is within the limit.
	mustCompile(t, "l list<string>", `l.exists(a, a == "x")`)
}

func TestDecodeContext(t *testing.T) {
	for js, want := range map[string]string{
		`[1]`:           "must be a JSON object",
		`"x"`:           "must be a JSON object",
		``:              "must be a JSON object",
		`{"a": 1} {}`:   "text after",
		`{"a": `:        "not valid JSON",
		`{"a": 1, "b"}`: "not valid JSON",
	} {
		if _, err := DecodeContext([]byte(js), 100); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeContext(%q) = %v, want %q", js, err, want)
		}
	}
	if _, err := DecodeContext([]byte(`{"a": "`+strings.Repeat("x", 100)+`"}`), 100); err == nil ||
		!strings.Contains(err.Error(), "limit of 100") {
		t.Errorf("oversized: %v", err)
	}
	c := ctx(t, `{"b": 12345678901234567890, "a": null, "c": [1, "x"]}`)
	if got := string(c.Encode()); got != `{"b":12345678901234567890,"c":[1,"x"]}` {
		t.Errorf("Encode = %s", got)
	}
	if Context(nil).Encode() != nil {
		t.Error("empty context encodes to bytes")
	}
}

func TestCheckStored(t *testing.T) {
	c := mustCompile(t, "x int; y string", `x > 1 && y == "a"`)
	if err := c.CheckStored(ctx(t, `{"x": 2}`)); err != nil {
		t.Errorf("good stored context: %v", err)
	}
	if err := c.CheckStored(ctx(t, `{"z": 2}`)); err == nil || !strings.Contains(err.Error(), "no parameter z (it has: x, y)") {
		t.Errorf("unknown key: %v", err)
	}
	if err := c.CheckStored(ctx(t, `{"x": 2.5}`)); err == nil || !strings.Contains(err.Error(), "expected int") {
		t.Errorf("wrong type: %v", err)
	}
	if err := c.CheckRequest(ctx(t, `{"z": 2, "y": "a"}`)); err != nil {
		t.Errorf("request with foreign keys: %v", err)
	}
	if err := c.CheckRequest(ctx(t, `{"y": 1}`)); err == nil {
		t.Error("request with wrong type accepted")
	}
}

func TestMerge(t *testing.T) {
	m := Merge(ctx(t, `{"a": 1}`), ctx(t, `{"a": 2, "b": 3}`))
	if string(m.Encode()) != `{"a":1,"b":3}` {
		t.Errorf("Merge = %s", m.Encode())
	}
}

// TestStoredValueOverridesWrongRequestValue: a request value the
// evaluation does not use, because the stored context wins, is no error.
func TestStoredValueOverridesWrongRequestValue(t *testing.T) {
	c := mustCompile(t, "x int", "x == 1")
	got, err := c.Eval(ctx(t, `{"x": 1}`), ctx(t, `{"x": "one"}`))
	if err != nil || got.Outcome != Allowed {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := c.Eval(nil, ctx(t, `{"x": "one"}`)); err == nil {
		t.Error("a used wrong-typed request value is no error")
	}
	bound := c.Bind(ctx(t, `{"x": 1}`))
	for range 3 {
		if got, err := c.EvalBound(bound, Values{}); err != nil || got.Outcome != Allowed {
			t.Errorf("EvalBound: %v %v", got, err)
		}
	}
	seen := c.Seen(ctx(t, `{"x": 1}`), nil)
	if len(seen) != 1 || seen[0] != "x=1" {
		t.Errorf("Seen = %v", seen)
	}
	if seen := c.Seen(nil, nil); seen[0] != "x missing" {
		t.Errorf("Seen = %v", seen)
	}
}

func TestExpressionLengthLimit(t *testing.T) {
	long := "x > 1" + strings.Repeat(" || x > 1", MaxExprLen/9)
	_, diags := Compile("c", []Param{{Name: "x", Type: Type{Kind: KindInt}}}, long, Options{})
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "more than the limit of 16384") {
		t.Errorf("long expression: %v", diags)
	}
}

// TestCompileConcurrently: conditions share one base environment, so
// schemas compiled at once must not race on it.
func TestCompileConcurrently(t *testing.T) {
	done := make(chan error)
	for i := range 8 {
		go func() {
			c, diags := Compile("c", []Param{{Name: fmt.Sprintf("x%d", i), Type: Type{Kind: KindInt}}}, fmt.Sprintf("x%d > 1", i), Options{})
			if diags != nil {
				done <- fmt.Errorf("%v", diags)
				return
			}
			_, err := c.Eval(Context{fmt.Sprintf("x%d", i): json.Number("2")}, nil)
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
