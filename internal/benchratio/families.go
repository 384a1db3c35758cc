package main

// families is every comparison the README's benchmark table shows, in its
// order. Each row runs the benchmarks matching Ours (the sturdy
// implementation) and Base (what a user would otherwise write) from the
// package Pkg in alternate rounds, and pairs their sub-benchmarks by the
// levels of the name the two patterns share (see pairKey).
//
// Unit is the metric the ratio is taken of, or several separated by "|":
// the first that both sides report is used; "cpu" stands for
// "cpu-ns/op|ns/op", the process CPU time per operation where the
// benchmark reports it (internal/benchcpu) and wall time otherwise. Target is
// "<=X" for metrics where less is better, ">=X" for MB/s, "" for rows
// shown as context. Allocs, if set, is the most allocs/op ours may make.
// Only, if set, keeps the rows whose name matches it, so that rows with
// different targets can share one run. Rounds caps the rounds of a family
// whose metric the machine's load does not move (bytes held) and whose run
// is long. BenchTime overrides -benchtime for benchmarks whose one
// operation is long (building a map of a million entries).
var families = []family{
	// observer
	{Name: "Notify", Pkg: "./observer", Ours: "^Notify$/^observer$/subs=1$", Base: "^Notify$/^rwmutex$/subs=1$", Unit: "cpu", Target: "<=1.2", Allocs: "0",
		Label: "observer vs `sync.RWMutex` + loop"},
	{Name: "Notify", Pkg: "./observer", Ours: "^Notify$/^observer$/subs=(100|10000)$", Base: "^Notify$/^loop$/subs=(100|10000)$", Unit: "cpu", Target: "<=1.3", Allocs: "0",
		Label: "observer vs loop over `[]func(T)`"},
	{Name: "Notify", Pkg: "./observer", Ours: "^Notify$/^observer$/subs=1$", Base: "^Notify$/^loop$/subs=1$", Unit: "cpu",
		Label: "observer vs loop over `[]func(T)`"},
	{Name: "NotifyAsync", Pkg: "./observer", Ours: "^NotifyAsync$/^observer$/", Base: "^NotifyAsync$/^chan$/", Unit: "cpu", Target: "<=1.0",
		Label: "observer vs buffered channels"},

	// slowlog
	{Name: "FastPath", Pkg: "./slowlog", Ours: "^FastPath$/^slowlog$", Base: "^FastPath$/^bare$", Unit: "cpu", Target: "<=1.2", Allocs: "0",
		Label: "slowlog below threshold vs `time.Now` + `time.Since`"},
	{Name: "SlowPath", Pkg: "./slowlog", Ours: "^SlowPath$/^slowlog$", Base: "^SlowPath$/^zap$", Unit: "cpu", Target: "<=1.2",
		Label: "slowlog, logged as JSON vs zap `Info`, same fields"},
	{Name: "Watch", Pkg: "./slowlog", Ours: "^Watch$/^watch$", Base: "^Watch$/^nowatch$", Unit: "cpu", Target: "<=1.5", Allocs: "0",
		Label: "below threshold with `Watch` vs without"},
	{Name: "WatchParallel", Pkg: "./slowlog", Ours: "^WatchParallel$/^watch$", Base: "^WatchParallel$/^nowatch$", Unit: "cpu", Target: "<=1.5", Allocs: "0",
		Label: "below threshold with `Watch`, all cores on one name vs without"},
	{Name: "FastPathFlight", Pkg: "./slowlog", Ours: "^FastPathFlight$/^slowlog$", Base: "^FastPathFlight$/^bare$", Unit: "cpu", Target: "<=1.2", Allocs: "0",
		Label: "below threshold with `FlightRecorder` vs `time.Now` + `time.Since`, recorder on in both"},
	{Name: "MiddlewareFlight", Pkg: "./slowlog", Ours: "^MiddlewareFlight$/^flight$", Base: "^MiddlewareFlight$/^plain$", Unit: "cpu", Target: "<=1.05",
		Label: "loopback HTTP behind `Middleware`: with `FlightRecorder` vs without (the runtime's tracer and slowlog)"},
	{Name: "MiddlewareFlight", Pkg: "./slowlog", Ours: "^MiddlewareFlight$/^flight$", Base: "^MiddlewareFlight$/^tracer$", Unit: "cpu",
		Label: "loopback HTTP behind `Middleware`: with `FlightRecorder` vs the runtime's flight recorder alone (what slowlog adds)"},

	// hashtable: the Get rows share six runs a round (hashtable,
	// hashtable13, builtin, tableonly, budget, budget13), each row picking
	// its sub-benchmarks with Only. "budget" is the builtin map's lookup
	// plus what SipHash-2-4 costs more than the runtime's hash on the same
	// keys (see BenchmarkGet): the price of SipHash and nothing more.
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^budget$/", Only: "n=(1000|100000)/hit$", Unit: "cpu", Target: "<=1.1", Allocs: "0",
		Label: "hit, in order: hashtable (SipHash-2-4) vs builtin map + (SipHash-2-4 − runtime hash)"},
	{Name: "GetShuffled", Pkg: "./hashtable", Ours: "^GetShuffled$/^hashtable$/", Base: "^GetShuffled$/^budget$/", Unit: "cpu", Target: "<=1.1", Allocs: "0",
		Label: "hit, shuffled: hashtable (SipHash-2-4) vs builtin map + (SipHash-2-4 − runtime hash)"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^builtin$/", Only: "n=(100000|1000000)/hit$", Unit: "cpu", Target: "<=1.5", Allocs: "0",
		Label: "hit, in order: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "GetShuffled", Pkg: "./hashtable", Ours: "^GetShuffled$/^hashtable$/", Base: "^GetShuffled$/^builtin$/", Unit: "cpu", Target: "<=1.5", Allocs: "0",
		Label: "hit, shuffled: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^builtin$/", Only: "n=1000/hit$", Unit: "cpu",
		Label: "hit: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^tableonly$/", Base: "^Get$/^builtin$/", Only: "n=(100000|1000000)/hit$", Unit: "cpu", Target: "<=1.1", Allocs: "0",
		Label: "hit: our table with the runtime's hash (through NewFunc) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^tableonly$/", Base: "^Get$/^builtin$/", Only: "n=1000/hit$", Unit: "cpu",
		Label: "hit: our table with the runtime's hash (through NewFunc) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable13$/", Base: "^Get$/^builtin$/", Only: "/hit$", Unit: "cpu", Allocs: "0",
		Label: "hit: hashtable with WithSipHash13 vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable13$/", Base: "^Get$/^budget13$/", Only: "/hit$", Unit: "cpu", Allocs: "0",
		Label: "hit: hashtable with WithSipHash13 vs builtin map + (SipHash-1-3 − runtime hash)"},
	{Name: "GetShuffled", Pkg: "./hashtable", Ours: "^GetShuffled$/^hashtable13$/", Base: "^GetShuffled$/^builtin$/", Unit: "cpu", Allocs: "0",
		Label: "hit, shuffled: hashtable with WithSipHash13 vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^builtin$/", Only: "n=100000/miss$", Unit: "cpu", Target: "<=1.5", Allocs: "0",
		Label: "miss: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^builtin$/", Only: "n=1000000/miss$", Unit: "cpu", Target: "<=1.25", Allocs: "0",
		Label: "miss: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^hashtable$/", Base: "^Get$/^builtin$/", Only: "n=1000/miss$", Unit: "cpu",
		Label: "miss: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "Get", Pkg: "./hashtable", Ours: "^Get$/^tableonly$/", Base: "^Get$/^builtin$/", Only: "/miss$", Unit: "cpu",
		Label: "miss: our table with the runtime's hash vs builtin map"},
	{Name: "GetInt", Pkg: "./hashtable", Ours: "^GetInt$/^hashtable$/", Base: "^GetInt$/^builtin$/", Unit: "cpu", Allocs: "0",
		Label: "hit, in order, random int64 keys: hashtable (SipHash-2-4) vs builtin map"},
	{Name: "GetChained", Pkg: "./hashtable", Ours: "^GetChained$/^hashtable$/", Base: "^GetChained$/^builtin$/", Unit: "cpu",
		Label: "dependent hits, one lookup's latency: hashtable vs builtin map"},
	{Name: "Put", Pkg: "./hashtable", Ours: "^Put$/^hashtable$/n=(100000|1000000)$/", Base: "^Put$/^builtin$/n=(100000|1000000)$/", Unit: "cpu", Target: "<=1.5", BenchTime: "2x",
		Label: "build a map: hashtable vs builtin map"},
	{Name: "Put", Pkg: "./hashtable", Ours: "^Put$/^hashtable$/n=(100000|1000000)$/", Base: "^Put$/^builtin$/n=(100000|1000000)$/", Unit: "live-B/entry", Target: "<=1.3", BenchTime: "2x",
		Label: "heap held per entry: hashtable vs builtin map"},
	{Name: "Sync", Pkg: "./hashtable", Ours: "^Sync$/^hashtable$", Base: "^Sync$/^syncmap$", Unit: "cpu", Target: "<=1.0", Allocs: "0",
		Label: "90% reads, all cores: hashtable.Sync vs `sync.Map`"},
	{Name: "Sync", Pkg: "./hashtable", Ours: "^Sync$/^hashtable$", Base: "^Sync$/^rwmutex$", Unit: "cpu", Target: "<=1.0",
		Label: "90% reads, all cores: hashtable.Sync vs `sync.RWMutex` + map"},
	{Name: "Sync", Pkg: "./hashtable", Ours: "^Sync$/^hashtable$", Base: "^Sync$/^rwmutex$", Unit: "ns/op", Target: "<=1.0",
		Label: "90% reads, all cores, wall time per operation: hashtable.Sync vs `sync.RWMutex` + map"},
	{Name: "Sync", Pkg: "./hashtable", Ours: "^Sync$/^hashtable13$", Base: "^Sync$/^rwmutex$", Unit: "cpu",
		Label: "90% reads, all cores: hashtable.Sync with WithSipHash13 vs `sync.RWMutex` + map"},
	{Name: "Sync", Pkg: "./hashtable", Ours: "^Sync$/^hashtable$", Base: "^Sync$/^rwmutex$", Unit: "cpu", CPU: "1",
		Label: "90% reads, one core (GOMAXPROCS=1): hashtable.Sync vs `sync.RWMutex` + map"},
	{Name: "SyncReads", Pkg: "./hashtable", Ours: "^SyncReads$/^hashtable$", Base: "^SyncReads$/^rwmutex$", Unit: "cpu",
		Label: "reads only, all cores: hashtable.Sync vs `sync.RWMutex` + map"},
	{Name: "Flood", Pkg: "./hashtable", Ours: "^Flood$/^hashtable$/n=16384/adversarial$", Base: "^Flood$/^hashtable$/n=16384/random$", Unit: "cpu", Target: "<=1.2", BenchTime: "5x",
		Label: "hashtable: crafted keys vs random keys"},
	{Name: "Flood", Pkg: "./hashtable", Ours: "^Flood$/^djbx33a$/n=16384/adversarial$", Base: "^Flood$/^djbx33a$/n=16384/random$", Unit: "cpu", BenchTime: "2x",
		Label: "DJBX33A table (PHP before 5.3.9): crafted vs random keys"},

	// tlsutil
	{Name: "Dial", Pkg: "./tlsutil", Ours: "^Dial$/^tlsutil$/full$", Base: "^Dial$/^cryptotls$/full$", Unit: "cpu", Target: "<=1.05",
		Label: "full handshake, pin + stapled OCSP vs `tls.Dialer`"},
	{Name: "Dial", Pkg: "./tlsutil", Ours: "^Dial$/^tlsutil$/resumed$", Base: "^Dial$/^cryptotls$/resumed$", Unit: "cpu", Target: "<=1.1",
		Label: "resumed session, pin + stapled OCSP vs `tls.Dialer`"},

	// bio
	{Name: "Throughput", Pkg: "./bio", Ours: "^Throughput$/^bio$", Base: "^Throughput$/^tlspipe$", Unit: "MB/s", Target: ">=1.0", Allocs: "1",
		Label: "16 KiB writes: bio vs crypto/tls over `net.Pipe`"},
	{Name: "Handshake", Pkg: "./bio", Ours: "^Handshake$/^bio$", Base: "^Handshake$/^tlspipe$", Unit: "cpu", Target: "<=1.1",
		Label: "TLS 1.3: bio vs crypto/tls over `net.Pipe`"},
	{Name: "Idle", Pkg: "./bio", Ours: "^Idle$/^bio$/", Base: "^Idle$/^tlspipe$/", Unit: "B/conn", Target: "<=1.0", BenchTime: "1x", Rounds: 2,
		Label: "memory held by an idle connection: bio vs crypto/tls with a goroutine per connection"},
	{Name: "IdleServer", Pkg: "./examples/eventloop", Ours: "^IdleServer$/^example$/", Base: "^IdleServer$/^cryptotls$/", Unit: "B/conn", Target: "<=0.2", BenchTime: "1x", Rounds: 2,
		Label: "memory a server holds per idle TLS connection, 10,000 real clients on loopback: examples/eventloop (gnet + bio) vs crypto/tls with a goroutine and `io.Copy` per connection"},
	{Name: "VsPython", Pkg: "./bio", Ours: "^VsPython$/^bio$", Base: "^VsPython$/^python-memorybio$", Unit: "MB/s", Target: ">=1.2",
		Label: "bio vs Python `ssl.MemoryBIO`, same suite"},

	// fork
	{Name: "Start", Pkg: "./fork", Ours: "^Start$/^fork$", Base: "^Start$/^exec$", Unit: "ns/op", Target: "<=1.2",
		Label: "start a child with two files: fork vs `exec.Cmd` + `ExtraFiles`"},
	{Name: "Serve", Pkg: "./fork", Ours: "^Serve$/^fork$/", Base: "^Serve$/^serve$/", Unit: "cpu", Target: "<=1.05",
		Label: "a GET through Upgrader.Serve vs plain `srv.Serve`"},
}
