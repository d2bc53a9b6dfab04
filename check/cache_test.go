package check

import (
	"fmt"
	"testing"
	"time"

	"github.com/docketdb/docket/tuples"
)

// TestCacheSecondChance pins the eviction: a full shard evicts the entry
// the clock hand reaches first that was not used since it last passed,
// so an entry read since it was put survives one that was not.
func TestCacheSecondChance(t *testing.T) {
	c := newCache(2 * cacheShards) // two entries a shard
	key := func(id string) *cacheKey {
		return &cacheKey{rev: 1, node: nodeKey{obj: tuples.Object{Type: "doc", ID: id}, subj: tuples.Subject{Type: "user", ID: "u"}}}
	}
	// Three keys of one shard.
	var ks []*cacheKey
	first := c.shard(key("0"))
	for i := 0; len(ks) < 3; i++ {
		if k := key(fmt.Sprint(i)); c.shard(k) == first {
			ks = append(ks, k)
		}
	}
	a, b, d := ks[0], ks[1], ks[2]
	c.put(a, true, time.Time{}, time.Time{})
	c.put(b, false, time.Time{}, time.Time{})
	if _, _, ok := c.get(a, time.Time{}); !ok { // a is used: it gets a second chance
		t.Fatal("a missing")
	}
	c.put(d, true, time.Time{}, time.Time{})
	if _, _, ok := c.get(b, time.Time{}); ok {
		t.Error("b, not used since it was put, survived the eviction")
	}
	for _, k := range []*cacheKey{a, d} {
		if allowed, _, ok := c.get(k, time.Time{}); !ok || allowed != (k != b) {
			t.Errorf("%v: %v %v after the eviction", k.node.obj, allowed, ok)
		}
	}
	if n := len(first.index); n != 2 || len(first.entries) != 2 {
		t.Errorf("shard holds %d entries, want its limit, 2", n)
	}
	// Putting a key again updates it in place.
	c.put(a, false, time.Time{}, time.Time{})
	if allowed, _, _ := c.get(a, time.Time{}); allowed || len(first.index) != 2 {
		t.Error("a second put of a key did not replace its answer in place")
	}
}

func TestCacheHoldsOnlyWithinItsClocks(t *testing.T) {
	c := newCache(16)
	k := &cacheKey{node: nodeKey{obj: tuples.Object{Type: "doc", ID: "1"}}}
	from := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	until := from.Add(time.Hour)
	c.put(k, true, from, until)
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{{from, true}, {until.Add(-time.Nanosecond), true}, {until, false}, {from.Add(-time.Second), false}} {
		if _, got, ok := c.get(k, tc.now); ok != tc.want || (ok && !got.Equal(until)) {
			t.Errorf("at %v: hit %v (until %v), want %v", tc.now, ok, got, tc.want)
		}
	}
}
