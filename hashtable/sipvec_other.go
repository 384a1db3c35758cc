//go:build !amd64 || purego

package hashtable

// useSipVec is false where there is no vector SipHash: see sipvec_amd64.go.
var useSipVec = false

func sipVec24(sd *seed, p *byte, n int) uint64 { return sip24(sd.k0, sd.k1, p, n) }

func sipVec13(sd *seed, p *byte, n int) uint64 { return sip13(sd.k0, sd.k1, p, n) }
