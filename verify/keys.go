package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// maxKeyFile caps key and certificate files (a CA bundle of a few hundred
// certificates fits easily).
const maxKeyFile = 4 << 20

func readSmall(path, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if !st.Mode().IsRegular() {
		// A FIFO or device would block or never end.
		return nil, fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s %s is %d bytes, more than a %s can be", what, path, st.Size(), what)
	}
	return os.ReadFile(path)
}

// loadPublicKey reads a PEM public key: PKIX "PUBLIC KEY" (ECDSA on
// P-256/384/521, ed25519, RSA; cosign writes this form too) or PKCS#1 "RSA
// PUBLIC KEY". Other curves are refused, as the reference tool does.
func loadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := readSmall(path, "public key")
	if err != nil {
		return nil, err
	}
	return parsePublicKeyPEM(data, path)
}

func parsePublicKeyPEM(data []byte, where string) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		// DER is accepted too, as the reference tool does.
		if pub, err := x509.ParsePKIXPublicKey(data); err == nil {
			return checkKey(pub, where)
		}
		return nil, fmt.Errorf("%s: not a PEM public key", where)
	}
	var pub crypto.PublicKey
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		return checkKey(pub, where)
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		pub = k
		return checkKey(pub, where)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%s is a certificate, not a public key: verify certificate signatures with --certificate-chain CA.pem", where)
	default:
		return nil, fmt.Errorf("%s: PEM block %q is not a public key", where, blk.Type)
	}
}

func checkKey(pub crypto.PublicKey, where string) (crypto.PublicKey, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, fmt.Errorf("%s: elliptic curve %s is not supported (want P-256, P-384 or P-521)", where, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return k, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%s: RSA key of %d bits is too weak (want at least 2048)", where, k.N.BitLen())
		}
		return k, nil
	}
	return nil, fmt.Errorf("%s: the key is %s; supported public keys are ECDSA (P-256, P-384, P-521), Ed25519 and RSA (2048 bits or more)", where, KeyTypeName(pub))
}

// keyHint is the OMS v1.1 key identifier: hex SHA-256 of the key's PEM
// SubjectPublicKeyInfo, as Python's cryptography writes it.
func keyHint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:])
}

// keyHints are the names writers give pub in a bundle's publicKey.hint:
// the OMS form (keyHint) and cosign's/sigstore-go's base64 SHA-256 of the
// DER SubjectPublicKeyInfo.
func keyHints(pub crypto.PublicKey) []string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return []string{keyHint(pub), base64.StdEncoding.EncodeToString(sum[:])}
}

// ecHash is the hash the reference tool pairs with each curve (and
// Sigstore's key details PKIX_ECDSA_P{256,384,521}_SHA_{256,384,512}).
func ecHash(k *ecdsa.PublicKey) crypto.Hash {
	switch k.Curve.Params().BitSize {
	case 384:
		return crypto.SHA384
	case 521:
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(msg)
		return s[:]
	}
	s := sha256.Sum256(msg)
	return s[:]
}

// verifySig checks sig over msg with pub.
func verifySig(pub crypto.PublicKey, msg, sig []byte) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, digest(ecHash(k), msg), sig) {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, sig) {
			return nil
		}
	case *rsa.PublicKey:
		d := digest(crypto.SHA256, msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d, sig) == nil || rsa.VerifyPSS(k, crypto.SHA256, d, sig, nil) == nil {
			return nil
		}
	default:
		return fmt.Errorf("cannot verify with a %s key", KeyTypeName(pub))
	}
	return errors.New("signature does not verify")
}
