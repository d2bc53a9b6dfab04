package tuples

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"unsafe"

	"github.com/docketdb/docket/schema"
)

// snapshot implements Snapshot on a backend view: the key layout, and so
// every read, is the same for all backends.
type snapshot struct {
	v      view
	rev    Revision
	schema *schema.Schema
}

func (s *snapshot) Revision() Revision { return s.rev }

func (s *snapshot) Schema() *schema.Schema { return s.schema }

func (s *snapshot) Has(ctx context.Context, obj Object, relation string, subj Subject) (bool, error) {
	var buf [128]byte
	t := Tuple{ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
	return s.v.has(forwardKey(buf[:0], &t))
}

func (s *snapshot) Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error] {
	return func(yield func(Subject, error) bool) {
		base := prefixKey(tagForward, obj.Type, obj.ID, relation)
		prefix := base
		if f.Type != "" {
			prefix = append(append(prefix[:len(prefix):len(prefix)], f.Type...), sep)
		}
		var ids stringArena
		err := s.v.scan(ctx, prefix, nil, func(k []byte) (bool, error) {
			rest := k[len(base):]
			parts := bytes.SplitN(rest, []byte{sep}, 3)
			if len(parts) != 3 {
				return false, fmt.Errorf("malformed tuple key %q", k)
			}
			sub := Subject{Type: ids.string(parts[0]), ID: ids.string(parts[1]), Relation: ids.string(parts[2])}
			if !f.Matches(sub) {
				return true, nil
			}
			return yield(sub, nil), nil
		})
		if err != nil {
			yield(Subject{}, err)
		}
	}
}

func (s *snapshot) Reverse(ctx context.Context, subj Subject, objectType, relation string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		prefix := prefixKey(tagReverse, subj.Type, subj.ID, subj.Relation, objectType, relation)
		var ids stringArena
		err := s.v.scan(ctx, prefix, nil, func(k []byte) (bool, error) {
			return yield(Object{Type: objectType, ID: ids.string(k[len(prefix):])}, nil), nil
		})
		if err != nil {
			yield(Object{}, err)
		}
	}
}

// Read pages through the tuples matching f. The cursor is the last key
// returned, in the index the filter is served from.
func (s *snapshot) Read(ctx context.Context, f Filter, cursor string, limit int) ([]Tuple, string, error) {
	tag, prefix := scanPlan(f)
	var start []byte
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(k) == 0 || k[0] != tag || !bytes.HasPrefix(k, prefix) {
			return nil, "", fmt.Errorf("invalid read cursor %q: it belongs to another filter or is corrupt", cursor)
		}
		start = append(k, sep) // the least key after k
	}
	var out []Tuple
	var last []byte
	more := false
	err := s.v.scan(ctx, prefix, start, func(k []byte) (bool, error) {
		if limit > 0 && len(out) == limit {
			more = true
			return false, nil
		}
		t, err := decodeKey(k)
		if err != nil {
			return false, err
		}
		if f.Matches(t) {
			out = append(out, t)
			last = append(last[:0], k...)
		}
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = base64.RawURLEncoding.EncodeToString(last)
	}
	return out, next, nil
}

// stringArena copies many short strings out of scanned keys into shared
// blocks: one allocation per few thousand ids instead of one per id. A
// block is never written again once a string points into it.
type stringArena struct{ block []byte }

func (a *stringArena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, max(8192, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
