package validate

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/tuples"
	"gopkg.in/yaml.v3"
)

// clock reads the file's now: key, the clock that decides expiry, into
// ctx; without it the store's current time decides.
func (d *doc) clock(ctx context.Context) (context.Context, error) {
	n := d.keys["now"]
	if n == nil {
		return ctx, nil
	}
	const hint = "write now: 2026-12-01T00:00:00Z (RFC 3339)"
	if n.Kind != yaml.ScalarNode {
		return ctx, d.errAt(n, hint, "now must be a time")
	}
	t, err := tuples.ParseTime(n.Value)
	if err != nil {
		return ctx, d.errAt(n, hint, "now: %v", err)
	}
	return tuples.WithClock(ctx, t), nil
}

// fileContext reads the file's context: key, the request context of every
// assertion.
func (d *doc) fileContext() (condition.Context, error) {
	n := d.keys["context"]
	if n == nil {
		return nil, nil
	}
	const hint = `write context: {client_ip: "10.1.2.3"}, a mapping of condition parameters`
	if n.Kind != yaml.MappingNode {
		return nil, d.errAt(n, hint, "context must be a mapping")
	}
	var v map[string]any
	if err := n.Decode(&v); err != nil {
		return nil, d.errAt(n, hint, "context: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, d.errAt(n, hint, "context: %v", err)
	}
	c, err := condition.DecodeContext(b, condition.MaxRequestContextBytes)
	if err != nil {
		return nil, d.errAt(n, hint, "context: %v", err)
	}
	return c, nil
}

// splitWith splits an assertion `TUPLE with {JSON}` into the check and its
// context, merged over the file's (the assertion's keys win); col is the
// 0-based offset of the JSON in s.
func splitWith(s string, base condition.Context) (check string, ctx condition.Context, col int, err error) {
	i := strings.Index(s, " with {")
	if i < 0 {
		return s, base, 0, nil
	}
	raw := strings.TrimSpace(s[i+len(" with "):])
	own, err := condition.DecodeContext([]byte(raw), condition.MaxRequestContextBytes)
	if err != nil {
		return "", nil, i + len(" with "), err
	}
	merged := make(condition.Context, len(base)+len(own))
	for k, v := range base {
		merged[k] = v
	}
	for k, v := range own {
		merged[k] = v
	}
	// A null is the same as leaving the key out, and the check's keys
	// win: its null takes the file's value away.
	var keys map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &keys) == nil {
		for k, v := range keys {
			if string(v) == "null" {
				delete(merged, k)
			}
		}
	}
	return strings.TrimSpace(s[:i]), merged, 0, nil
}
