// Package kv is the byte-key layout that the key-value backends (Badger,
// go-memdb) share, and the tuple reads built on it: a backend provides a
// View (point lookups and ordered prefix scans of keys at one revision)
// and Reader answers every read of a snapshot from it.
package kv

import (
	"bytes"
	"fmt"
	"slices"

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
