package tlsutil

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// TestStrictClientCertificates: with Client set, Strict applies the RFC
// 5280 structure rules and none of the rules for server certificates, so
// ordinary client certificates pass.
func TestStrictClientCertificates(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	now := time.Now()
	clientAuth := testpki.EKU(x509.ExtKeyUsageClientAuth)
	noSANs := func(c *x509.Certificate) { c.DNSNames, c.IPAddresses, c.URIs, c.EmailAddresses = nil, nil, nil, nil }
	accepted := []struct {
		name  string
		leaf  *testpki.Cert
		allow []string
	}{
		{"cn-and-email", p.inter.Leaf(t, clientAuth, testpki.Mutate(func(c *x509.Certificate) {
			noSANs(c)
			c.Subject = pkix.Name{CommonName: "alice"}
			c.EmailAddresses = []string{"alice@example.org"}
		})), nil},
		{"cn-only", p.inter.Leaf(t, clientAuth, testpki.Mutate(func(c *x509.Certificate) {
			noSANs(c)
			c.Subject = pkix.Name{CommonName: "alice"}
		})), nil},
		{"spiffe", p.inter.Leaf(t, clientAuth, testpki.URIs("spiffe://example.org/ns/prod/sa/api")), []string{"spiffe://example.org"}},
		{"underscore-dns", p.inter.Leaf(t, clientAuth, testpki.DNS("svc_a.internal")), []string{"svc_a.internal"}},
		{"no-eku", p.inter.Leaf(t, testpki.EKU(), testpki.CommonName("bob")), nil},
		{"any-eku", p.inter.Leaf(t, testpki.EKU(x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageAny), testpki.CommonName("bob")), nil},
		{"three-years", p.inter.Leaf(t, clientAuth, testpki.CommonName("carol"), testpki.Validity(now.Add(-time.Hour), now.Add(3*365*24*time.Hour))), nil},
	}
	for _, c := range accepted {
		v := Verifier{Roots: p.root.Pool(), Client: true, Strict: true, AllowNames: c.allow}
		if _, err := v.VerifyChain(c.leaf.Chain, nil); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The structure rules still hold for clients.
	refused := []struct {
		name string
		leaf *testpki.Cert
		want Reason
	}{
		{"leaf-is-ca", p.inter.Leaf(t, clientAuth, testpki.IsCA()), LeafIsCA},
		{"keycertsign", p.inter.Leaf(t, clientAuth, testpki.Mutate(func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign })), BadKeyUsage},
		{"no-aki", p.inter.Leaf(t, clientAuth, testpki.NoAuthorityKeyID()), MissingKeyID},
		{"serial-zero", p.inter.Leaf(t, clientAuth, testpki.Serial(big.NewInt(0))), BadSerial},
		{"san-critical-with-subject", p.inter.Leaf(t, clientAuth, testpki.Critical(oidSubjectAltName, true)), BadCriticality},
	}
	for _, c := range refused {
		v := Verifier{Roots: p.root.Pool(), Client: true, Strict: true}
		_, err := v.VerifyChain(c.leaf.Chain, nil)
		t.Run(c.name, func(t *testing.T) { wantReason(t, err, c.want) })
	}
}

// TestCommonNameExact: a server leaf's common name repeats a SAN exactly
// (BR 7.1.4.3), as x509-limbo's webpki::cn cases ask: not in another case,
// not as a U-label for an A-label SAN, and an IP address in its canonical
// text form only (no hex, no leading zeros, RFC 5952 for IPv6).
func TestCommonNameExact(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	v6 := net.ParseIP("2001:db8::1")
	cases := []struct {
		cn, name string
		dns      []string
		ips      []net.IP
		ok       bool
	}{
		{"www.example.test", "www.example.test", []string{"www.example.test"}, nil, true},
		{"WWW.example.test", "www.example.test", []string{"www.example.test"}, nil, false},
		{"www.example.test", "www.example.test", []string{"WWW.EXAMPLE.TEST"}, nil, false},
		{"127.0.0.1", "127.0.0.1", nil, []net.IP{net.IPv4(127, 0, 0, 1)}, true},
		{"2001:db8::1", "2001:db8::1", nil, []net.IP{v6}, true},
		{"2001:DB8::1", "2001:db8::1", nil, []net.IP{v6}, false},
		{"2001:db8:0:0:0:0:0:1", "2001:db8::1", nil, []net.IP{v6}, false},
		{"2001:0db8::0001", "2001:db8::1", nil, []net.IP{v6}, false},
		{"0x7f.0.0.1", "127.0.0.1", nil, []net.IP{net.IPv4(127, 0, 0, 1)}, false},
		{"127.000.000.001", "127.0.0.1", nil, []net.IP{net.IPv4(127, 0, 0, 1)}, false},
		{"bücher.example", "xn--bcher-kva.example", []string{"xn--bcher-kva.example"}, nil, false},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", []string{"xn--bcher-kva.example"}, nil, true},
	}
	for _, c := range cases {
		opts := []testpki.Option{testpki.CommonName(c.cn)}
		if c.dns != nil {
			opts = append(opts, testpki.DNS(c.dns...))
		}
		if c.ips != nil {
			opts = append(opts, testpki.IPs(c.ips...))
		}
		leaf := p.inter.Leaf(t, opts...)
		_, err := (&Verifier{Roots: p.root.Pool(), Name: c.name, Strict: true}).VerifyChain(leaf.Chain, nil)
		want := BadCommonName
		if c.ok {
			want = 0
		}
		t.Run(fmt.Sprintf("%s/%v%v", c.cn, c.dns, c.ips), func(t *testing.T) { wantReason(t, err, want) })
	}
}

// TestConstraintBudgetCountsAnchor: the comparison budget counts the
// trust anchor's name constraints too (x509-limbo's pathological::nc-dos
// cases): a root with many constraints and a leaf with many names is
// refused under Strict, and crypto/x509 alone accepts it.
func TestConstraintBudgetCountsAnchor(t *testing.T) {
	t.Parallel()
	var constraints, names []string
	for i := range 1000 {
		constraints = append(constraints, fmt.Sprintf("d%d.example.test", i))
	}
	for i := range 300 {
		names = append(names, fmt.Sprintf("h%d.d0.example.test", i))
	}
	root := testpki.NewRoot(t, testpki.PermittedDNS(constraints...))
	leaf := root.Leaf(t, testpki.DNS(names...))
	v := Verifier{Roots: root.Pool(), Name: names[0]}
	if _, err := v.VerifyChain(leaf.Chain, nil); err != nil {
		t.Fatalf("lax: %v", err)
	}
	v.Strict = true
	_, err := v.VerifyChain(leaf.Chain, nil)
	wantReason(t, err, TooManyConstraints, "trust anchor included", "300 names")
	// Within the budget the same root passes.
	small := root.Leaf(t, testpki.DNS(names[:200]...))
	if _, err := v.VerifyChain(small.Chain, nil); err != nil {
		t.Fatalf("within the budget: %v", err)
	}
}

// TestEmailConstraintsAsCryptoX509: e-mail name constraints (RFC 5280
// 4.2.1.10 rfc822Name), the literal "*" of x509-limbo's
// rfc5280::nc::nc-permits-email-* cases included, are judged exactly as
// crypto/x509 judges them, with and without Strict.
func TestEmailConstraintsAsCryptoX509(t *testing.T) {
	t.Parallel()
	constraints := []string{"example.com", ".example.com", "a@example.com", "*", "**", "*@example.com", "a*c@example.com", "*.example.com", "EXAMPLE.com"}
	emails := []string{"a@example.com", "b@example.com", "a@sub.example.com", "*@example.com", "**@example.com", "a*c@example.com", "abc@example.com", "a@EXAMPLE.COM", "a@other.com"}
	for _, excluded := range []bool{false, true} {
		for _, con := range constraints {
			root := testpki.NewRoot(t, testpki.Mutate(func(c *x509.Certificate) {
				if excluded {
					c.ExcludedEmailAddresses = []string{con}
				} else {
					c.PermittedEmailAddresses = []string{con}
				}
				c.PermittedDNSDomainsCritical = true
			}))
			for _, mail := range emails {
				leaf := root.Leaf(t, testpki.EKU(x509.ExtKeyUsageClientAuth), testpki.Mutate(func(c *x509.Certificate) {
					c.DNSNames, c.IPAddresses = nil, nil
					c.Subject = pkix.Name{CommonName: "mail user"}
					c.EmailAddresses = []string{mail}
				}))
				_, xerr := leaf.Cert.Verify(x509.VerifyOptions{Roots: root.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
				for _, strict := range []bool{false, true} {
					_, err := (&Verifier{Roots: root.Pool(), Client: true, Strict: strict}).VerifyChain(leaf.Chain, nil)
					if (err == nil) != (xerr == nil) {
						t.Errorf("excluded=%v constraint %q, e-mail %q, strict=%v: got %v, crypto/x509 %v", excluded, con, mail, strict, err, xerr)
					}
				}
			}
		}
	}
}

// TestValidityLimitByIssueDate: a server leaf is judged by the validity
// limit in force on its notBefore date, from the dated table, and the
// error says which limit applied and since when.
func TestValidityLimitByIssueDate(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t, testpki.Validity(date(2010, 1, 1), date(2040, 1, 1)))
	day := 24 * time.Hour
	cases := []struct {
		notBefore time.Time
		life      time.Duration // NotAfter - NotBefore
		ok        bool
		msg       string
	}{
		{date(2011, 6, 1), 10 * 365 * day, true, ""},
		{date(2013, 1, 1), 5 * 365 * day, true, ""},
		{date(2013, 1, 1), 1830 * day, false, "issued on or after 2012-07-01 may be valid for at most 60 months"},
		{date(2016, 1, 1), date(2019, 4, 1).Sub(date(2016, 1, 1)), true, ""},
		{date(2016, 1, 1), date(2019, 4, 2).Sub(date(2016, 1, 1)), false, "at most 39 months"},
		{date(2019, 5, 17), 439 * day, true, ""},
		{date(2019, 5, 17), 825*day - time.Second, true, ""},
		{date(2019, 5, 17), 825 * day, false, "issued on or after 2018-03-01 may be valid for at most 825 days (CA/B Forum BR 6.3.2, ballot 193)"},
		{date(2021, 1, 1), 398*day - time.Second, true, ""},
		{date(2021, 1, 1), 398 * day, false, "at most 398 days"},
		{date(2026, 3, 14), 398*day - time.Second, true, ""},
		{date(2026, 3, 15), 398*day - time.Second, false, "issued on or after 2026-03-15 may be valid for at most 200 days (CA/B Forum BR 6.3.2, ballot SC081v3)"},
		{date(2026, 3, 15), 200*day - time.Second, true, ""},
		{date(2027, 3, 15), 200*day - time.Second, false, "issued on or after 2027-03-15 may be valid for at most 100 days"},
		{date(2027, 3, 15), 100*day - time.Second, true, ""},
		{date(2029, 3, 15), 100*day - time.Second, false, "issued on or after 2029-03-15 may be valid for at most 47 days"},
		{date(2029, 3, 15), 47*day - time.Second, true, ""},
	}
	for _, c := range cases {
		leaf := root.Leaf(t, testpki.Validity(c.notBefore, c.notBefore.Add(c.life)))
		at := c.notBefore.Add(time.Hour)
		v := Verifier{Roots: root.Pool(), Name: "localhost", Strict: true, Now: func() time.Time { return at }}
		_, err := v.VerifyChain(leaf.Chain, nil)
		want := ValidityTooLong
		if c.ok {
			want = 0
		}
		t.Run(fmt.Sprintf("%s+%v", c.notBefore.Format(time.DateOnly), c.life), func(t *testing.T) { wantReason(t, err, want, c.msg) })
		// A client's certificate is not judged by it.
		vc := v
		vc.Client, vc.Name = true, ""
		if _, err := vc.VerifyChain(leaf.Chain, nil); err != nil {
			t.Errorf("client, %s+%v: %v", c.notBefore.Format(time.DateOnly), c.life, err)
		}
	}
}
