package check

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
)

// cacheKey identifies a definite answer across queries. The schema
// pointer and the revision together name the data the answer was computed
// on: each store compiles its own schema, so two stores that happen to be
// at the same revision do not share entries.
type cacheKey struct {
	sch  *schema.Schema
	rev  tuples.Revision
	node nodeKey
}

const cacheShards = 16

// cache is a bounded map of definite answers, sharded to keep lock
// contention low, evicting with the clock (second chance) algorithm.
type cache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	hits   atomic.Uint64
	misses atomic.Uint64
}

type cacheShard struct {
	mu      sync.Mutex
	index   map[cacheKey]int
	entries []cacheEntry
	limit   int
	hand    int
}

type cacheEntry struct {
	key     cacheKey
	allowed bool
	ref     bool
	// The answer holds for clocks in [from, until): from is the clock it
	// was computed at (a tuple expired then may exist at an earlier
	// clock), until the earliest expiry it rests on (zero: no expiry).
	from, until time.Time
}

// holdsAt reports whether the entry answers at clock now.
func (e *cacheEntry) holdsAt(now time.Time) bool {
	return !now.Before(e.from) && (e.until.IsZero() || now.Before(e.until))
}

func newCache(size int) *cache {
	c := &cache{seed: maphash.MakeSeed()}
	per := (size + cacheShards - 1) / cacheShards
	if per < 1 {
		per = 1
	}
	for i := range c.shards {
		c.shards[i].index = make(map[cacheKey]int)
		c.shards[i].limit = per
	}
	return c
}

func (c *cache) shard(k *cacheKey) *cacheShard {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.node.obj.ID)
	h.WriteString(k.node.subj.ID)
	return &c.shards[h.Sum64()%cacheShards]
}

func (c *cache) get(k *cacheKey, now time.Time) (allowed bool, until time.Time, ok bool) {
	s := c.shard(k)
	s.mu.Lock()
	i, ok := s.index[*k]
	if ok && !s.entries[i].holdsAt(now) {
		ok = false
	}
	if ok {
		s.entries[i].ref = true
		allowed, until = s.entries[i].allowed, s.entries[i].until
	}
	s.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return allowed, until, ok
}

func (c *cache) put(k *cacheKey, allowed bool, from, until time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[*k]; ok {
		s.entries[i].allowed, s.entries[i].from, s.entries[i].until = allowed, from, until
		return
	}
	if len(s.entries) < s.limit {
		s.index[*k] = len(s.entries)
		s.entries = append(s.entries, cacheEntry{key: *k, allowed: allowed, from: from, until: until})
		return
	}
	// Second chance: skip entries used since the hand last passed.
	for s.entries[s.hand].ref {
		s.entries[s.hand].ref = false
		s.hand = (s.hand + 1) % len(s.entries)
	}
	delete(s.index, s.entries[s.hand].key)
	s.entries[s.hand] = cacheEntry{key: *k, allowed: allowed, from: from, until: until}
	s.index[*k] = s.hand
	s.hand = (s.hand + 1) % len(s.entries)
}

func (c *cache) stats() Stats {
	st := Stats{CacheHits: c.hits.Load(), CacheMisses: c.misses.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.CacheEntries += len(s.index)
		s.mu.Unlock()
	}
	return st
}
