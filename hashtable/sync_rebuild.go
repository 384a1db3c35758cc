package hashtable

import "math/bits"

// Clear removes every entry and draws a new seed unless it is fixed.
func (s *Sync[K, V]) Clear() {
	s.load()
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	old := s.state.Load()
	retire(old)
	k0, k1 := old.k0, old.k1
	if !s.fixed {
		k0, k1 = newSeed()
	}
	s.state.Store(s.newState(k0, k1, len(old.shards), s.shardCap))
	s.reseedFloor = 0
	unlockAll(old)
}

// Compact rebuilds every shard at the smallest size that holds its entries
// (but not below the WithCapacity hint) and re-seeds unless the seed is
// fixed.
func (s *Sync[K, V]) Compact() {
	s.rebuildAll(nil, false)
}

// rebuildAll rehashes every entry into fresh shards under a new seed (the
// same one if it is fixed) and publishes them. With old set it is a flood
// response and does nothing if another rebuild already replaced old.
func (s *Sync[K, V]) rebuildAll(old *syncState[K, V], flood bool) {
	s.load()
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	cur := s.state.Load()
	if old != nil && cur != old {
		return
	}
	lockAll(cur)
	defer unlockAll(cur)
	total := 0
	for i := range cur.shards {
		total += cur.shards[i].used
	}
	if flood {
		// One re-seed per doubling of the whole map, as for Map: shards
		// signal floods one by one, and a hash that ignores the seed must
		// not buy a full rebuild per shard.
		if total < s.reseedFloor {
			return
		}
		s.reseedFloor = 2 * total
	}
	entries := make([]*syncEntry[K, V], 0, total)
	for i := range cur.shards {
		entries = cur.shards[i].tab.Load().appendEntries(entries)
	}
	k0, k1 := cur.k0, cur.k1
	if !s.fixed {
		k0, k1 = newSeed()
	}
	// Bucket the entries by their new shard, then build each shard's
	// table at the size its share needs.
	n := len(cur.shards)
	shift := 64 - uint(bits.Len(uint(n-1)))
	parts := make([][]*syncEntry[K, V], n)
	for _, e := range entries {
		i := hashKey(s.path, s.hash, k0, k1, e.key) >> shift
		parts[i] = append(parts[i], e)
	}
	st := &syncState[K, V]{seed: makeSeed(k0, k1), shift: shift, shards: make([]syncShard[K, V], n)}
	for i := range st.shards {
		sh := &st.shards[i]
		s.fill(st, sh, newSyncTable[K, V](syncGroupsFor(max(len(parts[i]), s.shardCap))), parts[i])
		sh.reseedFloor = 2 * sh.used
	}
	// Only now, with the new state complete (a hash that panicked above
	// left the old one in place), retire the old shards and publish.
	for i := range cur.shards {
		cur.shards[i].retired = true
	}
	s.state.Store(st)
	if flood && !s.fixed {
		s.reseeds.Add(1)
	}
}

// retire locks every shard of st and marks it retired, so that writers
// that reach it afterwards start over on the state that replaces it.
func retire[K comparable, V any](st *syncState[K, V]) {
	lockAll(st)
	for i := range st.shards {
		st.shards[i].retired = true
	}
}

func lockAll[K comparable, V any](st *syncState[K, V]) {
	for i := range st.shards {
		st.shards[i].mu.Lock()
	}
}

func unlockAll[K comparable, V any](st *syncState[K, V]) {
	for i := range st.shards {
		st.shards[i].mu.Unlock()
	}
}
