// Package vscode holds the VS Code extension for Docket schemas; its Go
// test keeps the TextMate grammar in step with the language.
package vscode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

type grammarRule struct {
	Name     string                           `json:"name"`
	Match    string                           `json:"match"`
	Captures map[string]struct{ Name string } `json:"captures"`
	Include  string                           `json:"include"`
	Patterns []grammarRule                    `json:"patterns"`
}

type grammar struct {
	ScopeName  string                 `json:"scopeName"`
	Patterns   []grammarRule          `json:"patterns"`
	Repository map[string]grammarRule `json:"repository"`
}

// rule is a grammar rule ready to match: the grammar uses only single-line
// `match` rules, written in the common subset of Oniguruma and RE2.
type rule struct {
	name     string
	re       *regexp.Regexp
	captures map[int]string
}

func loadGrammar(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("syntaxes", "rebac.tmLanguage.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g grammar
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("grammar: %v", err)
	}
	if g.ScopeName != "source.rebac" {
		t.Errorf("scopeName %q", g.ScopeName)
	}
	var out []rule
	var flatten func(rs []grammarRule, depth int)
	flatten = func(rs []grammarRule, depth int) {
		if depth > 8 {
			t.Fatal("grammar includes nest too deep")
		}
		for _, r := range rs {
			switch {
			case r.Include != "":
				inc, ok := g.Repository[strings.TrimPrefix(r.Include, "#")]
				if !ok {
					t.Fatalf("include %s: no such repository entry", r.Include)
				}
				flatten([]grammarRule{inc}, depth+1)
			case len(r.Patterns) > 0:
				flatten(r.Patterns, depth+1)
			case r.Match != "":
				re, err := regexp.Compile(r.Match)
				if err != nil {
					t.Fatalf("rule %q: %v", r.Match, err)
				}
				caps := map[int]string{}
				for k, c := range r.Captures {
					var n int
					for _, d := range k {
						n = n*10 + int(d-'0')
					}
					caps[n] = c.Name
				}
				out = append(out, rule{name: r.Name, re: re, captures: caps})
			default:
				t.Fatalf("rule with neither match, include nor patterns: %+v", r)
			}
		}
	}
	flatten(g.Patterns, 0)
	return out
}

// tokenize scopes one line as a TextMate engine does with match rules: at
// each point the rule whose match starts first wins, the earlier rule on a
// tie. It returns the scope of every character (empty where none).
func tokenize(rules []rule, line string) []string {
	scopes := make([]string, len(line))
	for pos := 0; pos < len(line); {
		best, bestAt := -1, []int(nil)
		for i, r := range rules {
			m := r.re.FindStringSubmatchIndex(line[pos:])
			if m == nil || m[1] == m[0] {
				continue
			}
			if best < 0 || m[0] < bestAt[0] {
				best, bestAt = i, m
			}
		}
		if best < 0 {
			break
		}
		r := rules[best]
		start, end := pos+bestAt[0], pos+bestAt[1]
		for i := start; i < end; i++ {
			scopes[i] = r.name
		}
		for g, name := range r.captures {
			if s, e := bestAt[2*g], bestAt[2*g+1]; s >= 0 {
				for i := pos + s; i < pos+e; i++ {
					scopes[i] = name
				}
			}
		}
		pos = end
	}
	return scopes
}

func seedSchemas(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../schemas/*/*.rebac", "../../schema/testdata/valid/*.rebac"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("found %d seed schemas", len(files))
	}
	return files
}

// TestGrammarScopesEveryToken highlights every seed schema with the
// grammar and fails on any character outside whitespace that no rule
// scopes.
func TestGrammarScopesEveryToken(t *testing.T) {
	rules := loadGrammar(t)
	tokens := 0
	for _, path := range seedSchemas(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(strings.TrimPrefix(string(data), "\uFEFF"), "\n") {
			line = strings.TrimRight(line, "\r")
			scopes := tokenize(rules, line)
			for i, r := range line {
				if unicode.IsSpace(r) {
					continue
				}
				tokens++
				if scopes[i] == "" {
					t.Errorf("%s:%d:%d: %q is not scoped by the grammar:\n%s", path, n+1, i+1, string(r), line)
					break
				}
			}
		}
	}
	if tokens == 0 {
		t.Fatal("no characters checked")
	}
}

// TestGrammarScopes pins what the scopes mean on lines of each form.
func TestGrammarScopes(t *testing.T) {
	rules := loadGrammar(t)
	cases := []struct {
		line, word, scope string
	}{
		{"type case {", "type", "keyword.declaration.type.rebac"},
		{"type case {", "case", "entity.name.type.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "viewer", "entity.name.function.relation.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "creator", "variable.other.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "assignee.team", "variable.other.hop.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "member", "variable.other.member.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "|", "keyword.operator.union.rebac"},
		{"  relation viewer = creator | assignee.team#member - deny_list", "-", "keyword.operator.exclusion.rebac"},
		{"  relation public: user:*", "*", "constant.language.wildcard.rebac"},
		{"  relation public: user:*", "user", "entity.name.type.rebac"},
		{"  relation editor = (a | b) & c // why", "&", "keyword.operator.intersection.rebac"},
		{"  relation editor = (a | b) & c // why", "// why", "comment.line.double-slash.rebac"},
		{"  relation editor = (a | b) & c // why", "(", "punctuation.section.parens.rebac"},
		// Partials and conditions.
		{"partial record {", "partial", "keyword.declaration.partial.rebac"},
		{"partial record {", "record", "entity.name.type.partial.rebac"},
		{"  ...permissions", "...", "keyword.operator.include.rebac"},
		{"  ...permissions", "permissions", "entity.name.type.partial.rebac"},
		{"condition under_review(now timestamp, ends timestamp) {", "under_review", "entity.name.function.condition.rebac"},
		{"condition under_review(now timestamp, ends timestamp) {", ",", "punctuation.separator.comma.rebac"},
		{`  now < ends && "a//b" != 'c'`, "<", "keyword.operator.comparison.rebac"},
		{`  now < ends && "a//b" != 'c'`, "&&", "keyword.operator.logical.rebac"},
		{`  now < ends && "a//b" != 'c'`, `"a//b"`, "string.quoted.rebac"},
		{"  d > duration(\"1h\") && u > 1u && f < 2.5", "1u", "constant.numeric.rebac"},
		{"  d > duration(\"1h\") && u > 1u && f < 2.5", "2.5", "constant.numeric.rebac"},
		{"  relation temporary: user with under_review and expiration", "with", "keyword.other.rebac"},
		{"  relation temporary: user with under_review and expiration", "expiration", "keyword.other.rebac"},
	}
	for _, c := range cases {
		i := strings.Index(c.line, c.word)
		scopes := tokenize(rules, c.line)
		for j := i; j < i+len(c.word); j++ {
			if scopes[j] != c.scope {
				t.Errorf("%q in %q: scope %q, want %q", c.word, c.line, scopes[j], c.scope)
				break
			}
		}
	}
}
