package kv

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// The membership index (see store/index.go) is stored as keys of its own
// tags, beside the tuple keys and like them without values, so that a
// backend keeps it at revisions exactly as it keeps tuples:
//
//	G 0 type 0 rel                                  the index of type#rel is maintained
//	g 0 type 0 rel 0 group 0 above 0 <chain:1>      above holds group through chain subject sets
//	g 0 type 0 rel 0 group 0 0 0xff                 group's overflow marker (above "")
//
// The chain is one byte (1 to store.MaxIndexChain), last, so a group's
// row is one prefix scan; the marker sorts first in it, since ids are
// never empty.
const (
	TagGroupIndex = 'g'
	TagIndexState = 'G'
	overflowChain = 0xff
)

// IndexKey appends the key of index entry c to b.
func IndexKey(b []byte, c *store.IndexChange) []byte {
	if c.Group == "" {
		return AppendFields(b, TagIndexState, c.Type, c.Relation)
	}
	b = AppendFields(b, TagGroupIndex, c.Type, c.Relation, c.Group, c.Above)
	if c.Above == "" {
		return append(b, Sep, overflowChain)
	}
	return append(b, Sep, byte(c.Chain))
}

// decodeIndexEntry decodes an entry key of typ#rel; off is where the
// group starts.
func decodeIndexEntry(k []byte, off int, typ, rel string) (store.IndexChange, error) {
	if len(k) < off+4 || k[len(k)-2] != Sep {
		return store.IndexChange{}, fmt.Errorf("malformed index key %q", k)
	}
	rest := k[off : len(k)-2]
	i := bytes.IndexByte(rest, Sep)
	if i <= 0 {
		return store.IndexChange{}, fmt.Errorf("malformed index key %q", k)
	}
	c := store.IndexChange{Type: typ, Relation: rel, Group: string(rest[:i]), Above: string(rest[i+1:])}
	chain := k[len(k)-1]
	switch {
	case c.Above == "" && chain == overflowChain:
	case c.Above != "" && chain >= 1 && chain <= store.MaxIndexChain:
		c.Chain = int(chain)
	default:
		return store.IndexChange{}, fmt.Errorf("malformed index key %q", k)
	}
	return c, nil
}

// indexStates caches, per reader, which relations' index is maintained:
// a reader's revision never changes, so neither does the answer.
type indexStates struct {
	mu sync.Mutex
	on map[[2]string]bool
}

// GroupIndexState reports whether the index of typ#rel is maintained.
func (s *Reader) GroupIndexState(ctx context.Context, typ, rel string) (bool, error) {
	if err := s.open(); err != nil {
		return false, err
	}
	k := [2]string{typ, rel}
	s.states.mu.Lock()
	on, ok := s.states.on[k]
	s.states.mu.Unlock()
	if ok {
		return on, nil
	}
	_, on, err := s.v.Get(AppendFields(nil, TagIndexState, typ, rel))
	if err != nil {
		return false, fmt.Errorf("read the index state of %s#%s: %w", typ, rel, err)
	}
	s.states.mu.Lock()
	if s.states.on == nil {
		s.states.on = make(map[[2]string]bool)
	}
	s.states.on[k] = on
	s.states.mu.Unlock()
	return on, nil
}

// GroupIndexRow reads group's row as stored.
func (s *Reader) GroupIndexRow(ctx context.Context, typ, rel, group string) ([]tuples.GroupAbove, bool, error) {
	if err := s.open(); err != nil {
		return nil, false, err
	}
	prefix := PrefixKey(TagGroupIndex, typ, rel, group)
	var row []tuples.GroupAbove
	overflow := false
	err := s.v.Scan(ctx, prefix, nil, func(k, _ []byte) (bool, error) {
		rest := k[len(prefix):]
		if len(rest) < 2 || rest[len(rest)-2] != Sep {
			return false, fmt.Errorf("malformed index key %q", k)
		}
		chain := rest[len(rest)-1]
		above := rest[:len(rest)-2]
		switch {
		case len(above) == 0 && chain == overflowChain:
			overflow = true
		case len(above) > 0 && bytes.IndexByte(above, Sep) < 0 && chain >= 1 && chain <= store.MaxIndexChain:
			row = append(row, tuples.GroupAbove{ID: string(above), Chain: int(chain)})
		default:
			return false, fmt.Errorf("malformed index key %q", k)
		}
		return true, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read the index row of %s:%s#%s: %w", typ, group, rel, err)
	}
	return row, overflow, nil
}

// GroupsAbove answers from the row of group, when the relation's index is
// maintained and group is not over the bound.
func (s *Reader) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	on, err := s.GroupIndexState(ctx, group.Type, relation)
	if err != nil || !on {
		return nil, false, err
	}
	row, overflow, err := s.GroupIndexRow(ctx, group.Type, relation, group.ID)
	if err != nil || overflow {
		return nil, false, err
	}
	return row, true, nil
}

// GroupIndexEntries iterates every entry of typ#rel.
func (s *Reader) GroupIndexEntries(ctx context.Context, typ, rel string) iter.Seq2[store.IndexChange, error] {
	return func(yield func(store.IndexChange, error) bool) {
		if err := s.open(); err != nil {
			yield(store.IndexChange{}, err)
			return
		}
		prefix := PrefixKey(TagGroupIndex, typ, rel)
		err := s.v.Scan(ctx, prefix, nil, func(k, _ []byte) (bool, error) {
			c, err := decodeIndexEntry(k, len(prefix), typ, rel)
			if err != nil {
				return false, err
			}
			return yield(c, nil), nil
		})
		if err != nil {
			yield(store.IndexChange{}, err)
		}
	}
}

// GroupIndexRelations lists the relations whose index is maintained.
func (s *Reader) GroupIndexRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	var out []store.IndexedRelation
	err := s.v.Scan(ctx, []byte{TagIndexState, Sep}, nil, func(k, _ []byte) (bool, error) {
		f := bytes.Split(k[2:], []byte{Sep})
		if len(f) != 2 {
			return false, fmt.Errorf("malformed index state key %q", k)
		}
		out = append(out, store.IndexedRelation{Type: string(f[0]), Relation: string(f[1])})
		return true, nil
	})
	return out, err
}

// indexReads is the part of store.IndexReads a Txn's reader implements.
func (t *Txn) indexReads() (store.IndexReads, error) {
	ix, ok := t.Reader.(store.IndexReads)
	if !ok {
		return nil, fmt.Errorf("the reader of this transaction reads no membership index")
	}
	return ix, nil
}

// GroupIndexState is the reader's.
func (t *Txn) GroupIndexState(ctx context.Context, typ, rel string) (bool, error) {
	ix, err := t.indexReads()
	if err != nil {
		return false, err
	}
	return ix.GroupIndexState(ctx, typ, rel)
}

// GroupIndexRow is the reader's.
func (t *Txn) GroupIndexRow(ctx context.Context, typ, rel, group string) ([]tuples.GroupAbove, bool, error) {
	ix, err := t.indexReads()
	if err != nil {
		return nil, false, err
	}
	return ix.GroupIndexRow(ctx, typ, rel, group)
}

// GroupsAbove is the reader's.
func (t *Txn) GroupsAbove(ctx context.Context, group tuples.Object, relation string) ([]tuples.GroupAbove, bool, error) {
	ix, err := t.indexReads()
	if err != nil {
		return nil, false, err
	}
	return ix.GroupsAbove(ctx, group, relation)
}

// GroupIndexEntries is the reader's.
func (t *Txn) GroupIndexEntries(ctx context.Context, typ, rel string) iter.Seq2[store.IndexChange, error] {
	ix, err := t.indexReads()
	if err != nil {
		return func(yield func(store.IndexChange, error) bool) { yield(store.IndexChange{}, err) }
	}
	return ix.GroupIndexEntries(ctx, typ, rel)
}

// GroupIndexRelations is the reader's.
func (t *Txn) GroupIndexRelations(ctx context.Context) ([]store.IndexedRelation, error) {
	ix, err := t.indexReads()
	if err != nil {
		return nil, err
	}
	return ix.GroupIndexRelations(ctx)
}

// WriteGroupIndex stages index changes.
func (t *Txn) WriteGroupIndex(changes []store.IndexChange) {
	t.C.Index = append(t.C.Index, changes...)
}
