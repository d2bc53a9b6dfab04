// Package kv is the byte-key layout that the key-value backends (Badger,
// go-memdb) share, and the tuple reads built on it: a backend provides a
// View (point lookups and ordered prefix scans of keys at one revision)
// and Reader answers every read of a snapshot from it.
package kv

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/tuples"
)

// Tuple keys are the six fields joined by 0x00 behind a one-letter index
// tag. Names and ids never contain 0x00 (ids are printable UTF-8), so the
// encoding is unambiguous, and because 0x00 sorts before every other byte
// the keys of one object (or one subject) form one contiguous range: the
// prefix "f\x00doc\x001\x00" never matches doc:10.
//
//	f 0 objtype 0 objid 0 rel 0 subjtype 0 subjid 0 subjrel   forward
//	r 0 subjtype 0 subjid 0 subjrel 0 objtype 0 rel 0 objid   reverse
const (
	TagForward = 'f'
	TagReverse = 'r'
	Sep        = 0x00
)

// AppendFields appends tag and the fields, each behind a separator.
func AppendFields(b []byte, tag byte, fields ...string) []byte {
	b = append(b, tag)
	for _, f := range fields {
		b = append(b, Sep)
		b = append(b, f...)
	}
	return b
}

// KeyLen is the length of a tuple's forward key, and of its reverse key.
func KeyLen(t *tuples.Tuple) int {
	return 7 + len(t.ObjectType) + len(t.ObjectID) + len(t.Relation) + len(t.SubjectType) + len(t.SubjectID) + len(t.SubjectRelation)
}

// ForwardKey appends t's forward key to b.
func ForwardKey(b []byte, t *tuples.Tuple) []byte {
	if n := KeyLen(t); cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return AppendFields(b, TagForward, t.ObjectType, t.ObjectID, t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation)
}

// ReverseKey appends t's reverse key to b.
func ReverseKey(b []byte, t *tuples.Tuple) []byte {
	if n := KeyLen(t); cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return AppendFields(b, TagReverse, t.SubjectType, t.SubjectID, t.SubjectRelation, t.ObjectType, t.Relation, t.ObjectID)
}

// PrefixKey is the range of keys whose leading fields are fields; it ends
// with a separator so that a field is matched whole.
func PrefixKey(tag byte, fields ...string) []byte {
	return append(AppendFields(nil, tag, fields...), Sep)
}

// DecodeKey turns a forward or reverse key back into its tuple.
func DecodeKey(k []byte) (tuples.Tuple, error) {
	if len(k) < 2 || k[1] != Sep {
		return tuples.Tuple{}, fmt.Errorf("malformed tuple key %q", k)
	}
	var f [6]string
	rest := k[2:]
	for i := range 6 {
		j := bytes.IndexByte(rest, Sep)
		if i == 5 {
			if j >= 0 {
				return tuples.Tuple{}, fmt.Errorf("malformed tuple key %q", k)
			}
			f[i] = string(rest)
			break
		}
		if j < 0 {
			return tuples.Tuple{}, fmt.Errorf("malformed tuple key %q", k)
		}
		f[i] = string(rest[:j])
		rest = rest[j+1:]
	}
	switch k[0] {
	case TagForward:
		return tuples.Tuple{ObjectType: f[0], ObjectID: f[1], Relation: f[2], SubjectType: f[3], SubjectID: f[4], SubjectRelation: f[5]}, nil
	case TagReverse:
		return tuples.Tuple{SubjectType: f[0], SubjectID: f[1], SubjectRelation: f[2], ObjectType: f[3], Relation: f[4], ObjectID: f[5]}, nil
	}
	return tuples.Tuple{}, fmt.Errorf("malformed tuple key %q", k)
}

// ScanPlan picks the index and key prefix that serve a filter: the
// forward index when the object type is known, the reverse index when the
// subject type is, else a full forward scan. The fields that the prefix
// does not cover are checked on each tuple.
func ScanPlan(f tuples.Filter) (tag byte, prefix []byte) {
	lead := func(tag byte, fields ...string) []byte {
		n := 0
		for n < len(fields) && fields[n] != "" {
			n++
		}
		if n == len(fields) { // every field set: the exact key
			return AppendFields(nil, tag, fields...)
		}
		return PrefixKey(tag, fields[:n]...)
	}
	switch {
	case f.ObjectType != "":
		return TagForward, lead(TagForward, f.ObjectType, f.ObjectID, f.Relation, f.SubjectType, f.SubjectID, f.SubjectRelation)
	case f.SubjectType != "":
		return TagReverse, lead(TagReverse, f.SubjectType, f.SubjectID, f.SubjectRelation, f.ObjectType, f.Relation, f.ObjectID)
	}
	return TagForward, []byte{TagForward, Sep}
}

// SortKeys sorts keys bytewise with an MSD radix sort: it reads each byte
// of the keys' distinguishing prefixes about once, where a comparison
// sort compares the long prefixes tuple keys share again and again. tmp
// is scratch space of at least len(keys), reused across calls.
func SortKeys(keys, tmp [][]byte) {
	radixSort(keys, tmp[:len(keys)], 0)
}

func radixSort(keys, tmp [][]byte, depth int) {
	for len(keys) >= 64 {
		// Bucket 0 holds keys that end at depth, which sort first.
		var count [257]int
		for _, k := range keys {
			count[byteAt(k, depth)]++
		}
		var start [257]int
		pos, used := 0, 0
		for b, c := range count {
			start[b] = pos
			pos += c
			if c > 0 {
				used++
			}
		}
		if used == 1 {
			if count[0] == len(keys) {
				return // all equal
			}
			depth++ // a byte they all share
			continue
		}
		next := start
		for _, k := range keys {
			b := byteAt(k, depth)
			tmp[next[b]] = k
			next[b]++
		}
		copy(keys, tmp)
		for b := 1; b < 257; b++ {
			if c := count[b]; c > 1 {
				radixSort(keys[start[b]:start[b]+c], tmp[start[b]:start[b]+c], depth+1)
			}
		}
		return
	}
	slices.SortFunc(keys, func(a, b []byte) int { return bytes.Compare(a[depth:], b[depth:]) })
}

func byteAt(k []byte, i int) int {
	if i < len(k) {
		return int(k[i]) + 1
	}
	return 0
}

// Value returns the value a tuple's keys store: its payload's stored
// form, nil for a plain tuple.
func Value(t *tuples.Tuple) []byte {
	if t.Payload.IsZero() {
		return nil
	}
	return tuples.AppendPayload(nil, t.Payload)
}

// ConflictError is a bulk write that holds one tuple twice with different
// payloads: which one to keep would be a guess, so nothing is written.
type ConflictError struct{ A, B tuples.Tuple }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s is given twice with different conditions or expiries (%s and %s); give each tuple once",
		e.A.Key(), describePayload(e.A.Payload), describePayload(e.B.Payload))
}

// Is makes a ConflictError an invalid input.
func (e *ConflictError) Is(target error) bool { return target == errkind.ErrInvalid }

func describePayload(p tuples.Payload) string {
	if p.IsZero() {
		return "plain"
	}
	return p.String()
}

// CheckConflicts refuses writes of one tuple with different payloads in
// one commit. Commits of plain tuples only, the common case, cost one
// pass and no memory.
func CheckConflicts(changes []tuples.Change) error {
	any := false
	for i := range changes {
		if !changes[i].Tuple.Payload.IsZero() {
			any = true
			break
		}
	}
	if !any {
		return nil
	}
	seen := make(map[tuples.Key]int, len(changes))
	for i := range changes {
		c := &changes[i]
		if c.Kind != tuples.ChangeWrite {
			continue
		}
		k := c.Tuple.Key()
		if j, ok := seen[k]; ok {
			if !changes[j].Tuple.Payload.Equal(c.Tuple.Payload) {
				return &ConflictError{A: changes[j].Tuple, B: c.Tuple}
			}
			continue
		}
		seen[k] = i
	}
	return nil
}

// Bulk loads sort a tuple's key and value together, as one item: the key,
// then, for a tuple with a payload, a separator and the value. A key holds
// exactly six separators, so the seventh starts the value; and since a
// key that is a prefix of another ends in a separator followed there by a
// name's letter, items sort as their keys do, with one key's items in a
// row.

// ItemLen is the length of t's forward (or reverse) item.
func ItemLen(t *tuples.Tuple) int {
	if t.Payload.IsZero() {
		return KeyLen(t)
	}
	return KeyLen(t) + 1 + tuples.PayloadLen(t.Payload)
}

// AppendValue appends t's value to an item whose key b ends with.
func AppendValue(b []byte, t *tuples.Tuple) []byte {
	if t.Payload.IsZero() {
		return b
	}
	return tuples.AppendPayload(append(b, Sep), t.Payload)
}

// SplitItem splits an item into its key and value.
func SplitItem(item []byte) (key, value []byte) {
	n := 0
	for i, c := range item {
		if c == Sep {
			if n++; n == 7 {
				return item[:i], item[i+1:]
			}
		}
	}
	return item, nil
}
