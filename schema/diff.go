package schema

import "fmt"

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
	Old, New string
}

func (d Difference) String() string {
	name := d.Type
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
	return out
}

// definition is a relation's right-hand side as the formatter writes it.
func definition(r *Relation) string {
	if r.Stored {
		return ": " + r.AllowedString()
	}
	return " = " + NodeString(r.Rewrite)
}
