package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Describe returns a multi-line, human-readable account of a connection,
// like the handshake part of curl -v: protocol version, cipher suite, ALPN,
// server name, whether the session was resumed, the certificates the peer
// sent (subject, issuer, validity, SANs, pin), the verified chain when
// crypto/tls recorded one, and the stapled OCSP status. It is meant for
// logs and debugging, not for parsing.
func Describe(cs tls.ConnectionState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, cipher %s\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
	alpn := cs.NegotiatedProtocol
	if alpn == "" {
		alpn = "none"
	}
	fmt.Fprintf(&b, "ALPN: %s\n", alpn)
	if cs.ServerName != "" {
		fmt.Fprintf(&b, "server name: %q\n", cs.ServerName)
	}
	if cs.DidResume {
		b.WriteString("session: resumed\n")
	} else {
		b.WriteString("session: full handshake\n")
	}
	if len(cs.PeerCertificates) == 0 {
		b.WriteString("certificates: none sent\n")
	} else {
		b.WriteString("certificates sent by the peer:\n")
		for i, c := range cs.PeerCertificates {
			describeCert(&b, i, c)
		}
	}
	if len(cs.VerifiedChains) > 0 {
		ch := cs.VerifiedChains[0]
		names := make([]string, len(ch))
		for i, c := range ch {
			names[i] = fmt.Sprintf("%q", nameOf(c))
		}
		fmt.Fprintf(&b, "verified chain: %s\n", strings.Join(names, " -> "))
	}
	b.WriteString("OCSP: ")
	b.WriteString(describeStaple(cs))
	b.WriteString("\n")
	return b.String()
}

func describeCert(b *strings.Builder, i int, c *x509.Certificate) {
	fmt.Fprintf(b, "  [%d] subject: %q\n", i, nameOf(c))
	fmt.Fprintf(b, "      issuer:  %q\n", c.Issuer.String())
	fmt.Fprintf(b, "      valid:   %s to %s\n", c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	if len(sans(c)) > 0 {
		fmt.Fprintf(b, "      names:   %s\n", sanList(c))
	}
	fmt.Fprintf(b, "      key:     %s, pin %s\n", c.PublicKeyAlgorithm, PinOf(c))
}

func describeStaple(cs tls.ConnectionState) string {
	if len(cs.OCSPResponse) == 0 {
		return "no response stapled"
	}
	var leaf, issuer *x509.Certificate
	if len(cs.PeerCertificates) > 0 {
		leaf = cs.PeerCertificates[0]
	}
	if len(cs.VerifiedChains) > 0 && len(cs.VerifiedChains[0]) > 1 {
		issuer = cs.VerifiedChains[0][1]
	} else if len(cs.PeerCertificates) > 1 {
		issuer = cs.PeerCertificates[1]
	}
	var (
		resp *ocsp.Response
		err  error
	)
	checked := "signature checked"
	if leaf != nil && issuer != nil {
		resp, err = parseStaple(leaf, issuer, cs.OCSPResponse)
	} else {
		resp, err = ocsp.ParseResponse(cs.OCSPResponse, nil)
		checked = "signature not checked: issuer unknown"
	}
	if err != nil {
		return fmt.Sprintf("unusable response stapled (%v)", err)
	}
	s := fmt.Sprintf("%s (this update %s, next update %s; %s)", ocspStatus(resp.Status),
		resp.ThisUpdate.UTC().Format(time.RFC3339), resp.NextUpdate.UTC().Format(time.RFC3339), checked)
	if resp.Status == ocsp.Revoked {
		s += fmt.Sprintf(", revoked at %s, reason %s", resp.RevokedAt.UTC().Format(time.RFC3339), crlReason(resp.RevocationReason))
	}
	return s
}
