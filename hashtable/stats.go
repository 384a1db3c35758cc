package hashtable

// Stats describes a map's shape and how well its hash spreads the keys.
type Stats struct {
	Len        int // entries
	Capacity   int // slots allocated
	Tables     int // Swiss tables in the directory
	Tombstones int // deleted slots awaiting cleanup

	// MaxProbe is the longest probe, in groups past the home group, that
	// an insertion needed since its table was last rebuilt.
	MaxProbe int
	// MeanProbe is the mean number of groups a lookup of a present key
	// examines: 1 when every key sits in its home group.
	MeanProbe float64

	// Reseeds counts the times flood detection re-seeded and rehashed the
	// map. It stays 0 under a random hash and a secret seed.
	Reseeds uint64
	// FixedSeed reports whether the seed was fixed with WithSeed.
	FixedSeed bool
}

// Stats returns the map's statistics (all zero for a nil *Map). It walks
// every table: O(tables).
func (m *Map[K, V]) Stats() Stats {
	if m == nil {
		return Stats{}
	}
	s := Stats{Len: m.used, Reseeds: m.reseeds, FixedSeed: m.fixed}
	probes := 0
	m.forEachTable(func(t *table[K, V]) {
		s.Tables++
		s.Capacity += len(t.groups) * groupSlots
		s.Tombstones += t.deleted
		s.MaxProbe = max(s.MaxProbe, t.maxProbe)
		probes += t.probeSum
	})
	if m.used > 0 {
		s.MeanProbe = 1 + float64(probes)/float64(m.used)
	}
	return s
}
