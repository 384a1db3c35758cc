package tlsutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpeer"
)

func TestParsePin(t *testing.T) {
	t.Parallel()
	digest := sha256.Sum256([]byte("spki"))
	good := "sha256//" + base64.StdEncoding.EncodeToString(digest[:])
	p, err := ParsePin(good)
	if err != nil || p != Pin(digest) || p.String() != good {
		t.Fatalf("ParsePin(%q) = %v, %v", good, p, err)
	}

	short := sha256.Sum224([]byte("x"))
	bad := map[string]string{
		"":          `must start with "sha256//"`,
		"sha1//abc": `hash "sha1" is not supported`,
		"SHA256//" + base64.StdEncoding.EncodeToString(digest[:]): `hash "SHA256" is not supported`,
		"sha256//": "empty",
		"sha256//" + base64.RawStdEncoding.EncodeToString(digest[:]):                                    "not standard padded base64",
		"sha256//" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff, 0xfe}, 11)[:32]): "not standard padded base64",
		"sha256//" + base64.StdEncoding.EncodeToString(short[:]):                                        "28 bytes",
		" " + good:  "white space",
		good + " ":  "white space",
		good + "\n": "white space",
		"sha256//" + good[8:20] + "\n" + good[20:]:                            "character '\\n' at offset 20",
		"pin-sha256=\"" + base64.StdEncoding.EncodeToString(digest[:]) + "\"": `must start with "sha256//"`,
	}
	for in, want := range bad {
		_, err := ParsePin(in)
		if !errors.Is(err, ErrBadPin) {
			t.Fatalf("ParsePin(%q): %v is not ErrBadPin", in, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("ParsePin(%q) = %v, want it to say %q", in, err, want)
		}
	}
}

func TestParsePins(t *testing.T) {
	t.Parallel()
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	s := Pin(a).String() + ";" + Pin(b).String()
	ps, err := ParsePins(s)
	if err != nil || len(ps) != 2 || ps[0] != Pin(a) || ps[1] != Pin(b) {
		t.Fatalf("ParsePins: %v %v", ps, err)
	}
	if _, err := ParsePins(s + ";"); !errors.Is(err, ErrBadPin) {
		t.Fatalf("trailing separator: %v", err)
	}
}

func TestPinText(t *testing.T) {
	t.Parallel()
	in := []Pin{Pin(sha256.Sum256([]byte("a")))}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Pin
	if err := json.Unmarshal(data, &out); err != nil || out[0] != in[0] {
		t.Fatalf("round trip %s: %v", data, err)
	}
	if err := json.Unmarshal([]byte(`["md5//x"]`), &out); !errors.Is(err, ErrBadPin) {
		t.Fatalf("bad pin in JSON: %v", err)
	}
}

// TestPinOfMatchesOpenSSL computes a pin with the openssl pipeline curl's
// documentation gives and compares it with PinOf.
func TestPinOfMatchesOpenSSL(t *testing.T) {
	t.Parallel()
	openssl := testpeer.OpenSSL(t)
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	dir := t.TempDir()
	certFile, _ := leaf.WritePEM(t, dir)
	pub, err := exec.Command(openssl, "x509", "-in", certFile, "-pubkey", "-noout").Output()
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := exec.Command(openssl, "pkey", "-pubin", "-in", pubFile, "-outform", "der").Output()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	want := "sha256//" + base64.StdEncoding.EncodeToString(sum[:])
	if got := PinOf(leaf.Cert).String(); got != want {
		t.Fatalf("PinOf = %s, openssl says %s", got, want)
	}
}
