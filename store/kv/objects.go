package kv

import (
	"bytes"
	"context"
	"fmt"

	"github.com/docketdb/docket/internal/arena"
	"github.com/docketdb/docket/tuples"
)

// ReadsObjects reports that ObjectTuples reads objects whole.
func (s *Reader) ReadsObjects() bool { return true }

// ObjectTuples reads the forward keys of obj, which lie together, in one
// scan (tuples.ObjectReader), stopping as soon as obj shows more than max
// visible tuples. Relation and subject type names repeat along the keys
// and are shared with the tuple before; ids are copied into one arena.
func (s *Reader) ObjectTuples(ctx context.Context, obj tuples.Object, max int) ([]tuples.ObjectTuple, bool, error) {
	if err := s.open(); err != nil {
		return nil, false, err
	}
	prefix := PrefixKey(TagForward, obj.Type, obj.ID)
	out := make([]tuples.ObjectTuple, 0, min(max, 12))
	var ids arena.Strings
	var rel, typ, srel string
	over := false
	err := s.v.Scan(ctx, prefix, nil, func(k, v []byte) (bool, error) {
		if !s.visible(v) {
			return true, nil
		}
		if len(out) == max {
			over = true
			return false, nil
		}
		// rel 0 subjtype 0 subjid 0 subjrel
		rest := k[len(prefix):]
		var f [3][]byte
		for i := range f {
			j := bytes.IndexByte(rest, Sep)
			if j < 0 {
				return false, fmt.Errorf("malformed tuple key %q", k)
			}
			f[i], rest = rest[:j], rest[j+1:]
		}
		if bytes.IndexByte(rest, Sep) >= 0 {
			return false, fmt.Errorf("malformed tuple key %q", k)
		}
		if string(f[0]) != rel {
			rel = ids.String(f[0])
		}
		if string(f[1]) != typ {
			typ = ids.String(f[1])
		}
		if string(rest) != srel {
			srel = ids.String(rest)
		}
		t := tuples.ObjectTuple{Relation: rel, Subject: tuples.Subject{Type: typ, ID: ids.String(f[2]), Relation: srel}}
		if len(v) > 0 {
			p, err := tuples.DecodePayload(v)
			if err != nil {
				return false, fmt.Errorf("read %s#%s@%s: %w", obj, t.Relation, t.Subject, err)
			}
			t.Payload = &p
		}
		out = append(out, t)
		return true, nil
	})
	if err != nil {
		return nil, false, err
	}
	if over {
		return nil, false, nil
	}
	return out, true, nil
}
