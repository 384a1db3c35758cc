package archtest

// This file pins the public contract of shared/DESIGN.md: every fixed name
// with its exact signature. It fails to compile, naming the symbol, when a
// package drifts from it.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"iter"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/hashtable"
	"github.com/sturdy-go/sturdy/observer"
	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/tlsutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// observer
var (
	_ func(*observer.Subject[int], func(int), ...observer.SubscribeOption) *observer.Subscription     = (*observer.Subject[int]).Subscribe
	_ func(*observer.Subject[int], int)                                                               = (*observer.Subject[int]).Notify
	_ func(*observer.Subject[int])                                                                    = (*observer.Subject[int]).Close
	_ func(*observer.Subject[int]) int                                                                = (*observer.Subject[int]).Len
	_ func(*observer.Subscription)                                                                    = (*observer.Subscription).Unsubscribe
	_ func(*observer.Subscription) <-chan struct{}                                                    = (*observer.Subscription).Done
	_ func(int, observer.Policy) observer.SubscribeOption                                             = observer.Async
	_                                                                                                 = [4]observer.Policy{observer.Block, observer.DropOldest, observer.DropNewest, observer.Latest}
	_ func(func(any)) observer.SubscribeOption                                                        = observer.OnPanic
	_ func(*observer.Subject[int], *struct{}, func(*struct{}, int)) *observer.Subscription            = observer.SubscribeWeak[int, struct{}]
	_ func(*observer.Value[string], string)                                                           = (*observer.Value[string]).Set
	_ func(*observer.Value[string]) string                                                            = (*observer.Value[string]).Get
	_ func(*observer.Value[string], func(string), ...observer.SubscribeOption) *observer.Subscription = (*observer.Value[string]).Subscribe
)

// slowlog
var (
	_ func(*zap.Logger, ...slowlog.Option) *slowlog.Log                              = slowlog.New
	_ func(time.Duration) slowlog.Option                                             = slowlog.Threshold
	_ func(...slowlog.Tier) slowlog.Option                                           = slowlog.Tiers
	_                                                                                = slowlog.Tier{Over: time.Second, Level: zapcore.WarnLevel}
	_ func(int) slowlog.Option                                                       = slowlog.Keep
	_ func(func() time.Time) slowlog.Option                                          = slowlog.WithClock
	_ func(*slowlog.Log, string, ...slowlog.CallOption) slowlog.Span                 = (*slowlog.Log).Start
	_ func(slowlog.Span)                                                             = slowlog.Span.Stop
	_ func() slowlog.CallOption                                                      = slowlog.Always
	_ func(*slowlog.Log, context.Context, string, func(context.Context) error) error = (*slowlog.Log).Do
	_ func(*slowlog.Log, http.Handler) http.Handler                                  = (*slowlog.Log).Middleware
	_ func(*slowlog.Log) []slowlog.Entry                                             = (*slowlog.Log).Entries
	_ func(*slowlog.Log)                                                             = (*slowlog.Log).Reset
	_                                                                                = slowlog.Entry{ID: 1, Name: "x", Start: time.Time{}, Duration: time.Second, Err: nil}
)

// hashtable
type myString string

var (
	_ func(...hashtable.Option) *hashtable.Map[string, int]                                       = hashtable.New[string, int]
	_ func(...hashtable.Option) *hashtable.Map[myString, int]                                     = hashtable.New[myString, int]
	_ func(...hashtable.Option) *hashtable.Map[uintptr, int]                                      = hashtable.New[uintptr, int]
	_ func(func(uint64, uint64, [2]int) uint64, ...hashtable.Option) *hashtable.Map[[2]int, bool] = hashtable.NewFunc[[2]int, bool]
	_ func(uint64, uint64) hashtable.Option                                                       = hashtable.WithSeed
	_ func(int) hashtable.Option                                                                  = hashtable.WithCapacity
	_ func(*hashtable.Map[string, int], string) (int, bool)                                       = (*hashtable.Map[string, int]).Get
	_ func(*hashtable.Map[string, int], string, int)                                              = (*hashtable.Map[string, int]).Put
	_ func(*hashtable.Map[string, int], string) bool                                              = (*hashtable.Map[string, int]).Delete
	_ func(*hashtable.Map[string, int]) int                                                       = (*hashtable.Map[string, int]).Len
	_ func(*hashtable.Map[string, int]) iter.Seq2[string, int]                                    = (*hashtable.Map[string, int]).All
	_ func(*hashtable.Map[string, int])                                                           = (*hashtable.Map[string, int]).Clear
	_ func(*hashtable.Map[string, int]) hashtable.Stats                                           = (*hashtable.Map[string, int]).Stats
	_ func(uint64, uint64, string) uint64                                                         = hashtable.Hash
	_                                                                                             = hashtable.Stats{}.Len + hashtable.Stats{}.Capacity + hashtable.Stats{}.MaxProbe + int(hashtable.Stats{}.Reseeds)
)

// hashtable.Key must admit every kind the contract lists.
func keyKinds[K hashtable.Key]() {}

var _ = []func(){
	keyKinds[string], keyKinds[int], keyKinds[int8], keyKinds[int16], keyKinds[int32], keyKinds[int64],
	keyKinds[uint], keyKinds[uint8], keyKinds[uint16], keyKinds[uint32], keyKinds[uint64], keyKinds[uintptr],
}

// tlsutil
var (
	_ = tlsutil.Verifier{
		Roots:      (*x509.CertPool)(nil),
		Name:       "",
		Pins:       []tlsutil.Pin(nil),
		Revocation: tlsutil.RevocationOff,
		Strict:     false,
		Now:        time.Now,
	}
	_ func(*tlsutil.Verifier, tls.ConnectionState) error                                  = (*tlsutil.Verifier).VerifyConnection
	_ func(*tlsutil.Verifier, []*x509.Certificate, []byte) ([][]*x509.Certificate, error) = (*tlsutil.Verifier).VerifyChain
	_ [32]byte                                                                            = tlsutil.Pin{}
	_ func(string) (tlsutil.Pin, error)                                                   = tlsutil.ParsePin
	_ func(*x509.Certificate) tlsutil.Pin                                                 = tlsutil.PinOf
	_ error                                                                               = (*tlsutil.VerifyError)(nil)
	_ tlsutil.Reason                                                                      = tlsutil.VerifyError{}.Reason
	_                                                                                     = [...]tlsutil.Reason{tlsutil.UnknownAuthority, tlsutil.NameMismatch, tlsutil.Expired, tlsutil.NotYetValid, tlsutil.PinMismatch, tlsutil.Revoked, tlsutil.StapleMissing}
	_                                                                                     = [...]tlsutil.RevocationPolicy{tlsutil.RevocationOff, tlsutil.RevocationIfStapled, tlsutil.RevocationRequireStaple}
	_                                                                                     = tlsutil.Dialer{NetDialer: (*net.Dialer)(nil), Config: (*tls.Config)(nil), Verifier: (*tlsutil.Verifier)(nil)}
	_ func(*tlsutil.Dialer, context.Context, string, string) (net.Conn, error)            = (*tlsutil.Dialer).DialContext
	_ func(*tlsutil.Verifier) *tls.Config                                                 = tlsutil.ClientConfig
	_ func(...string) (*x509.CertPool, error)                                             = tlsutil.LoadRoots
)

// bio
var (
	_ func(*tls.Config) *bio.Conn          = bio.Client
	_ func(*tls.Config) *bio.Conn          = bio.Server
	_ error                                = bio.ErrWantRead
	_ error                                = bio.ErrTruncated
	_ func(*bio.Conn, []byte) (int, error) = (*bio.Conn).WriteIncoming
	_ func(*bio.Conn)                      = (*bio.Conn).CloseIncoming
	_ func(*bio.Conn, []byte) (int, error) = (*bio.Conn).ReadOutgoing
	_ func(*bio.Conn) int                  = (*bio.Conn).OutgoingLen
	_ func(*bio.Conn) error                = (*bio.Conn).Handshake
	_ func(*bio.Conn, []byte) (int, error) = (*bio.Conn).Read
	_ func(*bio.Conn, []byte) (int, error) = (*bio.Conn).Write
	_ func(*bio.Conn) error                = (*bio.Conn).Close
	_ func(*bio.Conn) tls.ConnectionState  = (*bio.Conn).ConnectionState
)

// fork
var (
	_ func(func(), func(), func())                               = fork.AtFork
	_ func() error                                               = fork.Init
	_ func() bool                                                = fork.IsChild
	_ func(*exec.Cmd, ...fork.NamedFile) error                   = fork.Start
	_                                                            = fork.NamedFile{Name: "x", File: nil}
	_ func() []fork.NamedFile                                    = fork.Inherited
	_ func(fork.UpgradeOptions) (*fork.Upgrader, error)          = fork.NewUpgrader
	_ func(*fork.Upgrader, string, string) (net.Listener, error) = (*fork.Upgrader).Listen
	_ func(*fork.Upgrader) error                                 = (*fork.Upgrader).Ready
	_ func(*fork.Upgrader) error                                 = (*fork.Upgrader).Upgrade
	_ func(*fork.Upgrader) <-chan struct{}                       = (*fork.Upgrader).Exit
	_ func(*fork.Upgrader)                                       = (*fork.Upgrader).Stop
)

// TestContractZeroValues checks the behaviour the contract promises of
// zero values, beyond what the compiler checks above.
func TestContractZeroValues(t *testing.T) {
	var s observer.Subject[int]
	got := 0
	sub := s.Subscribe(func(v int) { got += v })
	s.Notify(2)
	if got != 2 || s.Len() != 1 {
		t.Fatalf("zero Subject: delivered %d, Len %d", got, s.Len())
	}
	sub.Unsubscribe()
	sub.Unsubscribe() // idempotent
	select {
	case <-sub.Done():
	default:
		t.Fatal("Done not closed after Unsubscribe")
	}
	if tlsutil.UnknownAuthority != 1 {
		t.Fatalf("UnknownAuthority = %d, want 1 (iota + 1)", tlsutil.UnknownAuthority)
	}
	if observer.Block != 0 || tlsutil.RevocationOff != 0 {
		t.Fatal("Block and RevocationOff must be the zero values")
	}
}
