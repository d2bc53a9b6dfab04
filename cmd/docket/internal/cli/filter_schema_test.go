package cli

import (
	"strings"
	"testing"
)

// A filter naming a type or relation the schema lacks matched nothing
// and read as "no access"; it is an error with a suggestion now.
func TestFiltersAreCheckedAgainstTheSchema(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tuple", "read", "kase"}, `filter "kase": unknown type "kase"; did you mean "case"?`},
		{[]string{"tuple", "read", "case#deny_lst@user:mallory"}, `type case has no relation "deny_lst"; did you mean "deny_list"?`},
		{[]string{"tuple", "read", "case#deny_list@usr:mallory"}, `unknown type "usr"; did you mean "user"?`},
		{[]string{"tuple", "read", "--relation", "membr"}, `no type has a relation "membr"; did you mean "member"?`},
		{[]string{"tuple", "read", "--subject-type", "team", "--subject-relation", "membr"}, `type team has no relation "membr"`},
		{[]string{"tuple", "read", "--filter", "kase:1"}, `unknown type "kase"`},
		{[]string{"tuple", "read", "case:1", "--filter", "case:2"}, "both a partial tuple argument and --filter given"},
		{[]string{"tuple", "delete", "--object-type", "kase"}, `nothing deleted: filter --object-type kase: unknown type "kase"; did you mean "case"?`},
		{[]string{"tuple", "delete", "--filter", "case#deny_lst"}, `nothing deleted: filter "case#deny_lst": type case has no relation "deny_lst"`},
	} {
		r := f.run(c.args...)
		r.want(t, 2)
		contains(t, strings.Join(c.args, " "), r.stderr, c.want)
	}
	r := f.run("tuple", "read", "--filter", "case#deny_list@user:mallory")
	r.want(t, 0)
	if r.stdout != "case:1#deny_list@user:mallory\n" {
		t.Errorf("read --filter printed %q", r.stdout)
	}
}

// The refusal of a schema that drops a relation still in use prints the
// command that deletes its tuples; running it lets the schema through.
func TestSchemaWriteRefusalHintIsACommandThatWorks(t *testing.T) {
	f := newFixture(t)
	next := strings.Replace(testSchema, "  relation deny_list: user\n", "", 1)
	next = strings.Replace(next, " - deny_list", "", 1)
	p := writeFile(t, f.dir, "next.rebac", next)
	r := f.run("schema", "write", p)
	r.want(t, 2)
	_, cmdline, ok := strings.Cut(r.stderr, "delete them first: docket ")
	if !ok {
		t.Fatalf("no command in the refusal:\n%s", r.stderr)
	}
	cmdline, _, _ = strings.Cut(cmdline, "\n")
	args := strings.Fields(cmdline)
	r = f.run(args...)
	r.want(t, 0)
	contains(t, "delete", r.stdout, "deleted 2 tuples")
	f.run("schema", "write", p).want(t, 0)
}
