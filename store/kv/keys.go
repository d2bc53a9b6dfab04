package tuples

import (
	"bytes"
	"fmt"
	"slices"
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
	tagForward = 'f'
	tagReverse = 'r'
	sep        = 0x00
)

func appendFields(b []byte, tag byte, fields ...string) []byte {
	b = append(b, tag)
	for _, f := range fields {
		b = append(b, sep)
		b = append(b, f...)
	}
	return b
}

// keyLen is the length of a tuple's forward key, and of its reverse key.
func keyLen(t *Tuple) int {
	return 7 + len(t.ObjectType) + len(t.ObjectID) + len(t.Relation) + len(t.SubjectType) + len(t.SubjectID) + len(t.SubjectRelation)
}

func forwardKey(b []byte, t *Tuple) []byte {
	if n := keyLen(t); cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return appendFields(b, tagForward, t.ObjectType, t.ObjectID, t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation)
}

func reverseKey(b []byte, t *Tuple) []byte {
	if n := keyLen(t); cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return appendFields(b, tagReverse, t.SubjectType, t.SubjectID, t.SubjectRelation, t.ObjectType, t.Relation, t.ObjectID)
}

// prefixKey is the range of keys whose leading fields are fields; it ends
// with a separator so that a field is matched whole.
func prefixKey(tag byte, fields ...string) []byte {
	return append(appendFields(nil, tag, fields...), sep)
}

// decodeKey turns a forward or reverse key back into its tuple.
func decodeKey(k []byte) (Tuple, error) {
	if len(k) < 2 || k[1] != sep {
		return Tuple{}, fmt.Errorf("malformed tuple key %q", k)
	}
	var f [6]string
	rest := k[2:]
	for i := range 6 {
		j := bytes.IndexByte(rest, sep)
		if i == 5 {
			if j >= 0 {
				return Tuple{}, fmt.Errorf("malformed tuple key %q", k)
			}
			f[i] = string(rest)
			break
		}
		if j < 0 {
			return Tuple{}, fmt.Errorf("malformed tuple key %q", k)
		}
		f[i] = string(rest[:j])
		rest = rest[j+1:]
	}
	switch k[0] {
	case tagForward:
		return Tuple{ObjectType: f[0], ObjectID: f[1], Relation: f[2], SubjectType: f[3], SubjectID: f[4], SubjectRelation: f[5]}, nil
	case tagReverse:
		return Tuple{SubjectType: f[0], SubjectID: f[1], SubjectRelation: f[2], ObjectType: f[3], Relation: f[4], ObjectID: f[5]}, nil
	}
	return Tuple{}, fmt.Errorf("malformed tuple key %q", k)
}

// lastField returns the bytes after the last separator: the subject
// relation of a forward key, the object id of a reverse key.
func lastField(k []byte) []byte {
	return k[bytes.LastIndexByte(k, sep)+1:]
}

// scanPlan picks the index and key prefix that serve a filter: the
// forward index when the object type is known, the reverse index when the
// subject type is, else a full forward scan. The fields that the prefix
// does not cover are checked on each tuple.
func scanPlan(f Filter) (tag byte, prefix []byte) {
	lead := func(tag byte, fields ...string) []byte {
		n := 0
		for n < len(fields) && fields[n] != "" {
			n++
		}
		if n == len(fields) { // every field set: the exact key
			return appendFields(nil, tag, fields...)
		}
		return prefixKey(tag, fields[:n]...)
	}
	switch {
	case f.ObjectType != "":
		return tagForward, lead(tagForward, f.ObjectType, f.ObjectID, f.Relation, f.SubjectType, f.SubjectID, f.SubjectRelation)
	case f.SubjectType != "":
		return tagReverse, lead(tagReverse, f.SubjectType, f.SubjectID, f.SubjectRelation, f.ObjectType, f.Relation, f.ObjectID)
	}
	return tagForward, []byte{tagForward, sep}
}

// sortKeys sorts keys bytewise with an MSD radix sort: it reads each byte
// of the keys' distinguishing prefixes about once, where a comparison
// sort compares the long prefixes tuple keys share again and again. tmp
// is scratch space of at least len(keys), reused across calls.
func sortKeys(keys, tmp [][]byte) {
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
