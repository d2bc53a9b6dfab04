package lsp

import (
	"sort"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Keywords offered by completion: where a declaration starts at the top
// level, and inside a type's body.
var (
	topKeywords  = []string{"type", "partial", "condition"}
	bodyKeywords = []string{"relation", "..."}
)

// token is a significant token of the completion scanner: a name or one
// punctuation character. Completion works on text that is usually broken
// while it is typed, so it reads tokens rather than the syntax tree.
type token struct {
	text  string
	start int // byte offset
	end   int
	line  int // 0-based
}

func (t token) isName() bool {
	r, _ := utf8.DecodeRuneInString(t.text)
	return isNameRune(r)
}

// scan splits src into names and punctuation, skipping spaces and comments.
func scan(src string) []token {
	var out []token
	line := 0
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == '\n':
			line++
			i += size
		case r == ' ' || r == '\t' || r == '\r' || r == '\f' || r == '\v':
			i += size
		case r == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case isNameRune(r):
			j := i
			for j < len(src) {
				r2, s2 := utf8.DecodeRuneInString(src[j:])
				if !isNameRune(r2) {
					break
				}
				j += s2
			}
			out = append(out, token{text: src[i:j], start: i, end: j, line: line})
			i = j
		default:
			out = append(out, token{text: src[i : i+size], start: i, end: i + size, line: line})
			i += size
		}
	}
	return out
}

// outline is the types, relations and stored subject types written in a
// schema, read from its tokens so that it exists while the text is broken.
type outline struct {
	types      []string
	partials   []string
	conditions []string
	rels       map[string][]string    // of a type or partial, as written in its body
	includes   map[string][]string    // the partials a type or partial includes
	subjects   map[[2]string][]string // type, relation -> subject types
}

// includers lists the types that include partial p, directly or through
// other partials.
func (o *outline) includers(p string) []string {
	var out []string
	for _, t := range o.types {
		for _, q := range o.partialsOf(t) {
			if q == p {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// partialsOf lists the partials name includes, transitively.
func (o *outline) partialsOf(name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		for _, p := range o.includes[n] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				walk(p)
			}
		}
	}
	walk(name)
	return out
}

// relsOf lists the relations of a type or partial, its partials' included.
func (o *outline) relsOf(name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		out = append(out, o.rels[n]...)
		for _, p := range o.includes[n] {
			walk(p)
		}
	}
	walk(name)
	return out
}

func readOutline(toks []token) *outline {
	o := &outline{rels: map[string][]string{}, includes: map[string][]string{}, subjects: map[[2]string][]string{}}
	cur := ""
	for i := 0; i < len(toks); i++ {
		switch toks[i].text {
		case "type", "partial":
			if i+1 < len(toks) && toks[i+1].isName() {
				cur = toks[i+1].text
				if toks[i].text == "type" {
					o.types = append(o.types, cur)
				} else {
					o.partials = append(o.partials, cur)
				}
				i++
			}
		case "condition":
			if i+2 < len(toks) && toks[i+1].isName() && toks[i+2].text == "(" {
				o.conditions = append(o.conditions, toks[i+1].text)
				cur = ""
			}
		case ".":
			if cur != "" && i+3 < len(toks) && toks[i+1].text == "." && toks[i+2].text == "." && toks[i+3].isName() {
				o.includes[cur] = append(o.includes[cur], toks[i+3].text)
				i += 3
			}
		case "relation":
			if cur == "" || i+1 >= len(toks) || !toks[i+1].isName() {
				continue
			}
			rel := toks[i+1].text
			o.rels[cur] = append(o.rels[cur], rel)
			i++
			if i+1 < len(toks) && toks[i+1].text == ":" {
				// The subject list: names after `:` and `|`.
				for j := i + 2; j < len(toks); j++ {
					if toks[j].isName() && (toks[j-1].text == ":" || toks[j-1].text == "|") && toks[j].text != "relation" && toks[j].text != "type" && toks[j].text != "condition" {
						o.subjects[[2]string{cur, rel}] = append(o.subjects[[2]string{cur, rel}], toks[j].text)
						continue
					}
					if toks[j].text == "relation" || toks[j].text == "type" || toks[j].text == "condition" || toks[j].text == "}" {
						break
					}
				}
			}
		}
	}
	return o
}

// completionContext is what the text before the cursor says is wanted.
type completionContext struct {
	keywords   []string
	types      bool
	partials   bool
	conditions bool
	relations  []string // of these types
	wildcard   bool
}

// contextAt reads the tokens before offset (the cursor) in schema text.
func contextAt(toks []token, o *outline, offset, cursorLine int) completionContext {
	var before []token
	for _, t := range toks {
		if t.start >= offset || t.isName() && t.end >= offset {
			// At the cursor, or the name being typed: what comes before
			// it decides.
			break
		}
		before = append(before, t)
	}
	// Where are we: the current type (body open) and relation.
	curType, inBody, relIdx := "", false, -1
	inCondition, depth := false, 0
	for i, t := range before {
		if inCondition {
			// A condition's body is CEL: nothing to complete in it, and
			// its braces are its own.
			switch t.text {
			case "{":
				depth++
			case "}":
				if depth--; depth == 0 {
					inCondition = false
				}
			}
			continue
		}
		switch t.text {
		case "condition":
			if i+2 < len(before) && before[i+1].isName() && before[i+2].text == "(" {
				curType, inBody, relIdx, inCondition = "", false, -1, true
			}
		case "type", "partial":
			if i+1 < len(before) && before[i+1].isName() {
				curType, inBody, relIdx = before[i+1].text, false, -1
			}
		case "{":
			inBody = curType != ""
		case "}":
			inBody, relIdx = false, -1
		case "relation":
			relIdx = i
		}
	}
	var ctx completionContext
	if inCondition {
		return ctx
	}
	if !inBody {
		if len(before) == 0 || before[len(before)-1].text == "}" || before[len(before)-1].isName() {
			ctx.keywords = topKeywords
		}
		return ctx
	}
	n := len(before)
	prev := before[n-1]
	if n >= 3 && before[n-1].text == "." && before[n-2].text == "." && before[n-3].text == "." {
		ctx.partials = true
		return ctx
	}
	onNewLine := func() bool { return cursorLine > prev.line }
	if relIdx < 0 || relIdx+2 >= n {
		// Right after `{`, or `relation` / `relation NAME` being written.
		if prev.text == "{" || prev.text == "}" {
			ctx.keywords = bodyKeywords
		}
		return ctx
	}
	op := before[relIdx+2].text // `:` or `=`
	switch {
	case op == ":":
		switch {
		case prev.text == "with":
			ctx.conditions, ctx.keywords = true, []string{expirationWord}
		case prev.text == "and" && n >= 3 && before[n-3].text == "with":
			ctx.keywords = []string{expirationWord}
		case prev.text == ":" && n-1 == relIdx+2, prev.text == "|":
			ctx.types = true
		case prev.text == "#" && n >= 2 && before[n-2].isName():
			ctx.relations = []string{before[n-2].text}
		case prev.text == ":" && n >= 2 && before[n-2].isName():
			ctx.wildcard = true
		case onNewLine():
			ctx.keywords = append(bodyKeywords, topKeywords...)
		}
	case op == "=":
		switch prev.text {
		case "=", "|", "&", "-", "(":
			ctx.relations = []string{curType}
		case ".", "#":
			ctx.relations = pathTypes(o, curType, before[relIdx+3:n-1])
		default:
			if onNewLine() {
				ctx.keywords = append(bodyKeywords, topKeywords...)
			}
		}
	}
	return ctx
}

// pathTypes follows the hops of a path being written (`a.b.` or `a#`) from
// typ and returns the types it reaches.
func pathTypes(o *outline, typ string, toks []token) []string {
	// The path is the trailing run of name ('.' name)* before the `.`/`#`.
	start := len(toks)
	for start > 0 {
		t := toks[start-1]
		if t.isName() || t.text == "." {
			start--
			continue
		}
		break
	}
	types := []string{typ}
	for _, t := range toks[start:] {
		if !t.isName() {
			continue
		}
		var next []string
		seen := map[string]bool{}
		for _, ty := range types {
			for _, s := range o.subjects[[2]string{ty, t.text}] {
				if !seen[s] {
					seen[s] = true
					next = append(next, s)
				}
			}
		}
		types = next
	}
	return types
}

func (a *analysis) complete(p protocol.Position) []protocol.CompletionItem {
	line, col, ok := a.fromDoc(p)
	if !ok {
		return nil
	}
	st := newText(a.emb.schema)
	offset := st.offset(st.position(line, col))
	toks := scan(a.emb.schema)
	o := readOutline(toks)
	ctx := contextAt(toks, o, offset, line-1)
	var items []protocol.CompletionItem
	add := func(label string, kind protocol.CompletionItemKind, detail string) {
		k := kind
		d := detail
		items = append(items, protocol.CompletionItem{Label: label, Kind: &k, Detail: &d})
	}
	for _, k := range ctx.keywords {
		add(k, protocol.CompletionItemKindKeyword, "keyword")
	}
	if ctx.types {
		for _, t := range o.types {
			add(t, protocol.CompletionItemKindClass, "type")
		}
	}
	if ctx.partials {
		for _, p := range o.partials {
			add(p, protocol.CompletionItemKindInterface, "partial")
		}
	}
	seen := map[string]bool{}
	owners := ctx.relations
	for _, t := range ctx.relations {
		// In a partial, the relations of the types that include it too.
		owners = append(owners, o.includers(t)...)
	}
	for _, t := range owners {
		for _, r := range o.relsOf(t) {
			if !seen[r] {
				seen[r] = true
				add(r, protocol.CompletionItemKindField, "relation of "+t)
			}
		}
	}
	if ctx.conditions {
		for _, c := range o.conditions {
			add(c, protocol.CompletionItemKindFunction, "condition")
		}
	}
	if ctx.wildcard {
		add("*", protocol.CompletionItemKindValue, "every subject of the type")
	}
	sort.SliceStable(items, func(i, j int) bool { return *items[i].Kind < *items[j].Kind })
	return items
}
