package schema

import (
	"fmt"
	"strings"
)

// DiffKind says how a type or relation differs between two schemas.
type DiffKind int

// Kinds of difference.
const (
	Added DiffKind = iota + 1
	Removed
	Changed
)

func (k DiffKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Changed:
		return "changed"
	}
	return fmt.Sprintf("DiffKind(%d)", int(k))
}

// Difference is one type or relation that differs between two schemas.
// Old and New are its definitions as the formatter writes them (": user |
// team#member" for a stored relation, "= owner | editor" for a computed
// one), empty on the side where it does not exist. Documentation comments
// and declaration order are not differences: they do not change any
// answer.
type Difference struct {
	Kind     DiffKind
	Type     string
	Relation string // "" when the difference is a whole type
	// Condition names a condition that differs (Type is then ""); Old and
	// New are its parameters and expression, as in " (x int) { x > 1 }".
	Condition string
	Old, New  string
}

func (d Difference) String() string {
	name := d.Type
	if d.Condition != "" {
		name = "condition " + d.Condition
	}
	if d.Relation != "" {
		name += "#" + d.Relation
	}
	switch d.Kind {
	case Added:
		return "+ " + name + d.New
	case Removed:
		return "- " + name + d.Old
	}
	return "~ " + name + d.New + "   (was" + d.Old + ")"
}

// Diff lists what changes from old to new: types in new's order, then the
// types old had and new does not; within a type, relations likewise. A
// nil old is an empty schema.
func Diff(old, new *Schema) []Difference {
	var out []Difference
	oldType := func(name string) *Type {
		if old == nil {
			return nil
		}
		return old.Type(name)
	}
	for _, nt := range new.Types {
		ot := oldType(nt.Name)
		if ot == nil {
			out = append(out, Difference{Kind: Added, Type: nt.Name})
		}
		for _, nr := range nt.Relations {
			var or *Relation
			if ot != nil {
				or = ot.Relation(nr.Name)
			}
			switch def := definition(nr); {
			case or == nil:
				out = append(out, Difference{Kind: Added, Type: nt.Name, Relation: nr.Name, New: def})
			case definition(or) != def:
				out = append(out, Difference{Kind: Changed, Type: nt.Name, Relation: nr.Name, Old: definition(or), New: def})
			}
		}
		if ot != nil {
			for _, or := range ot.Relations {
				if nt.Relation(or.Name) == nil {
					out = append(out, Difference{Kind: Removed, Type: nt.Name, Relation: or.Name, Old: definition(or)})
				}
			}
		}
	}
	if old != nil {
		for _, ot := range old.Types {
			if new.Type(ot.Name) == nil {
				out = append(out, Difference{Kind: Removed, Type: ot.Name})
			}
		}
	}
	return append(out, diffConditions(old, new)...)
}

// diffConditions lists conditions added, removed, or changed in their
// parameters or expression, in new's order then old's.
func diffConditions(old, new *Schema) []Difference {
	var out []Difference
	for _, nc := range new.Conditions {
		var oc *Condition
		if old != nil {
			oc = old.Condition(nc.Name)
		}
		switch def := conditionDefinition(nc); {
		case oc == nil:
			out = append(out, Difference{Kind: Added, Condition: nc.Name, New: def})
		case conditionDefinition(oc) != def:
			out = append(out, Difference{Kind: Changed, Condition: nc.Name, Old: conditionDefinition(oc), New: def})
		}
	}
	if old != nil {
		for _, oc := range old.Conditions {
			if new.Condition(oc.Name) == nil {
				out = append(out, Difference{Kind: Removed, Condition: oc.Name, Old: conditionDefinition(oc)})
			}
		}
	}
	return out
}

// conditionDefinition is `(PARAMS) { EXPR }` with the expression on one
// line, whitespace runs folded.
func conditionDefinition(c *Condition) string {
	sig := c.Signature()
	return sig[len(c.Name):] + " { " + strings.Join(strings.Fields(c.Program.Expr()), " ") + " }"
}

// definition is a relation's right-hand side as the formatter writes it.
func definition(r *Relation) string {
	if r.Stored {
		return ": " + r.AllowedString()
	}
	return " = " + NodeString(r.Rewrite)
}
