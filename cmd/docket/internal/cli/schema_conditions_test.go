package cli

import (
	"encoding/json"
	"testing"

	"github.com/docketdb/docket/store/memory"
)

const conditionSchema = `type user

condition under_review(now timestamp, review_ends timestamp) { now < review_ends }

type case {
  relation assignee: user
  relation deny_list: user | user with under_review and expiration
  relation viewer = assignee - deny_list
}
`

func TestSchemaWithConditions(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.rebac", conditionSchema)
	run(t, "schema", "check", p).want(t, 0)

	bad := writeFile(t, dir, "bad.rebac", "type user\ncondition c(x int) {\n  x +\n}\ntype doc {\n  relation v: user with d\n}\n")
	r := run(t, "schema", "check", bad)
	r.want(t, 1)
	contains(t, "stderr", r.stderr, bad+":4:1: in condition `c`: Syntax error", bad+":6:25: unknown condition `d`")

	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runOn(t, s, "", "schema", "write", p).want(t, 0)
	r = runOn(t, s, "", "schema", "show", "--output", "json")
	r.want(t, 0)
	var shown struct {
		Conditions []conditionJSON `json:"conditions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("schema show json: %v\n%s", err, r.stdout)
	}
	if len(shown.Conditions) != 1 || shown.Conditions[0].Name != "under_review" ||
		shown.Conditions[0].Expression != "now < review_ends" || len(shown.Conditions[0].Params) != 2 ||
		shown.Conditions[0].Params[1] != (paramJSON{Name: "review_ends", Type: "timestamp"}) {
		t.Errorf("schema show json conditions: %+v", shown.Conditions)
	}
	contains(t, "schema show", runOn(t, s, "", "schema", "show").stdout,
		"condition under_review(now timestamp, review_ends timestamp) {\n  now < review_ends\n}\n")

	// A changed parameter type and a new condition are listed as changes.
	next := writeFile(t, dir, "next.rebac", `type user

condition under_review(now timestamp, review_ends string) { now < timestamp(review_ends) }
condition on_site(ip ipaddress) { ip.in_cidr("10.0.0.0/8") }

type case {
  relation assignee: user | user with on_site
  relation deny_list: user | user with under_review and expiration
  relation viewer = assignee - deny_list
}
`)
	r = runOn(t, s, "", "schema", "write", next)
	r.want(t, 0)
	contains(t, "stdout", r.stdout,
		"~ condition under_review(now timestamp, review_ends string) { now < timestamp(review_ends) }   (was(now timestamp, review_ends timestamp) { now < review_ends })",
		"+ condition on_site(ip ipaddress)",
		"~ case#assignee: user | user with on_site   (was: user)")

	// Plain tuples are written as before; a relation form that requires a
	// condition refuses a plain tuple and says what to add.
	runOn(t, s, "", "tuple", "write", "case:1#deny_list@user:bob").want(t, 0)
	r = runOn(t, s, "", "tuple", "write", "case:1#deny_list@user:b[ob")
	r.want(t, 2)
	contains(t, "stderr", r.stderr, "ids may not contain `[` or `]`")
}
