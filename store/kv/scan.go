package kv

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	"github.com/docketdb/docket/internal/arena"
	"github.com/docketdb/docket/tuples"
)

// ScanObjects reads the forward keys of objectType in key order, which
// is the order of object id, from the first object above after, and
// yields the objects storing one or more of wants
// (tuples.ObjectScanner). A key is matched on its bytes: only an object
// that matches makes a string.
func (s *Reader) ScanObjects(ctx context.Context, objectType, after string, wants []tuples.Want, budget int) (iter.Seq2[tuples.ScanMatch, error], bool) {
	return func(yield func(tuples.ScanMatch, error) bool) {
		if err := s.open(); err != nil {
			yield(tuples.ScanMatch{}, err)
			return
		}
		// Each want is the tail of a forward key after the object id:
		// rel 0 subjtype 0 subjid 0 subjrel.
		index := make(map[string]int, len(wants))
		for i := len(wants) - 1; i >= 0; i-- {
			w := wants[i]
			index[w.Relation+"\x00"+w.Subject.Type+"\x00"+w.Subject.ID+"\x00"+w.Subject.Relation] = i
		}
		prefix := PrefixKey(TagForward, objectType)
		start := prefix
		if after != "" {
			// The least key above every key of object after: ids hold no
			// byte below 0x01.
			start = append(append(bytes.Clone(prefix), after...), 0x01)
		}
		var ids arena.Strings
		var cur []byte  // the id of the object being read
		var found []int // the wants it stores so far
		read, stopped, done := 0, false, false
		// flush yields the object read last, if it stores any want.
		flush := func() bool {
			if len(found) == 0 {
				return true
			}
			m := tuples.ScanMatch{ObjectID: ids.String(cur), Wants: found, Scanned: read}
			found = nil
			return yield(m, nil)
		}
		err := s.v.Scan(ctx, prefix, start, func(k, v []byte) (bool, error) {
			rest := k[len(prefix):]
			i := bytes.IndexByte(rest, Sep)
			if i < 0 {
				return false, fmt.Errorf("malformed tuple key %q", k)
			}
			id, tail := rest[:i], rest[i+1:]
			if !bytes.Equal(id, cur) {
				if !flush() {
					done = true
					return false, nil
				}
				if budget > 0 && read >= budget {
					stopped = true
					return false, nil
				}
				cur = append(cur[:0], id...)
			}
			read++
			if w, ok := index[string(tail)]; ok && s.visible(v) {
				found = append(found, w)
			}
			return true, nil
		})
		if err != nil {
			yield(tuples.ScanMatch{}, err)
			return
		}
		if done {
			return
		}
		if stopped {
			// Every tuple of cur was read: the budget stops a scan only
			// as it reaches the next object.
			lastDone := after
			if cur != nil {
				lastDone = string(cur)
			}
			yield(tuples.ScanMatch{ObjectID: lastDone, Scanned: read, Stopped: true}, nil)
			return
		}
		flush()
	}, true
}
