package bio

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// record returns a TLS record of type typ whose body is n bytes of b.
func record(typ byte, n int, b byte) []byte {
	r := []byte{typ, 3, 1, byte(n >> 8), byte(n)}
	return append(r, bytes.Repeat([]byte{b}, n)...)
}

// reframed returns what crypto/tls should read for stream: its clear-text
// handshake records cut into records of fragBody bytes, and everything from
// the first record of another type on as it came.
func reframed(stream []byte) []byte {
	var out []byte
	sealed := false
	for len(stream) >= 5 {
		n := int(stream[3])<<8 | int(stream[4])
		if stream[0] != recordTypeHandshake {
			sealed = true
		}
		body := stream[5 : 5+n]
		if sealed || n <= fragBody || n > maxRecordPlaintext {
			out = append(out, stream[:5+n]...)
		} else {
			for len(body) > 0 {
				f := min(len(body), fragBody)
				out = append(out, stream[0], stream[1], stream[2], byte(f>>8), byte(f))
				out = append(out, body[:f]...)
				body = body[f:]
			}
		}
		stream = stream[5+n:]
	}
	return out
}

// TestTransferReframes hands a stream of records to a reader as the engine
// does to crypto/tls, with the input arriving in chunks of every size and
// the reader asking for every size: the reader must see the clear-text
// handshake records cut into small records and the rest as it came, and no
// read may cross the end of a record.
func TestTransferReframes(t *testing.T) {
	t.Parallel()
	var stream []byte
	for _, r := range [][]byte{
		record(22, 1500, 'h'), // a ClientHello with a post-quantum key share
		record(22, 40, 'k'),   // small: as it came
		record(22, fragBody+1, 's'),
		record(20, 1, 1),     // ChangeCipherSpec: from here on, records may be encrypted
		record(22, 100, 'f'), // TLS 1.2's encrypted Finished: as it came
		record(23, 300, 'a'),
		record(23, 0, 0),
		record(23, 17000, 'x'), // over the limit: crypto/tls refuses it, as it came
	} {
		stream = append(stream, r...)
	}
	want := reframed(stream)
	if bytes.Equal(want, stream) {
		t.Fatal("test stream has nothing to re-frame")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name      string
		chunk, rd func() int
	}{
		{"whole", func() int { return len(stream) }, func() int { return 1 << 20 }},
		{"bytewise-input", func() int { return 1 }, func() int { return 576 }},
		{"bytewise-reads", func() int { return 700 }, func() int { return 1 }},
		{"three-byte-reads", func() int { return 4 }, func() int { return 3 }},
		{"random", func() int { return 1 + rng.IntN(700) }, func() int { return 1 + rng.IntN(600) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &engine{}
			var got []byte
			src := stream
			var feed []byte
			for len(src) > 0 || len(feed) > 0 || e.emitN < e.emitLen {
				if len(feed) == 0 && len(src) > 0 {
					k := min(c.chunk(), len(src))
					feed, src = src[:k], src[k:]
				}
				p := make([]byte, c.rd())
				n, used := e.transfer(p, feed)
				feed = feed[used:]
				if n == 0 && used == 0 {
					t.Fatalf("transfer made no progress at output %d", len(got))
				}
				if crossesRecord(got, p[:n]) {
					t.Fatalf("a read of %d bytes at output %d crosses the end of a record", n, len(got))
				}
				got = append(got, p[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("crypto/tls would read %d bytes, want %d re-framed as expected", len(got), len(want))
			}
		})
	}
}

// crossesRecord reports whether appending read to done hands over bytes
// past the end of the record that done ends in (or, at a record boundary,
// past the end of the next one).
func crossesRecord(done, read []byte) bool {
	all := append(append([]byte(nil), done...), read...)
	end := 0 // the end of the record that holds the read's first byte
	for end <= len(done) {
		if end+5 > len(all) {
			return false // inside a header at the end: no end to cross yet
		}
		end += 5 + (int(all[end+3])<<8 | int(all[end+4]))
	}
	return len(all) > end
}

// TestTruncatedHandshakeRecords: the transport ending inside a record's
// header, or at the end of one of the small records the engine cut a
// handshake record into, is a truncated handshake, as it would be without
// the cutting.
func TestTruncatedHandshakeRecords(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client := Client(p.clientConfig())
	defer client.Close()
	client.Handshake()
	hello := make([]byte, 16<<10)
	n, _ := client.ReadOutgoing(hello)
	hello = hello[:n]
	if body := int(hello[3])<<8 | int(hello[4]); body <= fragBody {
		t.Fatalf("the ClientHello is %d bytes: nothing to cut", body)
	}
	for _, cut := range []int{3, 5, 5 + fragBody, 5 + 2*fragBody, len(hello) - 1} {
		server := Server(p.serverConfig())
		if k, err := server.WriteIncoming(hello[:cut]); k != cut || err != nil {
			t.Fatalf("WriteIncoming = %d, %v", k, err)
		}
		server.CloseIncoming()
		if err := server.Handshake(); !errors.Is(err, ErrTruncated) {
			t.Errorf("ClientHello cut after %d of %d bytes: Handshake = %v, want ErrTruncated", cut, len(hello), err)
		}
		if !finished(server) {
			t.Errorf("cut after %d: the handshake goroutine still runs", cut)
		}
	}
}
