package tuples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonTuple is one line of the JSON-lines format.
type jsonTuple struct {
	Object   string `json:"object"`
	Relation string `json:"relation"`
	Subject  string `json:"subject"`
}

// ParseJSONLine reads one line of the JSON-lines format,
// {"object":"type:id","relation":"name","subject":"type:id"}, with the
// checks of Parse. Unknown fields are refused.
func ParseJSONLine(b []byte) (Tuple, error) {
	var j jsonTuple
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Tuple{}, fmt.Errorf("not a tuple object %s: %w", `{"object":"type:id","relation":"name","subject":"type:id"}`, err)
	}
	switch {
	case j.Object == "":
		return Tuple{}, errors.New(`missing "object"`)
	case j.Relation == "":
		return Tuple{}, errors.New(`missing "relation"`)
	case j.Subject == "":
		return Tuple{}, errors.New(`missing "subject"`)
	}
	return Parse(j.Object + "#" + j.Relation + "@" + j.Subject)
}

// MarshalJSONLine returns t as one line of the JSON-lines format, without
// the newline.
func MarshalJSONLine(t Tuple) ([]byte, error) {
	return json.Marshal(jsonTuple{Object: t.Object().String(), Relation: t.Relation, Subject: t.Subject().String()})
}
