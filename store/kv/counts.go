package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// The counts of a nesting relation (store/counts.go) are one key of their
// own tag, whose value holds the three counts as unsigned varints, so
// that a backend keeps them at revisions as it keeps tuples:
//
//	n 0 type 0 rel      sets, parents, children
const TagNestingCounts = 'n'

// CountKey is the key of typ#rel's counts.
func CountKey(typ, rel string) []byte { return AppendFields(nil, TagNestingCounts, typ, rel) }

// CountValue is the stored value of c.
func CountValue(c tuples.NestingCounts) []byte {
	b := make([]byte, 0, 3*binary.MaxVarintLen64)
	for _, n := range []int64{c.Sets, c.Parents, c.Children} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

func decodeCounts(v []byte) (tuples.NestingCounts, error) {
	var n [3]int64
	for i := range n {
		x, w := binary.Uvarint(v)
		if w <= 0 || x > 1<<62 {
			return tuples.NestingCounts{}, fmt.Errorf("malformed counts %x", v)
		}
		n[i], v = int64(x), v[w:]
	}
	if len(v) != 0 {
		return tuples.NestingCounts{}, fmt.Errorf("malformed counts: %d bytes left over", len(v))
	}
	return tuples.NestingCounts{Sets: n[0], Parents: n[1], Children: n[2]}, nil
}

// NestingCounts reads the counts of typ#rel.
func (s *Reader) NestingCounts(ctx context.Context, typ, rel string) (tuples.NestingCounts, bool, error) {
	if err := s.open(); err != nil {
		return tuples.NestingCounts{}, false, err
	}
	return s.counts.Get(typ, rel, func() (tuples.NestingCounts, bool, error) {
		v, found, err := s.v.Get(CountKey(typ, rel))
		if err != nil || !found {
			if err != nil {
				err = fmt.Errorf("read the counts of %s#%s: %w", typ, rel, err)
			}
			return tuples.NestingCounts{}, false, err
		}
		c, err := decodeCounts(v)
		if err != nil {
			return tuples.NestingCounts{}, false, fmt.Errorf("read the counts of %s#%s: %w", typ, rel, err)
		}
		return c, true, nil
	})
}

// NestingCountRelations lists the relations whose counts are kept.
func (s *Reader) NestingCountRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	var out []store.IndexedRelation
	err := s.v.Scan(ctx, []byte{TagNestingCounts, Sep}, nil, func(k, _ []byte) (bool, error) {
		f := bytes.Split(k[2:], []byte{Sep})
		if len(f) != 2 {
			return false, fmt.Errorf("malformed counts key %q", k)
		}
		out = append(out, store.IndexedRelation{Type: string(f[0]), Relation: string(f[1])})
		return true, nil
	})
	return out, err
}

// countReads is the part of store.CountReads a Txn's reader implements.
func (t *Txn) countReads() (store.CountReads, error) {
	cr, ok := t.Reader.(store.CountReads)
	if !ok {
		return nil, fmt.Errorf("the reader of this transaction reads no counts")
	}
	return cr, nil
}

// NestingCounts is the reader's.
func (t *Txn) NestingCounts(ctx context.Context, typ, rel string) (tuples.NestingCounts, bool, error) {
	cr, err := t.countReads()
	if err != nil {
		return tuples.NestingCounts{}, false, err
	}
	return cr.NestingCounts(ctx, typ, rel)
}

// NestingCountRelations is the reader's.
func (t *Txn) NestingCountRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	cr, err := t.countReads()
	if err != nil {
		return nil, err
	}
	return cr.NestingCountRelations(ctx)
}

// WriteNestingCounts stages count changes.
func (t *Txn) WriteNestingCounts(_ context.Context, changes []store.CountChange) error {
	t.C.Counts = append(t.C.Counts, changes...)
	return nil
}

var (
	_ store.CountReads = (*Reader)(nil)
	_ store.CountTxn   = (*Txn)(nil)
)
