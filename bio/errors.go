package bio

import (
	"errors"
	"fmt"
	"net"
)

// ErrWantRead means the call cannot finish until more ciphertext arrives
// from the peer: send what [Conn.ReadOutgoing] returns, then feed the
// peer's bytes to [Conn.WriteIncoming] and call again.
var ErrWantRead = errors.New("bio: want read: flush ReadOutgoing, then feed the peer's ciphertext to WriteIncoming and retry")

// ErrTruncated means the transport ended ([Conn.CloseIncoming]) before the
// peer sent close_notify, so an attacker may have cut the stream short.
// Use [Options].AllowTruncation only for peers known to skip close_notify.
var ErrTruncated = errors.New("bio: transport ended without close_notify: the data may be truncated")

// ErrBufferFull is matched (with [errors.Is]) by every [*BufferError].
var ErrBufferFull = errors.New("bio: buffer full")

// errClosed is returned after Close by calls that need an open connection.
var errClosed = fmt.Errorf("bio: use of closed connection: %w", net.ErrClosed)

// errRenegotiation is the handshake error of a client config that allows
// TLS 1.2 renegotiation.
var errRenegotiation = errors.New("TLS 1.2 renegotiation is not supported: set tls.Config.Renegotiation to tls.RenegotiateNever")

// errPanicked is the sticky error after a tls.Config callback panicked.
var errPanicked = errors.New("bio: a tls.Config callback panicked; the connection is unusable")

// errIncomingClosed is returned by WriteIncoming after CloseIncoming.
var errIncomingClosed = fmt.Errorf("bio: WriteIncoming after CloseIncoming: %w", net.ErrClosed)

// BufferError reports that a bounded buffer is full. The call accepted
// only part of its input (the count it returned); the connection is
// unharmed. Drain the buffer named in Buffer and retry with the rest.
type BufferError struct {
	Buffer string // "incoming" (drain with Read) or "outgoing" (drain with ReadOutgoing)
	Limit  int    // the configured limit in bytes
}

// Error says which buffer is full and what to call.
func (e *BufferError) Error() string {
	drain := "Read"
	if e.Buffer == "outgoing" {
		drain = "ReadOutgoing"
	}
	return fmt.Sprintf("bio: %s buffer full: limit is %d bytes; call %s, then retry with the rest", e.Buffer, e.Limit, drain)
}

// Is makes errors.Is(err, ErrBufferFull) true.
func (e *BufferError) Is(target error) bool { return target == ErrBufferFull }

// HandshakeError is the sticky error of a failed handshake. Err is what
// crypto/tls reported (a [crypto/x509.UnknownAuthorityError], the error of
// a VerifyConnection hook, "remote error: tls: ..." when the peer sent an
// alert, ...) or [ErrTruncated]; errors.Is and errors.As see through it.
type HandshakeError struct {
	Err error
}

// Error returns "bio: handshake failed: " and the cause.
func (e *HandshakeError) Error() string { return "bio: handshake failed: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *HandshakeError) Unwrap() error { return e.Err }
