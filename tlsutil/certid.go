package tlsutil

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// errCertIDIssuer says a stapled OCSP answer is about the leaf's serial
// number under some other issuer.
var errCertIDIssuer = errors.New("its answer for the leaf's serial number names another issuer (CertID issuer hashes differ)")

// checkCertIDIssuer makes sure that the first single response about
// serial in the response data tbs (the one x/crypto/ocsp reads) names
// issuer in its CertID, hashed with h (RFC 6960 4.1.1). x/crypto/ocsp
// matches entries by serial number alone, and a serial number is unique
// only per issuer: without this check, a responder that answers for
// several CAs could vouch for a revoked leaf with another CA's "good".
func checkCertIDIssuer(tbs []byte, h crypto.Hash, serial *big.Int, issuer *x509.Certificate) error {
	if !h.Available() {
		return fmt.Errorf("its CertID uses a hash this program cannot compute (%v)", h)
	}
	nameHash := h.New()
	nameHash.Write(issuer.RawSubject)
	keyBits, err := subjectPublicKeyBits(issuer.RawSubjectPublicKeyInfo)
	if err != nil {
		return err
	}
	keyHash := h.New()
	keyHash.Write(keyBits)

	malformed := errors.New("its response data is malformed")
	in := cryptobyte.String(tbs)
	var data, responses, responder cryptobyte.String
	var responderTag cbasn1.Tag
	if !in.ReadASN1(&data, cbasn1.SEQUENCE) ||
		!data.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!data.ReadAnyASN1(&responder, &responderTag) || // responderID, by name or by key
		!data.SkipASN1(cbasn1.GeneralizedTime) || // producedAt
		!data.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return malformed
	}
	for !responses.Empty() {
		var single, certID, alg, gotName, gotKey cryptobyte.String
		n := new(big.Int)
		if !responses.ReadASN1(&single, cbasn1.SEQUENCE) ||
			!single.ReadASN1(&certID, cbasn1.SEQUENCE) ||
			!certID.ReadASN1(&alg, cbasn1.SEQUENCE) ||
			!certID.ReadASN1(&gotName, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1(&gotKey, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1Integer(n) {
			return malformed
		}
		if n.Cmp(serial) != 0 {
			continue
		}
		if !bytes.Equal(gotName, nameHash.Sum(nil)) || !bytes.Equal(gotKey, keyHash.Sum(nil)) {
			return errCertIDIssuer
		}
		return nil
	}
	return errors.New("it has no answer for the leaf's serial number")
}

// subjectPublicKeyBits returns the subjectPublicKey BIT STRING's bytes of
// a SubjectPublicKeyInfo, what an OCSP CertID's issuerKeyHash hashes.
func subjectPublicKeyBits(spki []byte) ([]byte, error) {
	in := cryptobyte.String(spki)
	var info cryptobyte.String
	var bits cryptobyte.String
	if !in.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.SkipASN1(cbasn1.SEQUENCE) ||
		!info.ReadASN1BitStringAsBytes((*[]byte)(&bits)) {
		return nil, errors.New("the issuer's public key info is malformed")
	}
	return bits, nil
}
