// Package tuples holds relation tuples and the store that keeps them, with
// the schema, at revisions.
package tuples

// Tuple is one relation tuple, object#relation@subject. A subject is an
// object (SubjectRelation == ""), a subject set (SubjectRelation set) or a
// wildcard (SubjectID == "*").
type Tuple struct {
	ObjectType      string
	ObjectID        string
	Relation        string
	SubjectType     string
	SubjectID       string
	SubjectRelation string
}

// Object is a typed object, type:id.
type Object struct {
	Type string
	ID   string
}

// Subject is the subject side of a tuple: type:id, type:id#relation or type:*.
type Subject struct {
	Type     string
	ID       string
	Relation string
}

// Wildcard is the subject id that stands for every object of a type.
const Wildcard = "*"
