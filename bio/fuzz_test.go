package bio

import (
	"bytes"
	"crypto/tls"
	"errors"
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
//
// With target%4 == 3, data instead drives a stream of real records (see
// fuzzStream): split at the points data picks, possibly in chunks larger
// than every buffer, with one byte corrupted anywhere. What was decrypted
// before the bad record must still be readable.
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
	// Record streams: corrupt at 0x4000, xor 0x01, default buffers,
	// chunks of 1 byte, 300 KiB; no corruption with small buffers and
	// 64 KiB chunks; corrupt a header with 16 KiB chunks.
	f.Add([]byte{0x40, 0x00, 0x01, 0, 0, 6}, uint16(0), uint8(3))
	f.Add([]byte{0x00, 0x00, 0x00, 1, 5}, uint16(0), uint8(3))
	f.Add([]byte{0x00, 0x02, 0x80, 2, 4, 1, 2}, uint16(0), uint8(3))

	f.Fuzz(func(t *testing.T, data []byte, split uint16, target uint8) {
		fuzzOne(t, p, data, split, target)
	})
}

// fuzzOne feeds data, cut at split, to the Conn target picks.
func fuzzOne(t *testing.T, p *pki, data []byte, split uint16, target uint8) {
	if target%4 == 3 {
		fuzzStream(t, p, data)
		return
	}
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

// streamMessages are what the client sends in fuzzStream: small and large
// writes, more than every buffer in all.
var streamMessages = []int{5, 100, 16384, 40000, 1, 70000, 300}

// streamChunks are the receive sizes fuzzStream picks from.
var streamChunks = []int{1, 7, 100, 1000, 16 << 10, 64 << 10, 300 << 10}

// streamOptions are the buffer limits fuzzStream picks from.
var streamOptions = []Options{
	{},
	{MaxIncoming: 1 << 10, MaxPlaintext: 1 << 10, MaxOutgoing: 1 << 10},
	{MaxIncoming: 20 << 10, MaxPlaintext: 16 << 10},
}

// fuzzStream sends a stream of real TLS 1.3 records from a client to a
// server Conn. data picks a byte to corrupt (data[0:2] its offset, data[2]
// what it is xored with; 0: none), the server's buffers (data[3]) and the
// receive sizes (the rest, in turn). The server is pumped with the
// published loop: feed the rest of a receive after Read. What it reads
// must be a prefix of what was sent, including every record that ended
// before the corrupted byte (all of it without corruption), and the Conn
// must end cleanly.
func fuzzStream(t *testing.T, p *pki, data []byte) {
	ctl := func(i int) int {
		if i < len(data) {
			return int(data[i])
		}
		return 0
	}
	ccfg := p.clientConfig()
	ccfg.MinVersion = tls.VersionTLS13
	client := Client(ccfg)
	victim := streamOptions[ctl(3)%len(streamOptions)].Server(p.serverConfig())
	handshake(t, client, victim, whole)
	var want, wire []byte
	buf := make([]byte, 32<<10)
	for i, n := range streamMessages {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		want = append(want, msg...)
		for off := 0; off < len(msg); {
			k, err := client.Write(msg[off:])
			off += k
			if err != nil && !errors.Is(err, ErrBufferFull) {
				t.Fatal(err)
			}
			for client.OutgoingLen() > 0 {
				m, _ := client.ReadOutgoing(buf)
				wire = append(wire, buf[:m]...)
			}
		}
	}
	// The plaintext of the records that end at or before the bad byte.
	bad, xor := (ctl(0)<<8|ctl(1))*len(wire)/65536, byte(ctl(2))
	intact := len(want)
	if xor != 0 {
		wire[bad] ^= xor
		intact = 0
		for off := 0; off+5 <= len(wire); {
			end := off + 5 + (int(wire[off+3])<<8 | int(wire[off+4]))
			if end > bad || bad < off+5 {
				break
			}
			intact += end - off - 5 - 17 // TLS 1.3: content type and AEAD tag
			off = end
		}
	}
	var got, rest []byte
	var rerr error
	pos, chunk := 0, 4
	for i := 0; ; i++ {
		if i > 10*len(wire)+1000 {
			t.Fatal("the pump loop makes no progress")
		}
		n, err := victim.Read(buf)
		got = append(got, buf[:n]...)
		for victim.OutgoingLen() > 0 {
			victim.ReadOutgoing(buf)
		}
		if len(rest) > 0 {
			k, ferr := victim.WriteIncoming(rest)
			if ferr != nil && !errors.Is(ferr, ErrBufferFull) {
				t.Fatalf("WriteIncoming = %d, %v; want nil or a *BufferError", k, ferr)
			}
			rest = rest[k:]
			continue
		}
		if err == nil {
			continue
		}
		if err == ErrWantRead && pos < len(wire) {
			size := min(streamChunks[ctl(chunk)%len(streamChunks)], len(wire)-pos)
			chunk++
			rest, pos = wire[pos:pos+size], pos+size
			continue
		}
		rerr = err
		break
	}
	if !bytes.HasPrefix(want, got) {
		t.Fatalf("read %d bytes that are not what was sent", len(got))
	}
	if len(got) < intact {
		t.Fatalf("read %d bytes, then %v; the %d bytes before the bad record must be readable", len(got), rerr, intact)
	}
	if xor == 0 && rerr != ErrWantRead {
		t.Fatalf("intact stream ended with %v, want ErrWantRead after all of it", rerr)
	}
	victim.Close()
	victim.CloseIncoming()
	for {
		if _, err := victim.Read(buf); err != nil && err != ErrWantRead {
			break
		}
	}
	if !finished(victim) {
		t.Fatal("the Conn did not end after Close and CloseIncoming")
	}
}

// TestRecordStreams is a quick, seeded run of fuzzStream for every plain
// test run.
func TestRecordStreams(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	seed := mrand.Uint64()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	for range 30 {
		data := make([]byte, 4+rng.IntN(12))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			data[2] = 0 // intact
		}
		fuzzStream(t, p, data)
	}
}
