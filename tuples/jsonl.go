package tuples

import (
	"encoding/json"
)

// jsonTuple is one line of the JSON-lines format.
type jsonTuple struct {
	Object   string `json:"object"`
	Relation string `json:"relation"`
	Subject  string `json:"subject"`
}

// MarshalJSONLine returns t as one line of the JSON-lines format, without
// the newline.
func MarshalJSONLine(t Tuple) ([]byte, error) {
	return json.Marshal(jsonTuple{Object: t.Object().String(), Relation: t.Relation, Subject: t.Subject().String()})
}
