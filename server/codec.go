package server

import (
	"encoding/json"
	"fmt"
	"sort"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonCodec is Connect's JSON codec, except that answers spell out
// fields at their zero value: `"allowed": false` rather than nothing,
// which is what someone reading curl's output expects. Unknown request
// fields are ignored, so older servers accept newer clients' requests.
// name is the codec's name in the content type: Connect spells JSON
// both "application/json" and "application/json; charset=utf-8", and a
// request must be read the same way under either.
type jsonCodec struct{ name string }

// The names jsonCodec is registered under.
const (
	jsonName        = "json"
	jsonCharsetName = "json; charset=utf-8"
)

func (c jsonCodec) Name() string { return c.name }

func (jsonCodec) Marshal(m any) ([]byte, error) {
	msg, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("json codec: %T is not a protobuf message", m)
	}
	return protojson.MarshalOptions{EmitDefaultValues: true}.Marshal(msg)
}

func (jsonCodec) Unmarshal(b []byte, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("json codec: %T is not a protobuf message", m)
	}
	if len(b) == 0 {
		// An empty body is the empty message, as in Connect's own codec.
		return nil
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if err := opts.Unmarshal(b, msg); err != nil {
		if field := badField(opts, b, msg); field != "" {
			return fmt.Errorf("%s: %w", field, err)
		}
		return err
	}
	return nil
}

// badField names the top-level field of a JSON request that does not
// decode (protojson's errors give only a position), by decoding each
// field alone; "" when none fails alone. It runs only on a failed
// request.
func badField(opts protojson.UnmarshalOptions, b []byte, msg proto.Message) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return ""
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		one, err := json.Marshal(map[string]json.RawMessage{k: top[k]})
		if err != nil {
			continue
		}
		if opts.Unmarshal(one, msg.ProtoReflect().New().Interface()) != nil {
			return k
		}
	}
	return ""
}
