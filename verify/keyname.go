package verify

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
)

// KeyTypeName names a key's type in the words of key files and tools
// ("RSA 3072-bit", "ECDSA P-384", "Ed25519"), never a Go type name, for
// messages that tell a user what their key is and what is supported.
func KeyTypeName(k any) string {
	switch v := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit", v.N.BitLen())
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d-bit", v.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + v.Curve.Params().Name
	case *ecdsa.PrivateKey:
		return "ECDSA " + v.Curve.Params().Name
	case ed25519.PublicKey, ed25519.PrivateKey, *ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		return "X25519/ECDH (a key-agreement key, which cannot sign)"
	case *ecdh.PrivateKey:
		return "X25519/ECDH (a key-agreement key, which cannot sign)"
	}
	return "of a type modelvet does not read"
}

// SupportedSigningKeys says what Sign accepts, for messages.
const SupportedSigningKeys = "ECDSA (P-256, P-384, P-521) or Ed25519"

// CheckSigningKey refuses a key Sign cannot use, saying what it is and
// what is supported (before any hashing, so the mistake is reported as
// one: exit 2).
func CheckSigningKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if _, err := checkKey(k, "signing key"); err != nil {
			return err
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("the signing key is %s; model signatures are made with %s keys, as the reference model_signing tool makes them", KeyTypeName(pub), SupportedSigningKeys)
}
