package bio

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
)

// TestFeedingNeverFails checks the rule of WriteIncoming: it keeps bytes
// and reports nil, and the failure they cause comes from the next
// Handshake, Read or Write, with the alert waiting and the plaintext that
// came before it readable first.
func TestFeedingNeverFails(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	t.Run("bad-record-after-data", func(t *testing.T) {
		t.Parallel()
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, client, server, whole)
		out := make([]byte, 4096)
		client.Write([]byte("hello"))
		n, _ := client.ReadOutgoing(out)
		good := append([]byte(nil), out[:n]...)
		client.Write([]byte("world"))
		n, _ = client.ReadOutgoing(out)
		bad := append([]byte(nil), out[:n]...)
		bad[len(bad)-1] ^= 0xff // break the second record's tag
		chunk := append(good, bad...)
		if n, err := server.WriteIncoming(chunk); n != len(chunk) || err != nil {
			t.Fatalf("WriteIncoming of a chunk with a bad record = %d, %v; want %d, nil", n, err, len(chunk))
		}
		buf := make([]byte, 100)
		n, err := server.Read(buf)
		if string(buf[:n]) != "hello" || err != nil {
			t.Fatalf("first Read = %q, %v; want the plaintext before the bad record", buf[:n], err)
		}
		_, err = server.Read(buf)
		if err == nil || err == ErrWantRead || !strings.Contains(err.Error(), "bad record MAC") {
			t.Fatalf("second Read = %v, want the bad record's error", err)
		}
		if _, again := server.Write([]byte("x")); again != err {
			t.Fatalf("Write after the bad record = %v, want the sticky %v", again, err)
		}
		// The alert waits for the peer, which learns why.
		move(t, server, client, whole)
		if _, cerr := client.Read(buf); cerr == nil || !strings.Contains(cerr.Error(), "remote error: tls: bad record MAC") {
			t.Fatalf("peer Read = %v, want the bad_record_mac alert", cerr)
		}
		// Feeding a failed Conn discards the bytes, still without an error.
		if n, err := server.WriteIncoming(good); n != len(good) || err != nil {
			t.Fatalf("WriteIncoming after the failure = %d, %v; want %d, nil", n, err, len(good))
		}
		if !finished(server) {
			t.Fatal("engine still runs after a bad record")
		}
	})
	t.Run("failed-handshake", func(t *testing.T) {
		t.Parallel()
		stranger := newPKI(t)
		client, server := Client(stranger.clientConfig()), Server(p.serverConfig())
		client.Handshake()
		move(t, client, server, whole)
		flight := make([]byte, 16<<10)
		n, _ := server.ReadOutgoing(flight)
		if k, err := client.WriteIncoming(flight[:n]); k != n || err != nil {
			t.Fatalf("WriteIncoming of a flight the client rejects = %d, %v; want %d, nil", k, err, n)
		}
		err := client.Handshake()
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("Handshake = %v, want a *HandshakeError", err)
		}
		if client.OutgoingLen() == 0 {
			t.Fatal("no alert waits in the outgoing buffer")
		}
		move(t, client, server, whole)
		if serr := server.Handshake(); serr == nil || !strings.Contains(serr.Error(), "remote error: tls: bad certificate") {
			t.Fatalf("server Handshake = %v, want the client's bad_certificate alert", serr)
		}
	})
	t.Run("after-close-incoming", func(t *testing.T) {
		t.Parallel()
		client := Client(p.clientConfig())
		client.Handshake()
		client.CloseIncoming()
		if n, err := client.WriteIncoming([]byte{22}); n != 0 || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteIncoming after CloseIncoming = %d, %v; want 0 and net.ErrClosed", n, err)
		}
	})
	t.Run("buffer-full-is-not-fatal", func(t *testing.T) {
		t.Parallel()
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, client, server, whole)
		msg := bytes.Repeat([]byte("0123456789abcdef"), 20<<10) // 320 KiB
		var wire []byte
		buf := make([]byte, 64<<10)
		for off := 0; off < len(msg); {
			n, _ := client.Write(msg[off:])
			off += n
			for client.OutgoingLen() > 0 {
				k, _ := client.ReadOutgoing(buf)
				wire = append(wire, buf[:k]...)
			}
		}
		n, err := server.WriteIncoming(wire)
		var be *BufferError
		if !errors.As(err, &be) || !errors.Is(err, ErrBufferFull) || n == 0 || n >= len(wire) {
			t.Fatalf("WriteIncoming of %d bytes = %d, %v; want part of it and a *BufferError", len(wire), n, err)
		}
		// Read makes room, then the rest goes in: nothing is lost.
		var got []byte
		for rest := wire[n:]; ; {
			k, rerr := server.Read(buf)
			got = append(got, buf[:k]...)
			if rerr == ErrWantRead {
				if len(rest) == 0 {
					break
				}
				k, ferr := server.WriteIncoming(rest)
				if ferr != nil && !errors.Is(ferr, ErrBufferFull) {
					t.Fatal(ferr)
				}
				rest = rest[k:]
			} else if rerr != nil {
				t.Fatal(rerr)
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("read %d bytes, want the %d sent", len(got), len(msg))
		}
	})
}
