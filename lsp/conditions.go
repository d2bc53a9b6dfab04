package lsp

import (
	"strings"

	"github.com/docketdb/docket/schema"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Conditions: `condition NAME(PARAM TYPE, ...) { EXPRESSION }` at the top
// level, named by subjects as `user with NAME`.

// expirationWord is reserved: `with expiration` asks for an expiry, and no
// condition may take the name.
const expirationWord = "expiration"

func (ix *index) declareConditions(f *schema.File) {
	ix.conditions = map[string]*schema.ConditionDecl{}
	for _, cd := range f.Conditions {
		if ix.conditions[cd.Name.Name] == nil {
			ix.conditions[cd.Name.Name] = cd
		}
		ix.add(cd.Name, true, symbol{kind: symCondition, typ: cd.Name.Name})
	}
}

func (ix *index) conditionSym(name string) []symbol {
	if ix.conditions[name] == nil {
		return nil
	}
	return []symbol{{kind: symCondition, typ: name}}
}

// conditionLine is a condition's signature as the formatter writes it.
func conditionLine(cd *schema.ConditionDecl) string {
	params := make([]string, len(cd.Params))
	for i, p := range cd.Params {
		params[i] = p.Name.Name + " " + p.Type
	}
	return "condition " + cd.Name.Name + "(" + strings.Join(params, ", ") + ")"
}

func (a *analysis) conditionHover(sym symbol) string {
	cd := a.idx.conditions[sym.typ]
	if cd == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(codeBlock(conditionLine(cd) + " {\n  " + strings.TrimSpace(cd.Body) + "\n}"))
	if len(cd.Doc) > 0 {
		b.WriteString("\n\n" + docText(cd.Doc))
	}
	// The subjects that carry it.
	var users []string
	carriers := func(owner string, rels []*schema.RelationDecl) {
		for _, o := range a.idx.of(sym, false) {
			for _, rd := range rels {
				for _, s := range rd.Subjects {
					if s.Condition != nil && identSpan(*s.Condition) == o.span {
						users = append(users, "`"+owner+rd.Name.Name+"` allows `"+s.String()+"`")
					}
				}
			}
		}
	}
	if a.file != nil {
		for _, td := range a.file.Types {
			carriers(td.Name.Name+"#", td.Relations)
		}
		for _, pd := range a.file.Partials {
			carriers("..."+pd.Name.Name+" ", pd.Relations)
		}
	}
	if len(users) > 0 {
		b.WriteString("\n\nCarried by:\n")
		for _, u := range users {
			b.WriteString("\n- " + u)
		}
	}
	return b.String()
}

func (a *analysis) conditionSymbols() []protocol.DocumentSymbol {
	var out []protocol.DocumentSymbol
	for _, cd := range a.file.Conditions {
		name := identSpan(cd.Name)
		detail := strings.TrimPrefix(conditionLine(cd), "condition "+cd.Name.Name)
		out = append(out, protocol.DocumentSymbol{Name: cd.Name.Name, Detail: &detail, Kind: protocol.SymbolKindFunction,
			Range:          protocol.Range{Start: a.toDoc(cd.Pos.Line, cd.Pos.Column), End: a.spanRange(name).End},
			SelectionRange: a.spanRange(name)})
	}
	return out
}
