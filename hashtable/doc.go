// Package hashtable is a hash map keyed by SipHash-2-4 under a secret,
// random 128-bit seed per map, so that keys crafted by an attacker cannot
// turn it into a linked list.
//
// # The problem
//
// A hash table whose hash function an attacker can predict degrades to a
// list: feed it keys that all hash alike and every insertion scans all the
// previous ones. 65,536 such keys took PHP 36 seconds instead of 0.03; a 2
// MB JSON body pinned Node and Rails for tens of seconds. Go's builtin map
// is seeded, but its seed cannot be fixed or persisted, its hash is not a
// keyed cryptographic one, its probe lengths are invisible and it has no
// concurrent variant. This package gives all of that.
//
// What SipHash-2-4, a keyed cryptographic hash, costs: about 15 ns for a
// 20-byte key here, against about 6 ns for the runtime's AES-based hash
// through hash/maphash (BenchmarkHash; SipHash-1-3, see WithSipHash13,
// about 9 ns). A lookup in a small map, which never waits for memory,
// costs the builtin map's lookup plus that difference: the "budget"
// benchmarks measure exactly this sum, and a hit in a map of a thousand
// entries meets it.
//
// In a large map a lookup waits for memory, and the processor hides the
// wait by running the next lookups meanwhile, as far as its window of
// in-flight instructions and registers reaches. A scalar SipHash-2-4 of a
// 20-byte key is some 150 integer instructions, each taking a register:
// with it, the next lookup's memory access fell outside that window, and
// lookups in maps of a hundred thousand or a million entries, key after
// key, cost 2 to 2.5 times the builtin map's. So on amd64 processors with
// AVX-512 (F and VL), a Map larger than a core's cache (32 tables, some
// 20,000 entries) hashes string and 64-bit integer keys, and every Sync
// hashes string keys, in two vector registers (the state (v0, v2) in one
// and (v1, v3) in the other, eight vector instructions a round, see
// sipvec_amd64.s), which leaves the integer registers to the lookups. And
// in such a map Get, once it has the hash (any hash, on any amd64
// processor), prefetches the slots of the key's home group, so that a
// hit's slot is on its way while the control word is read (the builtin map
// waits for the control word first). Smaller maps
// keep the scalar code: with no memory waits to overlap, its earlier
// result is worth more (about 20 ns against 38 for one hash waiting for
// the previous one's result). Elsewhere, and when built with -tags purego,
// the scalar code runs everywhere, written out inline in Get. Both are
// tested against github.com/dchest/siphash. The README has the current
// figures, their spread, and the targets not yet met.
//
//	m := hashtable.New[string, int]()
//	m.Put("alpha", 1)
//	v, ok := m.Get("alpha")
//
// # Hashing and seeds
//
// Maps made by New hash a string key's bytes, read in place, and an integer
// key's 8 little-endian bytes (signed keys sign-extended) with SipHash-2-4,
// or SipHash-1-3 with WithSipHash13 (whose documentation explains the
// trade); Hash and HashUint64 are the SipHash-2-4 functions. The
// implementation is this package's own, written for short keys: each 8-byte
// block is one load, the last 1 to 7 bytes one more (three for keys under 8
// bytes), never a read past the key's end, and the rounds written out (in
// vector registers where the processor allows it, see above). The tests
// check both the scalar and the vector code against
// github.com/dchest/siphash for every length from 0 to 300 at every
// alignment, reading keys that end where an unreadable page begins, and a
// fuzz target does for any input; SipHash-1-3 is checked against a plain
// reference and published values. Operations on string and 64-bit integer
// keys call these functions directly rather than through a function value.
// NewFunc takes any hash of the form func(k0, k1 uint64, key K) uint64,
// called once per operation.
//
// Every map draws its own 128-bit seed (k0, k1) from crypto/rand, so
// the iteration order of one map never predicts another's (copying one
// map's iteration order into another is a known way to flood the second).
// It draws a new seed whenever it rehashes all of its entries: on Clear,
// Compact, a re-seed after a detected flood, and each growth step while the
// map is a single table (up to 1024 slots). WithSeed fixes the seed instead,
// for reproducible tests and for sharding keys identically across
// processes; a fixed seed is never changed.
//
// # Layout
//
// A Map is an extendible-hashing directory of Swiss tables, as in
// github.com/cockroachdb/swiss and Go's own map since Go 1.24:
//
//	hash h (64 bits):  | directory index (top bits) | ... | h1: home group | h2: 7-bit tag |
//	                     63                                                  7            0
//
//	directory (1<<depth entries)      tables: power-of-two numbers of groups
//	  [0] ──┐                          ┌──────────────────────────────────────────┐
//	  [1] ──┴─> table A (local depth 1)│ g0: [ctrl uint64][8 × {key, value}]      │
//	  [2] ────> table B (local depth 2)│ g1: [ctrl uint64][8 × {key, value}] ...  │
//	  [3] ────> table C (local depth 2)└──────────────────────────────────────────┘
//
// Each table has a power-of-two number of groups. Each group has eight
// slots and one 64-bit control word holding a control byte per slot:
// 0b1000_0000 for empty, 0b1111_1110 for deleted (a tombstone) and the
// key's 7-bit tag h2 for full. The control word sits right before its
// group's slots, as in Go's builtin map: a lookup that finds its tag
// usually finds the slot on the same cache line or the next one, which the
// processor fetches with it, so a hit in a large map waits for memory about
// once. (An earlier version kept all control words in one dense array
// apart from the slots, as Abseil's flat_hash_map does: misses in a map of
// a million entries then stayed in cache, at 0.4 to 0.65 times the builtin
// map, but every hit waited for two cache misses one after the other, and
// hits are the common case: 881 ns per hit against 565 ns with the control
// word beside its slots, under the runtime's hash, at a million entries
// (builtin map 527 ns; with SipHash-2-4, 909 against 552; CPU time per
// lookup, medians of 7 interleaved rounds).)
//
// Beside the directory of table pointers, the map keeps a second array with
// what a lookup needs of each entry's table (its group array and mask), so
// a lookup goes from the directory straight to the group without first
// loading the table struct, itself a cache miss in a large map.
//
// A lookup indexes the directory with the top hash bits, then probes the
// table's groups in the triangular sequence home, home+1, home+3, home+6,
// ... (mod the group count), which visits every group. In each group it
// matches all eight control bytes against the tag at once with SWAR bit
// arithmetic on the control word, compares keys only in the matching slots,
// and stops at the first group that has an empty slot.
//
// # Invariants
//
//   - A table is at most 7/8 full, counting tombstones: at least one slot
//     in eight is empty, so every probe sequence ends.
//   - A table of local depth L holds exactly the keys whose top L directory
//     bits equal its prefix, and fills the 1<<(depth-L) directory entries
//     that begin with that prefix.
//   - Each table knows the sum of its entries' probe distances (groups past
//     the home group), kept exact through insertions, deletions and
//     rehashes; Stats divides their total by Len and reports it as
//     MeanProbe.
//
// # Deletion and tombstones
//
// Deleting from a group that still has an empty slot frees the slot
// outright: no probe sequence ever continued past that group. Otherwise
// the slot becomes a tombstone, which lookups step over and insertions
// reuse. When a table reaches its load limit and tombstones make up a good
// share of it (live entries at most 3/4 of the limit), the table is
// rehashed in place, within its own groups, without allocating: every entry
// moves to the first free slot of its probe sequence and all tombstones
// become empty. Compact rebuilds the whole map at the smallest size that
// holds its entries (shrinking after mass deletions) and re-seeds it.
//
// # Growth without long stalls
//
// A table doubles while it has fewer than 128 groups (1024 slots). A full
// table of that size splits instead: its entries are divided between two
// new tables by the next hash bit, and the directory doubles if the table
// was already distinguished by every directory bit. So one growth step
// rehashes at most 896 entries, whatever the size of the map: a map of ten
// million entries never stops to rehash ten million entries because it
// grew. (Incremental growth, the alternative, would need every lookup
// during a resize to search two tables.) Splitting moves entries by their
// existing hashes, so it cannot change the seed; a split is not a rehash
// of the map.
//
// A split must know one more hash bit of every entry. Rather than hash
// every key again (SipHash is most of a split's cost, and reading the key
// of each entry is a cache miss in a large map), tables made by splits and
// a map's first table keep one side byte per slot, in an array of its own:
// the 7 hash bits that the table's next seven splits will use, and a flag
// for an entry that sits past its home group. A split sends each entry in
// its home group to the same group of the half its bit names, reading only
// the side byte; only displaced entries, about one in eight at the highest
// load, are hashed again. After seven splits the bits are used up, and the
// next split hashes every entry and refills them. This costs one byte per
// slot (about 1.1 to 2.3 bytes per entry); tables laid out up front for a
// capacity hint have none until they split.
//
// # Flood detection
//
// Under a random hash, probe sequences stay short: the mean probe distance
// of a table at most 7/8 full is well below one group, and a split divides
// a table's keys almost exactly in half. The map watches both:
//
//   - an insertion that probes more than 4 groups past its home group
//     checks whether the table's total probe distance exceeds 2 groups per
//     entry plus 64;
//   - a split that would leave fewer than 1/8 of the entries on one side, or
//     would grow the directory beyond 16 times what the entry count needs,
//     is refused: the table grows past the maximum size instead.
//
// Either event means that the keys were chosen against the current seed (or
// that the hash function ignores it). The map then draws a fresh seed and
// rehashes every entry, counted in Stats().Reseeds. To keep a hash that
// ignores its seed from triggering a full rehash at every insertion, the
// map does not re-seed again until it has doubled in size. With a fixed
// seed it never re-seeds. Either way the map stays correct, and its memory
// bounded by a small multiple of its entries, however bad the hash; only
// its speed suffers. The tests hold it to that with a constant hash, with
// DJBX33A (PHP's hash before 5.3.9) and with keys crafted against a known
// seed; examples/flood shows the attack on a naive table next to a Map.
//
// # Iteration
//
// All returns an iter.Seq2. The map may be modified during iteration, with
// the guarantees of Go's builtin map: an entry present for the whole
// iteration is produced exactly once, with its current value; an entry
// deleted before the iteration reaches it is not produced; an entry added
// during iteration may or may not be produced. Rehashes never write into
// arrays they abandon, so the iterator keeps reading the arrays it started
// with and, for tables that were rebuilt meanwhile, looks each key up in
// the live map to skip deleted ones and get current values.
//
// # Concurrency
//
// A Map is not safe for concurrent use. Sync is. It spreads keys over a
// power-of-two number of shards by the top bits of one hash per operation;
// each shard is a single Swiss table with the same control bytes and
// probing, whose control words (in an array of their own) are atomic and
// whose slots hold atomic pointers to entries. An entry's
// key never changes and its value is replaced atomically in place. Reads
// take no lock and write nothing shared: Get loads the current state (seed
// and shards), the shard's table, a control word, a slot and the entry.
// Replacing the value of a present key takes no lock either. Inserting and
// deleting lock one shard, write an entry's slot before its control byte
// and clear a control byte before its slot, so a reader sees the entry or
// not, never a torn one. Tables are never changed after they are replaced:
// a shard that must grow or drop its tombstones builds a new table and
// publishes it, and a reader still on the old table finds every key that
// was present when it began. A reader's probe always ends: a group with no
// empty slot never gets one back while its table is current, and a table
// always keeps one slot in eight empty, so some group on every probe
// sequence keeps an empty slot for the whole probe. Re-seeding (flood,
// Clear, Compact) locks every shard, builds new shards under the new seed,
// then marks the old ones retired and publishes the new state; inserts and
// deletes that reach a retired shard start over on the new state, readers
// are never blocked. Flood re-seeding happens at most once per doubling of
// the whole map, however many shards report a flood. Sync is tested
// under the race detector with readers running through growth, tombstone
// churn and re-seeding, and fuzzed against a model (a builtin map).
//
// Sync against a builtin map behind a sync.RWMutex under 90% reads on two
// cores: when writers are about, the locked map runs on one core at a time
// (its readers sleep while a writer holds the lock), which spares it the
// cross-core cache misses of concurrent writers and the CPU time of the
// second core. Sync reads and updates present keys without locks on both
// cores at once: about as many operations per second (0.8 to 1.2 times
// the locked map's wall time per operation, run to run), each at about
// twice the CPU, because every update of a present key moves that entry's
// cache line to the writing core and back to the next reader (on the
// two-core machine of the README's figures a line takes about 240 ns to
// cross; padding entries to a cache line each, or a plain store for the
// value, changed nothing). On one core Sync costs about 1.7 times the
// locked map per operation: SipHash-2-4, and the pointer to the entry that
// lets readers go without a lock. Read-only, on two cores,
// Sync costs less than half the locked map's CPU per operation (the
// readers' shared lock word bounces between the cores); the README has
// the figures.
//
// # Lookups with byte slices
//
// Get, Put (once the map has room), Delete, GetBytes and Hash allocate
// nothing. GetBytes and GetBytesSync look up a []byte in a map whose keys
// are strings without converting (and allocating) a string. They are functions
// constrained to key types whose underlying type is string, so calling them
// on a map with other keys does not compile.
//
// # Printing, misuse and nil maps
//
// A Map or a Sync prints like a builtin map with every fmt verb: "map[a:1
// b:2]" for %v, keys sorted (the map's own order would reveal bits of its
// hashes), and map[string]int{"a":1, "b":2} for %#v, also inside structs,
// slices and panic values. The seed never appears: a Map keeps it behind an
// unsafe.Pointer, which fmt prints only as an address even where it shows a
// Map's raw fields (an unexported field of a printed struct, or a verb that
// does not fit, such as %s, which makes fmt follow typed pointers).
//
// A Map is not safe for concurrent use, and like the builtin map it says so
// when misused: a Put, Delete, Clear or Compact that overlaps another write,
// or a Get that overlaps a write, panics with "hashtable: concurrent map
// writes; use Sync, or guard the Map with a lock" (or "... concurrent map
// read and map write ..."), before the tables are damaged. The check is one
// flag read and written around each write, within the benchmarks' noise,
// and best-effort as the builtin map's is; the race detector finds every
// such race. Probe loops are bounded by the table's size as well, so a
// table damaged by a race that slipped past the flag panics rather than
// hangs.
//
// A nil *Map reads like a nil builtin map: Len is 0, Get and Has find
// nothing, Delete does nothing and reports false, All produces nothing, and
// Put panics with a message that says how to make a map. A nil *Sync reads
// the same way.
package hashtable
