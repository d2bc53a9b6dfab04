package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/tuples"
)

// badInput is one entry of the catalogue of bad inputs: a command line
// (with files and standard input) that must fail with a given exit
// status and message and leave the store exactly as it was.
type badInput struct {
	args  []string
	stdin string
	code  int
	want  string // a fragment of stderr (of stdout for status 1)
}

// catalogueFiles are written to the case's directory; {dir} in an
// argument names it.
var catalogueFiles = map[string]string{
	"bad.tuples":        "case:1#assignee@user:bob\ncase:2#asignee@user:bob\n",
	"badsyntax.tuples":  "case:1#assignee@user:bob\n  case:2#assignee@user:b ob\n",
	"unknown.tuples":    "kase:1#assignee@user:bob\n",
	"computed.tuples":   "case:1#viewer@user:bob\n",
	"two.jsonl":         `{"object":"case:5","relation":"assignee","subject":"user:bob"}{"object":"case:6","relation":"assignee","subject":"user:bob"}` + "\n",
	"comma.jsonl":       `{"object":"case:5","relation":"assignee","subject":"user:bob"},{"object":"case:6","relation":"assignee","subject":"user:bob"}` + "\n",
	"garbage.jsonl":     `{"object":"case:5","relation":"assignee","subject":"user:bob"} garbage` + "\n",
	"unknownfield.json": `{"object":"case:5","relation":"assignee","subject":"user:bob","caveat":"x"}` + "\n",
	"number.jsonl":      `{"object":"case:5","relation":"assignee","subject":42}` + "\n",
	"repeated.jsonl":    `{"object":"case:5","object":"case:6","relation":"assignee","subject":"user:bob"}` + "\n",
	"missing.jsonl":     `{"object":"case:5","relation":"assignee"}` + "\n",
	"array.jsonl":       `[{"object":"case:5","relation":"assignee","subject":"user:bob"}]` + "\n",
	"unclosed.jsonl":    `{"object":"case:5","relation":"assignee","subject":"user:bob"` + "\n",
	"text.jsonl":        "case:5#assignee@user:bob\n",
	"json.tuples":       `{"object":"case:5","relation":"assignee","subject":"user:bob"}` + "\n",
	"nullobj.jsonl":     `{"object":null,"relation":"assignee","subject":"user:bob"}` + "\n",
	"badtuple.jsonl":    `{"object":"case:5","relation":"assignee","subject":"user bob"}` + "\n",
	"schemaerr.jsonl":   `{"object":"case:5","relation":"viewer","subject":"user:bob"}` + "\n",
	"long.tuples":       "case:5#assignee@user:bob\n" + strings.Repeat("y", 1<<20+10) + "\n",
	"manybad.tuples":    strings.Repeat("case:5#asignee@user:bob\n", 25),
	"wildobj.tuples":    "case:*#assignee@user:bob\n",
	"bom.tuples":        "\xEF\xBB\xBFcase:5#asignee@user:bob\n",
	"syntax.rebac":      "type user\ntype case {\n  relation viewer user\n}\n",
	"semantic.rebac":    "type user\ntype case {\n  relation viewer: usr\n}\n",
	"dropped.rebac":     "type user\ntype team {\n  relation member: user | team#member\n}\ntype case {\n  relation assignee: user\n  relation access_list: user | team#member\n  relation public: user:*\n  relation viewer = assignee | access_list | public\n}\n",
	"empty.rebac":       "",
	"cycle.rebac":       "type user\ntype case {\n  relation a = b\n  relation b = a\n}\n",
	"keyword.rebac":     "type user\ntype relation\n",
	"checks.txt":        "case:1#viewer@user:alice\ncase:1#viewr@user:alice\n",
	"bad.yaml":          "schema: [unclosed\n",
	"badtuple.yaml":     "schema: |\n  type user\n  type doc {\n    relation viewer: user\n  }\ntuples:\n  - doc:1#viewr@user:a\n",
	"nofield.yaml":      "schema_file: nothing.rebac\n",
}

// TestBadInputCatalogue runs every bad input of the catalogue against a
// store holding testSchema and a few tuples: each must exit with its
// status, say what its entry says, and write nothing (the store is read
// back: revision, schema, tuples).
func TestBadInputCatalogue(t *testing.T) {
	dir := t.TempDir()
	for name, content := range catalogueFiles {
		writeFile(t, dir, name, content)
	}
	os.Mkdir(filepath.Join(dir, "adir"), 0o755)
	writeFile(t, dir, "huge.rebac", strings.Repeat("// padding line\n", (4<<20)/16+1)+testSchema)
	longID := strings.Repeat("x", tuples.MaxIDLen+1)
	longName := strings.Repeat("r", 65)
	cases := []badInput{
		// The command line itself.
		{args: []string{"chek", "case:1#viewer@user:alice"}, code: 2, want: `unknown command "chek" for "docket"`},
		{args: []string{"tuple", "wrte", "case:1#assignee@user:bob"}, code: 2, want: `unknown command "wrte" for "docket tuple"`},
		{args: []string{"-o", "yaml", "check", "case:1#viewer@user:alice"}, code: 2, want: `invalid argument "yaml" for "-o, --output" flag: must be one of text, json`},
		{args: []string{"--output"}, code: 2, want: "flag needs an argument: --output"},
		{args: []string{"--nosuch", "check", "case:1#viewer@user:alice"}, code: 2, want: "unknown flag: --nosuch"},
		{args: []string{"--memory", "--read-only", "check", "case:1#viewer@user:alice"}, code: 2, want: "--memory and --read-only both given"},
		{args: []string{"check"}, code: 2, want: "requires at least 1 check, -f FILE, or - for standard input"},
		{args: []string{"check", "--at", "abc", "case:1#viewer@user:alice"}, code: 2, want: `invalid argument "abc" for "--at" flag: must be a revision number`},
		{args: []string{"check", "--at", "-1", "case:1#viewer@user:alice"}, code: 2, want: `invalid argument "-1" for "--at" flag`},
		{args: []string{"check", "--at", "99", "case:1#viewer@user:alice"}, code: 2, want: "revision 99 is not written yet; the latest is 2"},
		{args: []string{"tuple", "changes", "--since", "abc"}, code: 2, want: `invalid argument "abc" for "--since" flag: must be a revision number (0 = from where the log starts)`},
		{args: []string{"tuple", "changes", "--since", "99"}, code: 2, want: "--since 99: revision not written yet; the latest is 2"},
		{args: []string{"tuple", "changes", "--limit", "-1"}, code: 2, want: "--limit -1: must not be negative"},
		{args: []string{"tuple", "trim-changes"}, code: 2, want: "--before is required"},
		{args: []string{"tuple", "trim-changes", "--before", "99"}, code: 2, want: "--before 99: revision not written yet"},
		{args: []string{"tuple", "trim-changes", "--before", "x"}, code: 2, want: `invalid argument "x" for "--before" flag`},
		{args: []string{"tuple", "changes", "extra"}, code: 2, want: `unknown command "extra" for "docket tuple changes"`},
		{args: []string{"version", "extra"}, code: 2, want: `unknown command "extra" for "docket version"`},
		{args: []string{"completion", "powershell"}, code: 2, want: `invalid argument "powershell" for "docket completion"`},
		{args: []string{"lookup", "resources", "user:bob"}, code: 2, want: "accepts 2 arg(s), received 1"},
		{args: []string{"lookup", "nosuch"}, code: 2, want: `unknown command "nosuch" for "docket lookup"`},
		{args: []string{"expand"}, code: 2, want: "accepts 1 arg(s), received 0"},
		{args: []string{"tuple", "import"}, code: 2, want: "accepts 1 arg(s), received 0"},
		{args: []string{"tuple", "import", "{dir}/bad.tuples", "{dir}/bad.tuples"}, code: 2, want: "accepts 1 arg(s), received 2"},
		{args: []string{"check", "--max-depth", "x", "case:1#viewer@user:alice"}, code: 2, want: `invalid argument "x" for "--max-depth" flag`},

		// Tuples as arguments: syntax.
		{args: []string{"tuple", "write", "case:1#assignee"}, code: 2, want: "missing `@subject` after the relation"},
		{args: []string{"tuple", "write", "case:1"}, code: 2, want: "missing `#relation@subject` after the object"},
		{args: []string{"tuple", "write", "case#assignee@user:bob"}, code: 2, want: "missing `:id` after the type"},
		{args: []string{"tuple", "write", ":1#assignee@user:bob"}, code: 2, want: "empty type name"},
		{args: []string{"tuple", "write", "Case:1#assignee@user:bob"}, code: 2, want: `unexpected 'C' in type name`},
		{args: []string{"tuple", "write", "case:1#assignee@user:b ob"}, code: 2, want: "ids may not contain whitespace"},
		{args: []string{"tuple", "write", "case:1#assignee@user:"}, code: 2, want: "empty id"},
		{args: []string{"tuple", "write", "case:*#assignee@user:bob"}, code: 2, want: "the wildcard `*` is allowed only as a subject id"},
		{args: []string{"tuple", "write", "case:1#public@user:*#member"}, code: 2, want: "a wildcard subject takes no relation"},
		{args: []string{"tuple", "write", "case:1#@user:bob"}, code: 2, want: "empty relation name"},
		{args: []string{"tuple", "write", "case:1#access_list@team:east#"}, code: 2, want: "empty subject relation name"},
		{args: []string{"tuple", "write", "case:1#assignee@user:" + longID}, code: 2, want: "id is 1025 bytes long; at most 1024 are allowed"},
		{args: []string{"tuple", "write", "case:1#" + longName + "@user:bob"}, code: 2, want: "relation name is 65 bytes long; at most 64 are allowed"},
		{args: []string{"tuple", "write", "case:1#assignee@user:b\xffob"}, code: 2, want: "invalid UTF-8 in id"},
		{args: []string{"tuple", "write", "case:1#assignee@user:b\x01ob"}, code: 2, want: "ids are printable characters only"},
		{args: []string{"tuple", "write", "case:1##assignee@user:bob"}, code: 2, want: "unexpected '#' in relation name"},
		{args: []string{"tuple", "write", "case:1#assignee@user:bob#"}, code: 2, want: "empty subject relation name"},
		{args: []string{"tuple", "write", ""}, code: 2, want: "missing `:id` after the type"},

		// Tuples as arguments: the schema.
		{args: []string{"tuple", "write", "kase:1#assignee@user:bob"}, code: 2, want: `unknown type "kase"; did you mean "case"?`},
		{args: []string{"tuple", "write", "case:1#asignee@user:bob"}, code: 2, want: `type case has no relation "asignee"; did you mean "assignee"?`},
		{args: []string{"tuple", "write", "case:1#viewer@user:bob"}, code: 2, want: "relation case#viewer is computed and holds no tuples"},
		{args: []string{"tuple", "write", "case:1#assignee@team:east"}, code: 2, want: "relation case#assignee does not allow subject team; it allows user"},
		{args: []string{"tuple", "write", "case:1#assignee@team:east#member"}, code: 2, want: "relation case#assignee does not allow subject team#member; it allows user"},
		{args: []string{"tuple", "write", "case:1#assignee@user:*"}, code: 2, want: "relation case#assignee does not allow subject user:*; it allows user"},
		{args: []string{"tuple", "write", "case:1#assignee@usr:bob"}, code: 2, want: `unknown subject type "usr"; did you mean "user"?`},
		{args: []string{"tuple", "write", "case:1#access_list@team:east#membr"}, code: 2, want: `type team has no relation "membr"; did you mean "member"?`},
		{args: []string{"tuple", "write", "case:9#assignee@user:bob", "case:9#asignee@user:bob"}, code: 2, want: "nothing written: "},
		{args: []string{"tuple", "write", "-f", "{dir}/bad.tuples", "case:1#assignee@user:bob"}, code: 2, want: "both tuple arguments and -f"},
		{args: []string{"tuple", "write"}, code: 2, want: "nothing to write"},
		{args: []string{"tuple", "write", "-f", "{dir}/nothing.tuples"}, code: 2, want: "nothing.tuples: no such file"},
		{args: []string{"tuple", "write", "-f", "{dir}/adir"}, code: 2, want: "adir is a directory"},
		{args: []string{"tuple", "write", "-f", "{dir}/bad.tuples"}, code: 2, want: `bad.tuples:2: case:2#asignee@user:bob: type case has no relation "asignee"`},
		{args: []string{"tuple", "write", "-"}, stdin: `{"object":"case:5"` + "\n", code: 2, want: "stdin:1:"},
		{args: []string{"tuple", "write", "--format", "yaml", "-f", "{dir}/bad.tuples"}, code: 2, want: `invalid argument "yaml" for "--format" flag`},
		{args: []string{"tuple", "write", "-f", "{dir}/two.jsonl"}, code: 2, want: "two.jsonl:1:63: more after the tuple object"},

		// Deletes.
		{args: []string{"tuple", "delete"}, code: 2, want: "nothing to delete"},
		{args: []string{"tuple", "delete", "--filter", "case:1", "case:1#assignee@user:alice"}, code: 2, want: "both tuple arguments and a filter given"},
		{args: []string{"tuple", "delete", "kase:1#assignee@user:alice"}, code: 2, want: `unknown type "kase"; did you mean "case"?`},
		{args: []string{"tuple", "delete", "case:1#viewer@user:alice"}, code: 2, want: "relation case#viewer is computed"},
		{args: []string{"tuple", "delete", "case:1#assignee"}, code: 2, want: "missing `@subject`"},
		{args: []string{"tuple", "delete", "--filter", "case:1#"}, code: 2, want: `partial tuple "case:1#": empty relation after ` + "`#`"},
		{args: []string{"tuple", "delete", "--filter", "Case"}, code: 2, want: `nothing deleted: filter "Case": unknown type "Case"; did you mean "case"?`},
		{args: []string{"tuple", "delete", "case:1#assignee@user:alice", "case:1#asignee@user:alice"}, code: 2, want: "nothing deleted: "},

		// Imports.
		{args: []string{"tuple", "import", "{dir}/nothing.tuples"}, code: 2, want: "nothing.tuples: no such file"},
		{args: []string{"tuple", "import", "{dir}/adir"}, code: 2, want: "adir is a directory; give a tuple file"},
		{args: []string{"tuple", "import", "{dir}/badsyntax.tuples"}, code: 2, want: "badsyntax.tuples:2:25: unexpected character U+0020 in id"},
		{args: []string{"tuple", "import", "{dir}/bad.tuples"}, code: 2, want: `bad.tuples:2: case:2#asignee@user:bob: type case has no relation "asignee"; did you mean "assignee"?`},
		{args: []string{"tuple", "import", "{dir}/unknown.tuples"}, code: 2, want: `unknown.tuples:1: kase:1#assignee@user:bob: unknown type "kase"`},
		{args: []string{"tuple", "import", "{dir}/computed.tuples"}, code: 2, want: "computed.tuples:1: case:1#viewer@user:bob: relation case#viewer is computed"},
		{args: []string{"tuple", "import", "{dir}/two.jsonl"}, code: 2, want: "two.jsonl:1:63: more after the tuple object; a line holds exactly one JSON object"},
		{args: []string{"tuple", "import", "{dir}/comma.jsonl"}, code: 2, want: "comma.jsonl:1:63: more after the tuple object"},
		{args: []string{"tuple", "import", "{dir}/garbage.jsonl"}, code: 2, want: "garbage.jsonl:1:64: more after the tuple object"},
		{args: []string{"tuple", "import", "{dir}/unknownfield.json"}, code: 2, want: `unknownfield.json:1:63: unknown field "caveat"; a tuple object has "object", "relation", "subject" and optionally "condition", "context", "expiration"`},
		{args: []string{"tuple", "import", "{dir}/number.jsonl"}, code: 2, want: `number.jsonl:1:52: "subject" must be a string, not a number`},
		{args: []string{"tuple", "import", "{dir}/repeated.jsonl"}, code: 2, want: `repeated.jsonl:1:20: field "object" given twice`},
		{args: []string{"tuple", "import", "{dir}/missing.jsonl"}, code: 2, want: `missing.jsonl:1:41: missing "subject"`},
		{args: []string{"tuple", "import", "{dir}/array.jsonl"}, code: 2, want: "array.jsonl:1:1: a line must hold one JSON object, not an array"},
		{args: []string{"tuple", "import", "{dir}/unclosed.jsonl"}, code: 2, want: "unclosed.jsonl:1:62: the JSON object is not closed"},
		{args: []string{"tuple", "import", "{dir}/text.jsonl"}, code: 2, want: "text.jsonl:1:1: not valid JSON: invalid character 'c' looking for beginning of value"},
		{args: []string{"tuple", "import", "{dir}/json.tuples"}, code: 2, want: "json.tuples:1:1: this line is a JSON object, not a tuple; read JSON lines with --format jsonl"},
		{args: []string{"tuple", "import", "{dir}/nullobj.jsonl"}, code: 2, want: `nullobj.jsonl:1:11: "object" must be a string, not null`},
		{args: []string{"tuple", "import", "{dir}/badtuple.jsonl"}, code: 2, want: "badtuple.jsonl:1:61: \"subject\": missing `:id` after the type"},
		{args: []string{"tuple", "import", "{dir}/schemaerr.jsonl"}, code: 2, want: "schemaerr.jsonl:1: case:5#viewer@user:bob: relation case#viewer is computed"},
		{args: []string{"tuple", "import", "{dir}/long.tuples"}, code: 2, want: "long.tuples:2: line is longer than 1048576 bytes"},
		{args: []string{"tuple", "import", "{dir}/manybad.tuples"}, code: 2, want: "and 5 more"},
		{args: []string{"tuple", "import", "{dir}/wildobj.tuples"}, code: 2, want: "wildobj.tuples:1:6: the wildcard `*` is allowed only as a subject id"},
		{args: []string{"tuple", "import", "{dir}/bom.tuples"}, code: 2, want: `bom.tuples:1: case:5#asignee@user:bob: type case has no relation "asignee"`},
		{args: []string{"tuple", "import", "--format", "csv", "{dir}/bad.tuples"}, code: 2, want: `invalid argument "csv" for "--format" flag`},
		{args: []string{"tuple", "import", "--format", "jsonl", "{dir}/bad.tuples"}, code: 2, want: "bad.tuples:1:1: not valid JSON"},
		{args: []string{"tuple", "import", "-"}, stdin: "case:5#assignee@user:bob\ncase:5#assignee\n", code: 2, want: "stdin:2:16: missing `@subject`"},

		// Checks.
		{args: []string{"check", "case:1#viewer"}, code: 2, want: "missing `@subject`"},
		{args: []string{"check", "kase:1#viewer@user:alice"}, code: 2, want: `unknown type "kase"; did you mean "case"?`},
		{args: []string{"check", "case:1#viewr@user:alice"}, code: 2, want: `type case has no relation "viewr"; did you mean "viewer"?`},
		{args: []string{"check", "case:1#viewer@usr:alice"}, code: 2, want: `unknown type "usr"; did you mean "user"?`},
		{args: []string{"check", "case:*#viewer@user:alice"}, code: 2, want: "the wildcard `*` is allowed only as a subject id"},
		{args: []string{"check", "--explain", "case:1#viewr@user:alice"}, code: 2, want: `did you mean "viewer"?`},
		{args: []string{"check", "-f", "{dir}/checks.txt"}, code: 2, want: `checks.txt:2:1: type case has no relation "viewr"; did you mean "viewer"?`},
		{args: []string{"check", "-f", "{dir}/nothing.txt"}, code: 2, want: "nothing.txt: no such file"},
		{args: []string{"check", "--with", "case:1#viewer@user:bob", "case:1#viewer@user:bob"}, code: 2, want: "relation case#viewer is computed and holds no tuples"},
		{args: []string{"check", "--with", "garbage", "case:1#viewer@user:bob"}, code: 2, want: `--with "garbage": column 8: missing ` + "`:id`"},

		// Expand and lookups.
		{args: []string{"expand", "case:1"}, code: 2, want: `argument 1: "case:1" is not OBJECT#RELATION; write TYPE:ID#RELATION`},
		{args: []string{"expand", "case:1#viewr"}, code: 2, want: `did you mean "viewer"?`},
		{args: []string{"expand", "kase:1#viewer"}, code: 2, want: `unknown type "kase"`},
		{args: []string{"expand", "--depth", "-1", "case:1#viewer"}, code: 2, want: "--depth -1: must not be negative"},
		{args: []string{"lookup", "resources", "user:bob", "case"}, code: 2, want: `argument 2: "case" is not TYPE#RELATION`},
		{args: []string{"lookup", "resources", "user:bob", "kase#viewer"}, code: 2, want: `unknown type "kase"`},
		{args: []string{"lookup", "resources", "user:bob", "case#viewr"}, code: 2, want: `did you mean "viewer"?`},
		{args: []string{"lookup", "resources", "usr:bob", "case#viewer"}, code: 2, want: `unknown type "usr"`},
		{args: []string{"lookup", "resources", "--limit", "-1", "user:bob", "case#viewer"}, code: 2, want: "--limit -1: must not be negative; use 0 for no limit"},
		{args: []string{"lookup", "resources", "--cursor", "garbage", "user:bob", "case#viewer"}, code: 2, want: `invalid cursor "garbage": pass back exactly the cursor a previous lookup returned`},
		{args: []string{"lookup", "subjects", "case:1"}, code: 2, want: `argument 1: "case:1" is not OBJECT#RELATION`},
		{args: []string{"lookup", "subjects", "case:1#viewr"}, code: 2, want: `did you mean "viewer"?`},
		{args: []string{"lookup", "subjects", "case:1#viewer", "--type", "usr"}, code: 2, want: `unknown type "usr"`},

		// Schemas.
		{args: []string{"schema", "write", "{dir}/nothing.rebac"}, code: 2, want: "nothing.rebac: no such file"},
		{args: []string{"schema", "write", "{dir}/syntax.rebac"}, code: 1, want: "syntax.rebac:3:19: expected `:` or `=` after the relation name, found `user`"},
		{args: []string{"schema", "write", "{dir}/semantic.rebac"}, code: 1, want: "semantic.rebac:3:20: unknown type `usr`; did you mean `user`?"},
		{args: []string{"schema", "write", "{dir}/dropped.rebac"}, code: 2, want: "schema not written: relation case#deny_list would be removed, but 2 tuples use it; delete them first: docket tuple delete --object-type case --relation deny_list"},
		{args: []string{"schema", "write", "{dir}/adir"}, code: 2, want: "adir: is a directory; give a file"},
		{args: []string{"schema", "write", "{dir}/empty.rebac"}, code: 1, want: "the schema declares no types"},
		{args: []string{"schema", "write", "{dir}/cycle.rebac"}, code: 1, want: "cycle.rebac:3:12: relation `a` on type `case` refers to itself with no stored relation on the way"},
		{args: []string{"schema", "write", "{dir}/keyword.rebac"}, code: 1, want: "keyword.rebac:2:6: `relation` is a keyword and cannot be used as a type name"},
		{args: []string{"schema", "write", "{dir}/huge.rebac"}, code: 1, want: "huge.rebac:1:1: the schema is 4194645 bytes; at most 4194304 (4 MiB) are allowed; split it"},
		{args: []string{"schema", "write"}, code: 2, want: "accepts 1 arg(s), received 0"},
		{args: []string{"schema", "check", "{dir}/nothing.rebac"}, code: 2, want: "nothing.rebac: no such file"},
		{args: []string{"schema", "check", "{dir}/syntax.rebac"}, code: 1, want: "syntax.rebac:3:19: "},
		{args: []string{"schema", "fmt", "{dir}/nothing.rebac"}, code: 2, want: "nothing.rebac: no such file"},
		{args: []string{"schema", "show", "--at", "99"}, code: 2, want: "revision 99 is not written yet"},

		// Reads.
		{args: []string{"tuple", "read", "case:1#"}, code: 2, want: `partial tuple "case:1#": empty relation after ` + "`#`"},
		{args: []string{"tuple", "read", "--limit", "-1"}, code: 2, want: "--limit -1: must not be negative; use 0 for no limit"},
		{args: []string{"tuple", "read", "--cursor", "garbage"}, code: 2, want: `invalid read cursor "garbage": it belongs to another filter or is corrupt`},
		{args: []string{"tuple", "read", "--at", "99"}, code: 2, want: "revision 99 is not written yet"},
		{args: []string{"tuple", "read", "Case:1"}, code: 2, want: `filter "Case:1": unknown type "Case"; did you mean "case"?`},
		{args: []string{"tuple", "export", "--format", "yaml"}, code: 2, want: `invalid argument "yaml" for "--format" flag`},
		{args: []string{"tuple", "export", "--at", "99"}, code: 2, want: "revision 99 is not written yet"},

		// Validation files.
		{args: []string{"validate", "{dir}/nothing.yaml"}, code: 2, want: "nothing.yaml: no such file; check the path"},
		{args: []string{"validate", "{dir}/bad.yaml"}, code: 2, want: "bad.yaml:1: did not find expected ',' or ']'; fix the YAML syntax"},
		{args: []string{"validate", "{dir}/badtuple.yaml"}, code: 2, want: `badtuple.yaml:7:5: doc:1#viewr@user:a: type doc has no relation "viewr"; did you mean "viewer"?`},
		{args: []string{"validate", "{dir}/nofield.yaml"}, code: 2, want: "nothing.rebac: no such file; paths are relative to the validation file"},
		{args: []string{"validate"}, code: 2, want: "requires at least 1 arg(s), only received 0"},

		// The database itself.
		{args: []string{"--memory", "db", "verify"}, code: 2, want: "--memory: an in-memory store has nothing to verify"},
		{args: []string{"db", "nosuch"}, code: 2, want: `unknown command "nosuch" for "docket db"`},
	}
	f := newFixture(t)
	for i, c := range cases {
		args := make([]string, len(c.args))
		for j, a := range c.args {
			args[j] = strings.ReplaceAll(a, "{dir}", dir)
		}
		before := storeState(t, f.store)
		r := f.runIn(c.stdin, args...)
		out := r.stderr
		if c.code == exitNo {
			out = r.stdout + r.stderr
		}
		if os.Getenv("DOCKET_CATALOGUE_DUMP") != "" {
			t.Logf("%d %q -> %d\n%s%s", i, c.args, r.code, r.stdout, r.stderr)
			continue
		}
		if r.code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("case %d, docket %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", i, strings.Join(c.args, " "), r.code, c.code, c.want, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
			t.Errorf("case %d, docket %s: a stack trace:\n%s", i, strings.Join(c.args, " "), r.stderr)
		}
		if after := storeState(t, f.store); after != before {
			t.Errorf("case %d, docket %s: the store changed:\nbefore %s\nafter  %s", i, strings.Join(c.args, " "), before, after)
		}
	}
	n := len(cases) + catalogueDatabases(t, dir)
	if n < 120 {
		t.Errorf("the catalogue holds %d cases", n)
	}
}

// catalogueDatabases runs the catalogue's entries about the --db
// directory itself; "nothing written" is the directory listed before and
// after. It returns how many it ran.
func catalogueDatabases(t *testing.T, dir string) int {
	db := filepath.Join(dir, "db")
	newBadgerDB(t, db)
	empty := filepath.Join(dir, "emptydir")
	os.Mkdir(empty, 0o755)
	other := filepath.Join(dir, "otherdir")
	writeFile(t, other, "notes.txt", "hello")
	plain := writeFile(t, dir, "plain.txt", "hello")
	cases := []struct {
		db    string
		args  []string
		code  int
		want  string
		watch string
	}{
		{db, []string{"--read-only", "tuple", "write", "case:2#assignee@user:bob"}, 2, "is read-only: nothing was written; it was opened with --read-only", db},
		{db, []string{"--read-only", "tuple", "delete", "case:1#assignee@user:alice"}, 2, "is read-only: nothing was written", db},
		{db, []string{"--read-only", "tuple", "import", filepath.Join(dir, "text.jsonl")}, 2, "", db},
		{db, []string{"--read-only", "schema", "write", filepath.Join(dir, "dropped.rebac")}, 2, "", db},
		{db, []string{"--read-only", "tuple", "trim-changes", "--before", "2"}, 2, "is read-only: nothing was written", db},
		{db, []string{"--memory", "--db", db, "check", "case:1#viewer@user:alice"}, 2, "--memory and --db both given", db},
		{db, []string{"tuple", "write", "case:1#assignee@user:b ob"}, 2, "ids may not contain whitespace", db},
		{db, []string{"tuple", "import", filepath.Join(dir, "two.jsonl")}, 2, "more after the tuple object", db},
		{db, []string{"tuple", "import", filepath.Join(dir, "manybad.tuples")}, 2, "and 5 more", db},
		{db, []string{"schema", "write", filepath.Join(dir, "dropped.rebac")}, 2, "delete them first: docket tuple delete --object-type case --relation deny_list", db},
		{empty, []string{"tuple", "read"}, 2, "(the directory is empty)", empty},
		{empty, []string{"check", "case:1#viewer@user:alice"}, 2, "(the directory is empty)", empty},
		{empty, []string{"db", "verify"}, 2, "(the directory is empty)", empty},
		{other, []string{"tuple", "read"}, 2, "is not a Docket database: it holds other files (such as notes.txt)", other},
		{other, []string{"schema", "write", filepath.Join(dir, "dropped.rebac")}, 2, "is not a Docket database", other},
		{plain, []string{"tuple", "read"}, 2, "is a file, not a Docket database directory", dir},
		{filepath.Join(dir, "nodb"), []string{"tuple", "read"}, 2, "(no schema written yet); start one with 'docket schema write FILE'", dir},
		{filepath.Join(dir, "nodb"), []string{"db", "verify"}, 2, "(no schema written yet)", dir},
	}
	// A writable open touches Badger's files even when it writes nothing,
	// so the database is read back instead of listed.
	state := func(path string) string {
		if path != db {
			return listDir(t, path)
		}
		s, err := badger.Open(db, badger.Options{ReadOnly: true, BlockCacheMB: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return storeState(t, s)
	}
	for i, c := range cases {
		before := state(c.watch)
		args := c.args
		if args[0] != "--memory" {
			args = append([]string{"--db", c.db}, args...)
		}
		r := run(t, args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("database case %d, docket %s: exit %d, want %d with %q\nstderr: %s", i, strings.Join(args, " "), r.code, c.code, c.want, r.stderr)
		}
		if after := state(c.watch); after != before {
			t.Errorf("database case %d, docket %s: %s changed:\nbefore %s\nafter  %s", i, strings.Join(args, " "), c.watch, before, after)
		}
	}
	return len(cases)
}

// storeState reads a store back whole: latest revision, schema, tuples
// and change log.
func storeState(t *testing.T, s store.Store) string {
	t.Helper()
	ctx := context.Background()
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(snap.Revision()), 10) + "\n")
	if snap.Schema() != nil {
		b.WriteString(snap.Schema().Text() + "\n")
	}
	if _, err := s.Export(ctx, &b, 0, tuples.FormatText); err != nil {
		t.Fatal(err)
	}
	changes, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		b.WriteString(c.Tuple.String() + "\n")
	}
	return b.String()
}
