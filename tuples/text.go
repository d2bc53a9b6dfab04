package tuples

// Objects and subjects marshal as their text form ("case:1",
// "team:east#member", "user:*") so that JSON and YAML written from any
// package shows them as an operator writes them, and reads them back
// with the same checks as Parse.

// MarshalText returns the object as TYPE:ID.
func (o Object) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses TYPE:ID.
func (o *Object) UnmarshalText(b []byte) error {
	v, err := ParseObject(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// MarshalText returns the subject as TYPE:ID, TYPE:ID#RELATION or TYPE:*.
func (s Subject) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses TYPE:ID, TYPE:ID#RELATION or TYPE:*.
func (s *Subject) UnmarshalText(b []byte) error {
	v, err := ParseSubject(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
