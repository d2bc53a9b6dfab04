package tuples

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"sync/atomic"
	"unsafe"

	"github.com/docketdb/docket/schema"
)

// snapshot implements Snapshot on a backend view: the key layout, and so
// every read, is the same for all backends.
type snapshot struct {
	v      view
	rev    Revision
	schema *schema.Schema
	closed atomic.Bool
}

func (s *snapshot) Revision() Revision { return s.rev }

// Close releases the view's pin; see Snapshot for the lifetime.
func (s *snapshot) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.v.release()
	}
	return nil
}

// open fails once the snapshot is closed: its revision may be compacted
// away from then on, and a read must not answer from what is left.
func (s *snapshot) open() error {
	if s.closed.Load() {
		return fmt.Errorf("read at revision %d: %w", s.rev, ErrSnapshotClosed)
	}
	return nil
}

func (s *snapshot) Schema() *schema.Schema { return s.schema }

func (s *snapshot) Has(ctx context.Context, obj Object, relation string, subj Subject) (bool, error) {
	if err := s.open(); err != nil {
		return false, err
	}
	t := Tuple{ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
	// The key escapes through the view interface, so it is allocated
	// either way; sized to fit, it is a third of a fixed buffer.
	return s.v.has(forwardKey(make([]byte, 0, keyLen(&t)), &t))
}

func (s *snapshot) Subjects(ctx context.Context, obj Object, relation string, f SubjectFilter) iter.Seq2[Subject, error] {
	return func(yield func(Subject, error) bool) {
		if err := s.open(); err != nil {
			yield(Subject{}, err)
			return
		}
		// One allocation for both: the object's range and, with a type
		// filter, the narrower range of that subject type.
		n := 5 + len(obj.Type) + len(obj.ID) + len(relation)
		prefix := make([]byte, 0, n+len(f.Type)+1)
		prefix = appendFields(prefix, tagForward, obj.Type, obj.ID, relation)
		prefix = append(prefix, sep)
		if f.Type != "" {
			prefix = append(append(prefix, f.Type...), sep)
		}
		d := subjectDecoder{f: f}
		err := s.v.scan(ctx, prefix, nil, func(k []byte) (bool, error) {
			sub, ok, err := d.decode(k, n)
			if err != nil || !ok {
				return err == nil, err
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
		if err := s.open(); err != nil {
			yield(Object{}, err)
			return
		}
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

// subjectDecoder turns the forward keys of one object#relation into
// subjects. It filters on the key's bytes before making any string, and
// makes as few strings as it can: the type and relation come from the
// filter when it fixes them, or are shared with the previous subject when
// equal (the keys are sorted, so runs of one type are the rule); only ids
// are copied, into a shared arena.
type subjectDecoder struct {
	f        SubjectFilter
	typ, rel string
	ids      stringArena
}

// decode decodes k, whose subject fields start at off; ok is false when
// the subject does not pass the filter.
func (d *subjectDecoder) decode(k []byte, off int) (sub Subject, ok bool, err error) {
	if off > len(k) {
		return Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	rest := k[off:]
	i := bytes.IndexByte(rest, sep)
	if i < 0 {
		return Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	j := bytes.IndexByte(rest[i+1:], sep)
	if j < 0 {
		return Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	typ, id, rel := rest[:i], rest[i+1:i+1+j], rest[i+2+j:]
	f := &d.f
	if f.Type != "" && string(typ) != f.Type {
		return Subject{}, false, nil
	}
	if f.Plain && len(rel) != 0 {
		return Subject{}, false, nil
	}
	if f.Sets && (len(rel) == 0 || (f.Relation != "" && string(rel) != f.Relation)) {
		return Subject{}, false, nil
	}
	switch {
	case f.Type != "":
		sub.Type = f.Type
	case string(typ) != d.typ:
		d.typ = d.ids.string(typ)
		sub.Type = d.typ
	default:
		sub.Type = d.typ
	}
	switch {
	case len(rel) == 0:
	case f.Sets && f.Relation != "":
		sub.Relation = f.Relation // the filter above made them equal
	case string(rel) != d.rel:
		d.rel = d.ids.string(rel)
		sub.Relation = d.rel
	default:
		sub.Relation = d.rel
	}
	sub.ID = d.ids.string(id)
	return sub, true, nil
}

// Read pages through the tuples matching f. The cursor is the last key
// returned, in the index the filter is served from.
func (s *snapshot) Read(ctx context.Context, f Filter, cursor string, limit int) ([]Tuple, string, error) {
	if err := s.open(); err != nil {
		return nil, "", err
	}
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
// blocks: one allocation per many ids instead of one per id. Blocks start
// small and double up to arenaBlock, so a scan that yields one id pays
// for a few dozen bytes, not a whole block, while long scans and imports
// still allocate once per arenaBlock bytes. A block is never written
// again once a string points into it.
type stringArena struct{ block []byte }

const (
	arenaFirst = 64
	arenaBlock = 8192
)

func (a *stringArena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.block)-len(a.block) < len(b) {
		size := min(max(2*cap(a.block), arenaFirst), arenaBlock)
		a.block = make([]byte, 0, max(size, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
