package tuples

import (
	"encoding/json"
)

// jsonTuple is one line of the JSON-lines format.
type jsonTuple struct {
	Object     string          `json:"object"`
	Relation   string          `json:"relation"`
	Subject    string          `json:"subject"`
	Condition  string          `json:"condition,omitempty"`
	Context    json.RawMessage `json:"context,omitempty"`
	Expiration string          `json:"expiration,omitempty"`
}

// MarshalJSONLine returns t, with its payload, as one line of the
// JSON-lines format, without the newline.
func MarshalJSONLine(t Tuple) ([]byte, error) {
	j := jsonTuple{Object: t.Object().String(), Relation: t.Relation, Subject: t.Subject().String(), Condition: t.Payload.Condition}
	if t.Payload.Context != "" {
		j.Context = json.RawMessage(t.Payload.Context)
	}
	if !t.Payload.Expires.IsZero() {
		j.Expiration = FormatExpiry(t.Payload.Expires)
	}
	return json.Marshal(j)
}
