package tlsutil

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"
)

// The x509-limbo suite (https://github.com/C2SP/x509-limbo) runs through
// the Verifier, lax and Strict, when STURDY_LIMBO names its limbo.json, a
// file of one testcase (as the suite's online assets are) or a directory
// of such files: go test -run Limbo -v ./tlsutil with
// STURDY_LIMBO=/path/to/limbo.json. The suite is
// not carried here; TestLimboHarness runs the harness on one case built
// from the corpus, so the harness itself is always tested.

// limboCase is a testcase of x509-limbo's limbo.json (its schema, the
// fields the harness reads).
type limboCase struct {
	ID                     string   `json:"id"`
	Features               []string `json:"features"`
	ValidationKind         string   `json:"validation_kind"`
	TrustedCerts           []string `json:"trusted_certs"`
	UntrustedIntermediates []string `json:"untrusted_intermediates"`
	PeerCertificate        string   `json:"peer_certificate"`
	ValidationTime         *string  `json:"validation_time"`
	SignatureAlgorithms    []string `json:"signature_algorithms"`
	KeyUsage               []string `json:"key_usage"`
	ExtendedKeyUsage       []string `json:"extended_key_usage"`
	ExpectedResult         string   `json:"expected_result"`
	ExpectedPeerName       *struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"expected_peer_name"`
	MaxChainDepth *int `json:"max_chain_depth"`
}

// limboOutcome is what the harness made of a case.
type limboOutcome int

const (
	limboConformant limboOutcome = iota
	limboWrongAccept
	limboWrongReject
	limboSkipped
)

// runLimboCase runs c through a Verifier, Strict or not. It returns the
// outcome, and the error or the reason for skipping.
func runLimboCase(c limboCase, strict bool) (limboOutcome, string) {
	if c.MaxChainDepth != nil || slices.Contains(c.Features, "max-chain-depth") {
		return limboSkipped, "max chain depth"
	}
	if len(c.SignatureAlgorithms) > 0 {
		return limboSkipped, "signature algorithm constraints"
	}
	if len(c.KeyUsage) > 0 && !slices.Equal(c.KeyUsage, []string{"digitalSignature"}) {
		return limboSkipped, "key usage constraints"
	}
	want := "serverAuth"
	if c.ValidationKind == "CLIENT" {
		want = "clientAuth"
	}
	if len(c.ExtendedKeyUsage) > 0 && !slices.Contains(c.ExtendedKeyUsage, want) {
		return limboSkipped, "extended key usage other than " + want
	}
	parse := func(s string) (*x509.Certificate, error) {
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			return nil, fmt.Errorf("not PEM")
		}
		return x509.ParseCertificate(b.Bytes)
	}
	var chain []*x509.Certificate
	peer, err := parse(c.PeerCertificate)
	if err != nil {
		return judgeLimbo(c, err), "peer certificate: " + err.Error()
	}
	chain = append(chain, peer)
	roots := x509.NewCertPool()
	for _, s := range c.TrustedCerts {
		if r, err := parse(s); err == nil {
			roots.AddCert(r)
		}
	}
	for _, s := range c.UntrustedIntermediates {
		if r, err := parse(s); err == nil {
			chain = append(chain, r)
		}
	}
	at := time.Now()
	if c.ValidationTime != nil {
		if at, err = time.Parse(time.RFC3339, *c.ValidationTime); err != nil {
			return limboSkipped, "validation time: " + err.Error()
		}
	}
	v := Verifier{Roots: roots, Strict: strict, Now: func() time.Time { return at }}
	switch c.ValidationKind {
	case "SERVER":
		if c.ExpectedPeerName == nil || (c.ExpectedPeerName.Kind != "DNS" && c.ExpectedPeerName.Kind != "IP") {
			return limboSkipped, "no DNS or IP peer name"
		}
		v.Name = c.ExpectedPeerName.Value
	case "CLIENT":
		v.Client = true
	default:
		return limboSkipped, "validation kind " + c.ValidationKind
	}
	_, err = v.VerifyChain(chain, nil)
	if err != nil {
		return judgeLimbo(c, err), err.Error()
	}
	return judgeLimbo(c, nil), ""
}

func judgeLimbo(c limboCase, err error) limboOutcome {
	switch {
	case (err == nil) == (c.ExpectedResult == "SUCCESS"):
		return limboConformant
	case err == nil:
		return limboWrongAccept
	}
	return limboWrongReject
}

// limboReport counts outcomes per validation kind and lists the
// nonconformant cases.
func limboReport(t *testing.T, cases []limboCase, strict bool) map[string][4]int {
	counts := map[string][4]int{}
	var wrong []string
	for _, c := range cases {
		o, why := runLimboCase(c, strict)
		n := counts[c.ValidationKind]
		n[o]++
		counts[c.ValidationKind] = n
		if o == limboWrongAccept || o == limboWrongReject {
			kind := map[limboOutcome]string{limboWrongAccept: "wrong accept", limboWrongReject: "wrong reject"}[o]
			wrong = append(wrong, fmt.Sprintf("%s %s: %s", kind, c.ID, why))
		}
	}
	sort.Strings(wrong)
	for _, w := range wrong {
		t.Logf("strict=%v %s", strict, w)
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		n := counts[k]
		t.Logf("strict=%v %s: %d conformant, %d wrong accepts, %d wrong rejects, %d skipped",
			strict, k, n[limboConformant], n[limboWrongAccept], n[limboWrongReject], n[limboSkipped])
	}
	return counts
}

// readLimbo reads limbo.json, or a file of one testcase.
func readLimbo(data []byte) ([]limboCase, error) {
	var suite struct {
		Testcases []limboCase `json:"testcases"`
	}
	if err := json.Unmarshal(data, &suite); err != nil {
		return nil, err
	}
	if suite.Testcases != nil {
		return suite.Testcases, nil
	}
	var one limboCase
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, err
	}
	return []limboCase{one}, nil
}

// TestLimbo runs the x509-limbo suite named by STURDY_LIMBO and logs the
// SERVER and CLIENT counts, lax and Strict, with every nonconformant case.
func TestLimbo(t *testing.T) {
	path := os.Getenv("STURDY_LIMBO")
	if path == "" {
		t.Skip("set STURDY_LIMBO to x509-limbo's limbo.json to run the suite")
	}
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.json")); err != nil {
			t.Fatal(err)
		}
	}
	var cases []limboCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		more, err := readLimbo(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, more...)
	}
	t.Logf("%d testcases from %s", len(cases), path)
	for _, strict := range []bool{false, true} {
		limboReport(t, cases, strict)
	}
}

// TestLimboHarness runs the harness on x509-limbo's
// online::s3.amazonaws.com case, rebuilt from the corpus, and on a variant
// that must fail, so that the harness is tested without the suite.
func TestLimboHarness(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "s3.amazonaws.com.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		blocks = append(blocks, string(pem.EncodeToMemory(b)))
	}
	at := "2023-10-10T00:00:01+00:00"
	doc := map[string]any{"testcases": []map[string]any{{
		"id": "online::s3.amazonaws.com", "validation_kind": "SERVER",
		"trusted_certs": blocks[2:], "untrusted_intermediates": blocks[1:2], "peer_certificate": blocks[0],
		"validation_time": at, "expected_result": "SUCCESS",
		"expected_peer_name": map[string]string{"kind": "DNS", "value": "s3.amazonaws.com"},
	}, {
		"id": "s3-wrong-name", "validation_kind": "SERVER",
		"trusted_certs": blocks[2:], "untrusted_intermediates": blocks[1:2], "peer_certificate": blocks[0],
		"validation_time": at, "expected_result": "FAILURE",
		"expected_peer_name": map[string]string{"kind": "DNS", "value": "a.b.s3.amazonaws.com"},
	}}}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := readLimbo(js)
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		for _, c := range cases {
			if o, why := runLimboCase(c, strict); o != limboConformant {
				t.Errorf("strict=%v %s: outcome %d: %s", strict, c.ID, o, why)
			}
		}
		if n := limboReport(t, cases, strict)["SERVER"]; n[limboConformant] != 2 {
			t.Errorf("strict=%v: counts %v, want 2 conformant", strict, n)
		}
	}
}
