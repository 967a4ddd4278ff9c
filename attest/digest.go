package attest

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	ita "github.com/in-toto/attestation/go/v1"
)

// Digest is one algorithm and hex value, "sha256:ab12...".
type Digest struct {
	Alg string
	Hex string // lower case
}

func (d Digest) String() string { return d.Alg + ":" + d.Hex }

// IsZero reports whether d is unset.
func (d Digest) IsZero() bool { return d.Alg == "" && d.Hex == "" }

// ParseDigest parses "ALG:HEX". Known algorithms get their hex length
// checked, so a truncated digest given by mistake is a usage error and
// not a silent mismatch.
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || alg == "" || h == "" {
		return Digest{}, fmt.Errorf("digest %q: want ALGORITHM:HEX, e.g. sha256:%s", s, strings.Repeat("0", 64))
	}
	d := Digest{Alg: normalizeAlg(alg), Hex: strings.ToLower(h)}
	if _, err := hex.DecodeString(d.Hex); err != nil {
		return Digest{}, fmt.Errorf("digest %q: the value is not hexadecimal", s)
	}
	if n := 2 * ita.HashAlgorithm(d.Alg).HexLength(); n > 0 && len(d.Hex) != n {
		return Digest{}, fmt.Errorf("digest %q: a %s digest has %d hex digits, this one has %d", s, d.Alg, n, len(d.Hex))
	}
	return d, nil
}

// normalizeAlg maps user spellings ("SHA256", "sha-256") to the in-toto
// names ("sha256"); unknown names are kept as written, lower-cased.
func normalizeAlg(a string) string {
	l := strings.ToLower(a)
	if _, ok := ita.HashAlgorithms[a]; ok {
		return a
	}
	l2 := strings.ReplaceAll(l, "-", "")
	for name := range ita.HashAlgorithms {
		if strings.ToLower(name) == l || strings.ToLower(name) == l2 {
			return name
		}
	}
	return l
}

// digestSetHas reports whether a DigestSet (alg -> hex) holds d.
func digestSetHas(set map[string]string, d Digest) bool {
	for alg, h := range set {
		if normalizeAlg(alg) == d.Alg && strings.EqualFold(h, d.Hex) {
			return true
		}
	}
	return false
}

// formatDigestSet renders a DigestSet in a stable order, strongest first
// as far as sorting by name goes.
func formatDigestSet(set map[string]string) string {
	parts := make([]string, 0, len(set))
	for alg, h := range set {
		parts = append(parts, alg+":"+strings.ToLower(h))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
