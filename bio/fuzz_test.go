package bio

import (
	mrand "math/rand/v2"
	"sync"
	"testing"
)

var (
	fuzzPKIOnce sync.Once
	fuzzPKI     *pki
)

// FuzzWriteIncoming feeds garbage and mutated records to WriteIncoming, to
// a server in its handshake and to both sides after it. Whatever comes in,
// the Conn must answer with an error or keep waiting, never panic or hang,
// and its engine goroutine must end once the connection is closed.
func FuzzWriteIncoming(f *testing.F) {
	fuzzPKIOnce.Do(func() { fuzzPKI = newPKI(f) })
	p := fuzzPKI
	// Seeds: a real ClientHello, a real application data record, and
	// classic bad headers.
	c := Client(p.clientConfig())
	c.Handshake()
	hello := make([]byte, 4096)
	n, _ := c.ReadOutgoing(hello)
	f.Add(hello[:n], uint16(0), uint8(0))
	f.Add(hello[:n], uint16(7), uint8(0))
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	handshake(f, client, server, whole)
	client.Write([]byte("a record of application data"))
	rec := make([]byte, 4096)
	n, _ = client.ReadOutgoing(rec)
	f.Add(rec[:n], uint16(9), uint8(1))
	f.Add(rec[:n], uint16(3), uint8(2))
	for _, c := range []*Conn{c, client, server} {
		c.Close()
		c.CloseIncoming()
	}
	f.Add([]byte{23, 3, 3, 0xff, 0xff}, uint16(0), uint8(1))
	f.Add([]byte{22, 3, 1, 0, 0}, uint16(1), uint8(0))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40}, uint16(0), uint8(2))

	f.Fuzz(func(t *testing.T, data []byte, split uint16, target uint8) {
		fuzzOne(t, p, data, split, target)
	})
}

// fuzzOne feeds data, cut at split, to the Conn target picks.
func fuzzOne(t *testing.T, p *pki, data []byte, split uint16, target uint8) {
	var victim *Conn
	switch target % 3 {
	case 0: // a server waiting for a ClientHello
		victim = Server(p.serverConfig())
	default: // a server (1) or a client (2) after the handshake
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, client, server, whole)
		victim = server
		if target%3 == 2 {
			victim = client
		}
	}
	// Feed in two pieces, split anywhere.
	cut := int(split) % (len(data) + 1)
	for _, piece := range [][]byte{data[:cut], data[cut:]} {
		n, err := victim.WriteIncoming(piece)
		if err == nil && n != len(piece) {
			t.Fatalf("WriteIncoming = %d, nil for %d bytes", n, len(piece))
		}
	}
	buf := make([]byte, 1024)
	for {
		if _, err := victim.Read(buf); err != nil {
			break
		}
	}
	victim.Handshake()
	for {
		if n, _ := victim.ReadOutgoing(buf); n == 0 {
			break
		}
	}
	victim.Close()
	victim.CloseIncoming()
	for {
		if _, err := victim.Read(buf); err != nil {
			break
		}
	}
	if !finished(victim) {
		t.Fatal("engine goroutine still runs after Close and CloseIncoming")
	}
}

// TestMutatedRecords is a quick, seeded run of the fuzz target's checks on
// randomly mutated real records, for every plain test run.
func TestMutatedRecords(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	handshake(t, client, server, whole)
	client.Write([]byte("a record of application data"))
	rec := make([]byte, 4096)
	n, _ := client.ReadOutgoing(rec)
	rec = rec[:n]
	c := Client(p.clientConfig())
	c.Handshake()
	hello := make([]byte, 4096)
	n, _ = c.ReadOutgoing(hello)
	hello = hello[:n]
	seeds := [][]byte{rec, hello, {23, 3, 3, 0xff, 0xff}, {22, 3, 1, 0, 0}, {21, 3, 3, 0, 2, 2, 40}}
	seed := mrand.Uint64()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	for i := 0; i < 200; i++ {
		d := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for k := rng.IntN(5); k > 0 && len(d) > 0; k-- {
			d[rng.IntN(len(d))] = byte(rng.Uint32())
		}
		if rng.IntN(3) == 0 {
			d = append(d, d...)
		}
		fuzzOne(t, p, d, uint16(rng.Uint32()), uint8(rng.Uint32()))
	}
}
