package tlsutil

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Pin is the SHA-256 digest of a certificate's DER-encoded
// SubjectPublicKeyInfo, the value HPKP (RFC 7469) and curl's --pinnedpubkey
// pin. A pin survives certificate renewal as long as the key is kept.
type Pin [32]byte

// pinPrefix is the only hash curl accepts in --pinnedpubkey.
const pinPrefix = "sha256//"

// ErrBadPin is matched (with errors.Is) by every error ParsePin returns.
var ErrBadPin = errors.New("tlsutil: bad pin")

// ParsePin parses a pin in curl's "sha256//BASE64" form, where BASE64 is the
// standard (padded) base64 encoding of the 32-byte digest, as printed by
//
//	openssl x509 -in cert.pem -pubkey -noout |
//	  openssl pkey -pubin -outform der |
//	  openssl dgst -sha256 -binary | base64
//
// Anything else (another hash, URL-safe or unpadded base64, a digest of the
// wrong length, surrounding spaces) is rejected with an error that says what
// was wrong; the error matches ErrBadPin.
func ParsePin(s string) (Pin, error) {
	var p Pin
	if strings.TrimSpace(s) != s {
		return p, pinError(s, "it has leading or trailing white space")
	}
	if !strings.HasPrefix(s, pinPrefix) {
		if i := strings.Index(s, "//"); i > 0 {
			return p, pinError(s, fmt.Sprintf("hash %q is not supported, only sha256// is", s[:i]))
		}
		return p, pinError(s, `it must start with "sha256//" followed by the base64 of the SPKI SHA-256 digest`)
	}
	b64 := s[len(pinPrefix):]
	if b64 == "" {
		return p, pinError(s, "the base64 digest after sha256// is empty")
	}
	// The decoder skips '\r' and '\n'; a pin with them is still malformed
	// (often a line read from a file with its newline).
	if i := strings.IndexFunc(b64, notBase64); i >= 0 {
		return p, pinError(s, fmt.Sprintf("the digest is not standard padded base64: character %q at offset %d", b64[i], len(pinPrefix)+i))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return p, pinError(s, "the digest is not standard padded base64: "+err.Error())
	}
	if len(raw) != len(p) {
		return p, pinError(s, fmt.Sprintf("the digest is %d bytes, a SHA-256 digest is %d", len(raw), len(p)))
	}
	copy(p[:], raw)
	return p, nil
}

func notBase64(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=')
}

// pinError wraps ErrBadPin with the offending input (shortened) and the cause.
func pinError(s, why string) error {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrBadPin, s, why)
}

// PinOf returns the pin of c's public key.
func PinOf(c *x509.Certificate) Pin {
	return Pin(sha256.Sum256(c.RawSubjectPublicKeyInfo))
}

// String returns the pin in the "sha256//BASE64" form that ParsePin reads.
func (p Pin) String() string {
	return pinPrefix + base64.StdEncoding.EncodeToString(p[:])
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (p Pin) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParsePin, so pins
// can live in JSON, YAML or flag values.
func (p *Pin) UnmarshalText(b []byte) error {
	q, err := ParsePin(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// ParsePins parses a list of pins separated by ';', the separator curl uses
// for --pinnedpubkey, so a primary and a backup pin fit in one setting.
// Empty items are rejected.
func ParsePins(s string) ([]Pin, error) {
	var pins []Pin
	for _, item := range strings.Split(s, ";") {
		p, err := ParsePin(item)
		if err != nil {
			return nil, err
		}
		pins = append(pins, p)
	}
	return pins, nil
}
