package tuples

// Tuple is one relation tuple, object#relation@subject. A subject is an
// object (SubjectRelation == ""), a subject set (SubjectRelation set) or a
// wildcard (SubjectID == "*").
//
// A tuple's identity is its Key. What a tuple carries besides (Payload: a
// condition with its context, an expiry) is not part of it: two tuples
// with one key are one tuple, and writing the key again with another
// payload replaces it. So compare and index tuples by Key, never with ==
// or as map keys, which compare payloads too (and expiries by their time
// zone).
type Tuple struct {
	ObjectType      string
	ObjectID        string
	Relation        string
	SubjectType     string
	SubjectID       string
	SubjectRelation string
	// Payload is what the tuple carries; zero for a plain tuple.
	Payload Payload
}

// Key is a tuple's identity: its object, relation and subject. It is
// comparable, the key of maps and sets of tuples.
type Key struct {
	ObjectType      string
	ObjectID        string
	Relation        string
	SubjectType     string
	SubjectID       string
	SubjectRelation string
}

// Key returns the tuple's identity.
func (t Tuple) Key() Key {
	return Key{ObjectType: t.ObjectType, ObjectID: t.ObjectID, Relation: t.Relation,
		SubjectType: t.SubjectType, SubjectID: t.SubjectID, SubjectRelation: t.SubjectRelation}
}

// Text returns the text form with the payload's bracket suffix, as
// exports and imports write it: object#relation@subject[...][...].
func (t Tuple) Text() string {
	if t.Payload.IsZero() {
		return t.String()
	}
	return t.String() + t.Payload.String()
}

// Tuple returns the plain tuple of the key, carrying nothing.
func (k Key) Tuple() Tuple {
	return Tuple{ObjectType: k.ObjectType, ObjectID: k.ObjectID, Relation: k.Relation,
		SubjectType: k.SubjectType, SubjectID: k.SubjectID, SubjectRelation: k.SubjectRelation}
}

// String returns the text form object#relation@subject.
func (k Key) String() string { return k.Tuple().String() }

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

// String returns "type:id".
func (o Object) String() string { return o.Type + ":" + o.ID }

// String returns "type:id", "type:id#relation" or "type:*".
func (s Subject) String() string {
	if s.Relation == "" {
		return s.Type + ":" + s.ID
	}
	return s.Type + ":" + s.ID + "#" + s.Relation
}

// IsWildcard reports whether the subject is type:*.
func (s Subject) IsWildcard() bool { return s.ID == Wildcard }

// Object returns the object side of the tuple.
func (t Tuple) Object() Object { return Object{Type: t.ObjectType, ID: t.ObjectID} }

// Subject returns the subject side of the tuple.
func (t Tuple) Subject() Subject {
	return Subject{Type: t.SubjectType, ID: t.SubjectID, Relation: t.SubjectRelation}
}

// String returns the text form object#relation@subject.
func (t Tuple) String() string {
	return t.ObjectType + ":" + t.ObjectID + "#" + t.Relation + "@" + t.Subject().String()
}

// New builds a tuple from its parts.
func New(obj Object, relation string, subj Subject) Tuple {
	return Tuple{
		ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation,
		SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation,
	}
}

// Matches reports whether the tuple matches the filter.
func (f Filter) Matches(t Tuple) bool {
	return (f.ObjectType == "" || f.ObjectType == t.ObjectType) &&
		(f.ObjectID == "" || f.ObjectID == t.ObjectID) &&
		(f.Relation == "" || f.Relation == t.Relation) &&
		(f.SubjectType == "" || f.SubjectType == t.SubjectType) &&
		(f.SubjectID == "" || f.SubjectID == t.SubjectID) &&
		(f.SubjectRelation == "" || f.SubjectRelation == t.SubjectRelation)
}

// Matches reports whether the subject passes the filter.
func (f SubjectFilter) Matches(s Subject) bool {
	if f.Type != "" && f.Type != s.Type {
		return false
	}
	if f.Plain && s.Relation != "" {
		return false
	}
	if f.Sets && (s.Relation == "" || (f.Relation != "" && f.Relation != s.Relation)) {
		return false
	}
	return true
}
