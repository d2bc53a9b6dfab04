package schema

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/docketdb/docket/condition"
)

// declareConditions checks and compiles every condition. A condition's
// CEL is compiled here, once; the checker evaluates the compiled program.
func (c *compiler) declareConditions(f *File) {
	c.badCondition = map[string]bool{}
	typePos := map[string]lexer.Position{}
	for _, td := range f.Types {
		if _, ok := typePos[td.Name.Name]; !ok {
			typePos[td.Name.Name] = td.Name.Pos
		}
	}
	seen := map[string]lexer.Position{}
	for _, cd := range f.Conditions {
		name := cd.Name.Name
		ok := c.checkName(cd.Name, "condition")
		switch prev, dup := seen[name]; {
		case dup:
			c.errorf(cd.Name.Pos, "rename one of them", "condition `%s` is declared twice (first at %d:%d)", name, prev.Line, prev.Column)
			continue
		case name == "expiration":
			c.errorf(cd.Name.Pos, "choose another name", "`expiration` is reserved: `with expiration` lets a tuple expire")
			ok = false
		}
		seen[name] = cd.Name.Pos
		if tp, clash := typePos[name]; clash {
			c.errorf(cd.Name.Pos, "conditions and types share one namespace; rename one of them",
				"condition `%s` has the name of the type declared at %d:%d", name, tp.Line, tp.Column)
			ok = false
		}
		params := make([]condition.Param, 0, len(cd.Params))
		paramPos := map[string]lexer.Position{}
		for _, pd := range cd.Params {
			if !c.checkName(pd.Name, "parameter") {
				ok = false
			}
			if prev, dup := paramPos[pd.Name.Name]; dup {
				c.errorf(pd.Name.Pos, "parameter names must be unique within a condition",
					"parameter `%s` is declared twice in condition `%s` (first at %d:%d)", pd.Name.Name, name, prev.Line, prev.Column)
				ok = false
				continue
			}
			paramPos[pd.Name.Name] = pd.Name.Pos
			t, err := condition.ParseType(pd.Type)
			if err != nil {
				hint := "parameter types are " + condition.TypeNames
				if s := didYouMean(pd.Type, strings.Fields(condition.TypeNames)); s != "" {
					hint = s
				}
				c.errorf(pd.TypePos, hint, "parameter `%s`: %v", pd.Name.Name, shortTypeError(err))
				ok = false
				continue
			}
			params = append(params, condition.Param{Name: pd.Name.Name, Type: t})
		}
		if !ok {
			c.badCondition[name] = true
			continue
		}
		if strings.TrimSpace(cd.Body) == "" {
			c.errorf(cd.BodyPos, "write a bool expression over the parameters, e.g. `now < review_ends`",
				"condition `%s` has no expression", name)
			c.badCondition[name] = true
			continue
		}
		prog, diags := condition.Compile(name, params, cd.Body, condition.Options{})
		if len(diags) > 0 {
			for _, d := range diags {
				c.errs = append(c.errs, Diagnostic{Pos: celPos(cd, d), Msg: celMessage(name, d.Message)})
			}
			c.badCondition[name] = true
			continue
		}
		cond := &Condition{ID: len(c.s.Conditions), Name: name, Doc: strings.Join(trimDoc(cd.Doc), "\n"), Program: prog}
		c.s.Conditions = append(c.s.Conditions, cond)
		c.s.conditionBy[name] = cond
	}
}

// celPos maps a position inside a condition's body to the file.
func celPos(cd *ConditionDecl, d condition.Diagnostic) Pos {
	p := posOf(cd.BodyPos)
	if d.Line <= 1 {
		p.Column += d.Column - 1
		return p
	}
	p.Line += d.Line - 1
	p.Column = d.Column
	return p
}

// celMessage keeps CEL's first line: its messages go on to draw the
// source with a caret, which the position already says.
func celMessage(name, msg string) string {
	first, _, _ := strings.Cut(msg, "\n")
	first = strings.TrimSuffix(first, " (in container '')")
	return "in condition `" + name + "`: " + first
}

func shortTypeError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " (one of "); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

func (c *compiler) unknownCondition(id Ident) {
	hint := didYouMean(id.Name, c.s.ConditionNames())
	if hint == "" && c.s.Type(id.Name) != nil {
		hint = fmt.Sprintf("`%s` is a type; `with` names a condition declared with `condition %s(...) { ... }`", id.Name, id.Name)
	}
	if hint == "" {
		hint = "declare it at the top level: `condition " + id.Name + "(PARAM TYPE, ...) { EXPRESSION }`"
	}
	c.errorf(id.Pos, hint, "unknown condition `%s`", id.Name)
}
