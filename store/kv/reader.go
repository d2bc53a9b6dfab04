package kv

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"github.com/docketdb/docket/internal/arena"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// View is a key-value backend's read view at one revision, in terms of
// keys (see keys.go). A tuple's forward and reverse keys both hold its
// payload (tuples.AppendPayload) as their value, empty for a plain tuple,
// so that every read, forward or reverse, decides whether a tuple has
// expired without a second lookup.
type View interface {
	// Get returns the value stored under key and whether key is stored.
	// The value is nil for a plain tuple and valid only until the next
	// call on the view.
	Get(key []byte) (value []byte, found bool, err error)
	// Scan calls fn with each stored key that starts with prefix, and its
	// value, in order, beginning at the first key >= start (start nil: at
	// prefix), until fn returns false or an error. Key and value are
	// valid only during the call.
	Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) (bool, error)) error
}

// Reader answers the tuple reads of a snapshot from a View: the key
// layout, and so every read, is the same for the key-value backends. It
// implements every read of store.Reader but the schema's.
type Reader struct {
	v       View
	rev     tuples.Revision
	now     time.Time
	release func()
	closed  atomic.Bool
	states  indexStates
	counts  store.CountCache
}

// NewReader returns the reads of v, a view at rev that hides tuples
// expired at now (the zero time hides none: a raw read, for garbage
// collection and checks of the files); Close calls release once, to unpin
// the view.
func NewReader(v View, rev tuples.Revision, now time.Time, release func()) *Reader {
	return &Reader{v: v, rev: rev, now: now, release: release}
}

// Revision is the revision the reader reads at.
func (s *Reader) Revision() tuples.Revision { return s.rev }

// Now is the clock the reader judges expiry by.
func (s *Reader) Now() time.Time { return s.now }

// visible reports whether a stored value's tuple exists at the clock.
func (s *Reader) visible(value []byte) bool {
	return len(value) == 0 || !tuples.ExpiredValue(value, s.now)
}

// Close releases the view's pin; reads fail with tuples.ErrSnapshotClosed from
// then on. It is idempotent.
func (s *Reader) Close() error {
	if s.closed.CompareAndSwap(false, true) && s.release != nil {
		s.release()
	}
	return nil
}

// open fails once the snapshot is closed: its revision may be compacted
// away from then on, and a read must not answer from what is left.
func (s *Reader) open() error {
	if s.closed.Load() {
		return fmt.Errorf("read at revision %d: %w", s.rev, tuples.ErrSnapshotClosed)
	}
	return nil
}

func (s *Reader) Has(ctx context.Context, obj tuples.Object, relation string, subj tuples.Subject) (bool, error) {
	if err := s.open(); err != nil {
		return false, err
	}
	t := tuples.Tuple{ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
	// The key escapes through the view interface, so it is allocated
	// either way; sized to fit, it is a third of a fixed buffer.
	v, ok, err := s.v.Get(ForwardKey(make([]byte, 0, KeyLen(&t)), &t))
	return ok && s.visible(v), err
}

// Get returns the tuple stored under k with its payload, unless it has
// expired at the reader's clock.
func (s *Reader) Get(ctx context.Context, k tuples.Key) (tuples.Tuple, bool, error) {
	if err := s.open(); err != nil {
		return tuples.Tuple{}, false, err
	}
	t := k.Tuple()
	v, ok, err := s.v.Get(ForwardKey(make([]byte, 0, KeyLen(&t)), &t))
	if err != nil || !ok || !s.visible(v) {
		return tuples.Tuple{}, false, err
	}
	if t.Payload, err = tuples.DecodePayload(v); err != nil {
		return tuples.Tuple{}, false, fmt.Errorf("read %s: %w", k, err)
	}
	return t, true, nil
}

func (s *Reader) Subjects(ctx context.Context, obj tuples.Object, relation string, f tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	return func(yield func(tuples.Subject, error) bool) {
		if err := s.open(); err != nil {
			yield(tuples.Subject{}, err)
			return
		}
		d := subjectDecoder{f: f}
		err := s.subjects(ctx, obj, relation, &d, func(sub tuples.Subject, _ []byte) (bool, error) {
			return yield(sub, nil), nil
		})
		if err != nil {
			yield(tuples.Subject{}, err)
		}
	}
}

// subjects scans the subjects of obj#relation that pass d's filter and
// have not expired, calling fn with each and its stored value.
func (s *Reader) subjects(ctx context.Context, obj tuples.Object, relation string, d *subjectDecoder, fn func(tuples.Subject, []byte) (bool, error)) error {
	// One allocation for both: the object's range and, with a type
	// filter, the narrower range of that subject type.
	n := 5 + len(obj.Type) + len(obj.ID) + len(relation)
	prefix := make([]byte, 0, n+len(d.f.Type)+1)
	prefix = AppendFields(prefix, TagForward, obj.Type, obj.ID, relation)
	prefix = append(prefix, Sep)
	if d.f.Type != "" {
		prefix = append(append(prefix, d.f.Type...), Sep)
	}
	return s.v.Scan(ctx, prefix, nil, func(k, v []byte) (bool, error) {
		if !s.visible(v) {
			return true, nil
		}
		sub, ok, err := d.decode(k, n)
		if err != nil || !ok {
			return err == nil, err
		}
		return fn(sub, v)
	})
}

func (s *Reader) Reverse(ctx context.Context, subj tuples.Subject, objectType, relation string) iter.Seq2[tuples.Object, error] {
	return func(yield func(tuples.Object, error) bool) {
		if err := s.open(); err != nil {
			yield(tuples.Object{}, err)
			return
		}
		var ids arena.Strings
		err := s.reverse(ctx, subj, objectType, relation, func(id, _ []byte) (bool, error) {
			return yield(tuples.Object{Type: objectType, ID: ids.String(id)}, nil), nil
		})
		if err != nil {
			yield(tuples.Object{}, err)
		}
	}
}

// reverse scans the ids of the objects of objectType that store subj in
// relation and have not expired, calling fn with each and its value.
func (s *Reader) reverse(ctx context.Context, subj tuples.Subject, objectType, relation string, fn func(id, value []byte) (bool, error)) error {
	prefix := PrefixKey(TagReverse, subj.Type, subj.ID, subj.Relation, objectType, relation)
	return s.v.Scan(ctx, prefix, nil, func(k, v []byte) (bool, error) {
		if !s.visible(v) {
			return true, nil
		}
		return fn(k[len(prefix):], v)
	})
}

// subjectDecoder turns the forward keys of one object#relation into
// subjects. It filters on the key's bytes before making any string, and
// makes as few strings as it can: the type and relation come from the
// filter when it fixes them, or are shared with the previous subject when
// equal (the keys are sorted, so runs of one type are the rule); only ids
// are copied, into a shared arena.
type subjectDecoder struct {
	f        tuples.SubjectFilter
	typ, rel string
	ids      arena.Strings
}

// decode decodes k, whose subject fields start at off; ok is false when
// the subject does not pass the filter.
func (d *subjectDecoder) decode(k []byte, off int) (sub tuples.Subject, ok bool, err error) {
	if off > len(k) {
		return tuples.Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	rest := k[off:]
	i := bytes.IndexByte(rest, Sep)
	if i < 0 {
		return tuples.Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	j := bytes.IndexByte(rest[i+1:], Sep)
	if j < 0 {
		return tuples.Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	typ, id, rel := rest[:i], rest[i+1:i+1+j], rest[i+2+j:]
	f := &d.f
	if f.Type != "" && string(typ) != f.Type {
		return tuples.Subject{}, false, nil
	}
	if f.Plain && len(rel) != 0 {
		return tuples.Subject{}, false, nil
	}
	if f.Sets && (len(rel) == 0 || (f.Relation != "" && string(rel) != f.Relation)) {
		return tuples.Subject{}, false, nil
	}
	switch {
	case f.Type != "":
		sub.Type = f.Type
	case string(typ) != d.typ:
		d.typ = d.ids.String(typ)
		sub.Type = d.typ
	default:
		sub.Type = d.typ
	}
	switch {
	case len(rel) == 0:
	case f.Sets && f.Relation != "":
		sub.Relation = f.Relation // the filter above made them equal
	case string(rel) != d.rel:
		d.rel = d.ids.String(rel)
		sub.Relation = d.rel
	default:
		sub.Relation = d.rel
	}
	sub.ID = d.ids.String(id)
	return sub, true, nil
}

// Read pages through the tuples matching f. The cursor is the last key
// returned, in the index the filter is served from.
func (s *Reader) Read(ctx context.Context, f tuples.Filter, cursor string, limit int) ([]tuples.Tuple, string, error) {
	if err := s.open(); err != nil {
		return nil, "", err
	}
	tag, prefix := ScanPlan(f)
	var start []byte
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(k) == 0 || k[0] != tag || !bytes.HasPrefix(k, prefix) {
			return nil, "", fmt.Errorf("invalid read cursor %q: it belongs to another filter or is corrupt", cursor)
		}
		start = append(k, Sep) // the least key after k
	}
	var out []tuples.Tuple
	var last []byte
	more := false
	err := s.v.Scan(ctx, prefix, start, func(k, v []byte) (bool, error) {
		if limit > 0 && len(out) == limit {
			more = true
			return false, nil
		}
		if !s.visible(v) {
			return true, nil
		}
		t, err := DecodeKey(k)
		if err != nil {
			return false, err
		}
		if t.Payload, err = tuples.DecodePayload(v); err != nil {
			return false, fmt.Errorf("read %s: %w", t, err)
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
