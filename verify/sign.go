package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SignOptions configure Sign.
type SignOptions struct {
	Hash HashOptions
	// SignaturePath is where the bundle is written; default model.sig in
	// the model folder. When it is inside the model it is left out of the
	// manifest (and recorded in ignore_paths).
	SignaturePath string
	// Key signs; ECDSA (P-256/384/521, hashed with SHA-256/384/512 by
	// curve, as the reference tool does) or ed25519.
	Key crypto.Signer
	// Certificate (DER) and Chain (DER intermediates) switch to the
	// certificate method: the leaf's key must be Key's public key.
	Certificate []byte
	Chain       [][]byte
	// Keyless signs with an ephemeral key, a Fulcio certificate for the
	// OIDC identity in KeylessOpts and a Rekor entry (keyless_sign.go).
	// It is the only path that uses the network.
	Keyless     bool
	KeylessOpts KeylessOptions
}

// LoadPrivateKeyPEM reads an unencrypted PEM private key (SEC1 "EC
// PRIVATE KEY" or PKCS#8 "PRIVATE KEY"). Encrypted cosign keys are read by
// the command line, which links cosign.
func LoadPrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, errors.New("no PEM private key found")
		}
		switch blk.Type {
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("the private key is %s, which cannot sign", KeyTypeName(k))
			}
			return s, nil
		case "ENCRYPTED PRIVATE KEY", "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
			return nil, fmt.Errorf("the key is encrypted (%s)", blk.Type)
		}
	}
}

// Sign hashes the model, signs an OMS v1.0 statement, writes the bundle
// and returns the manifest and the bundle bytes.
func Sign(model string, o SignOptions) (*Manifest, []byte, error) {
	if o.Keyless {
		return signKeyless(model, o)
	}
	if o.Key == nil {
		return nil, nil, errors.New("no signing key")
	}
	if err := CheckSigningKey(o.Key.Public()); err != nil {
		return nil, nil, err
	}
	var leaf *x509.Certificate
	if len(o.Certificate) > 0 {
		c, err := x509.ParseCertificate(o.Certificate)
		if err != nil {
			return nil, nil, fmt.Errorf("signing certificate: %v", err)
		}
		if keyHint(c.PublicKey) != keyHint(o.Key.Public()) {
			return nil, nil, errors.New("the signing certificate's public key does not match the private key")
		}
		leaf = c
	} else if len(o.Chain) > 0 {
		return nil, nil, errors.New("a certificate chain needs the signing certificate too (--certificate)")
	}
	m, payload, err := signedStatement(model, &o)
	if err != nil {
		return nil, nil, err
	}
	sig, err := signPAE(o.Key, pae(InTotoPayloadType, payload))
	if err != nil {
		return nil, nil, err
	}
	out, err := bundleJSON(payload, sig, o.Key.Public(), leaf, o.Chain)
	if err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(o.SignaturePath, out); err != nil {
		return nil, nil, err
	}
	return m, out, nil
}

// signedStatement hashes the model and renders the statement every
// signing method signs, so key, certificate and keyless signatures of the
// same model carry byte-identical payloads. It fills o.SignaturePath with
// the default and leaves the signature file out of the manifest.
func signedStatement(model string, o *SignOptions) (*Manifest, []byte, error) {
	if o.SignaturePath == "" {
		o.SignaturePath = DefaultSignaturePath(model)
	}
	ho := o.Hash
	if err := CheckHashType(ho.HashType, ho.Method); err != nil {
		return nil, nil, err
	}
	if rel, ok := relInside(model, o.SignaturePath); ok {
		ho.IgnorePaths = append(append([]string{}, ho.IgnorePaths...), rel)
	}
	m, err := HashModel(model, ho)
	if err != nil {
		return nil, nil, err
	}
	payload, err := StatementJSON(m)
	if err != nil {
		return nil, nil, err
	}
	return m, payload, nil
}

func signPAE(k crypto.Signer, msg []byte) ([]byte, error) {
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		return k.Sign(rand.Reader, digest(ecHash(pub), msg), ecHash(pub))
	case ed25519.PublicKey:
		return k.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("cannot sign with a %s key (supported: %s)", KeyTypeName(k.Public()), SupportedSigningKeys)
}

// The statement types below fix the key order of the reference tool's
// v1.1.0 output (Go marshals struct fields in order), so signatures made
// here read the same as the tool's.
type outStatement struct {
	Type          string        `json:"_type"`
	Subject       []outSubject  `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     *outPredicate `json:"predicate"`
}

type outSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type outPredicate struct {
	Resources     []outResource    `json:"resources"`
	Serialization outSerialization `json:"serialization"`
}

type outResource struct {
	Algorithm string `json:"algorithm"`
	Name      string `json:"name"`
	Digest    string `json:"digest"`
}

type outSerialization struct {
	AllowSymlinks bool     `json:"allow_symlinks"`
	Method        string   `json:"method"`
	HashType      string   `json:"hash_type"`
	ShardSize     int64    `json:"shard_size,omitempty"`
	IgnorePaths   []string `json:"ignore_paths"`
}

// StatementJSON renders the OMS v1.0 in-toto statement of a manifest as
// the reference tool does (two-space indent, no trailing newline).
func StatementJSON(m *Manifest) ([]byte, error) {
	st := outStatement{
		Type:          StatementTypeV1,
		Subject:       []outSubject{{Name: m.ModelName, Digest: map[string]string{"sha256": m.RootDigest()}}},
		PredicateType: PredicateTypeV1,
		Predicate: &outPredicate{Serialization: outSerialization{
			AllowSymlinks: m.AllowSymlinks,
			Method:        m.Method,
			HashType:      m.HashType,
			ShardSize:     m.ShardSize,
			IgnorePaths:   append([]string{}, m.IgnorePaths...),
		}},
	}
	for _, r := range m.Resources {
		st.Predicate.Resources = append(st.Predicate.Resources, outResource{Algorithm: r.Algorithm, Name: r.Name, Digest: r.Digest})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type outBundle struct {
	MediaType            string              `json:"mediaType"`
	VerificationMaterial outMaterial         `json:"verificationMaterial"`
	DsseEnvelope         outEnvelopeInBundle `json:"dsseEnvelope"`
}

type outMaterial struct {
	PublicKey            *outHint   `json:"publicKey,omitempty"`
	X509CertificateChain *outChain  `json:"x509CertificateChain,omitempty"`
	TlogEntries          []struct{} `json:"tlogEntries"`
}

type outHint struct {
	Hint string `json:"hint"`
}

type outChain struct {
	Certificates []outRaw `json:"certificates"`
}

type outRaw struct {
	RawBytes []byte `json:"rawBytes"`
}

type outEnvelopeInBundle struct {
	Payload     []byte   `json:"payload"`
	PayloadType string   `json:"payloadType"`
	Signatures  []outSig `json:"signatures"`
}

type outSig struct {
	Sig   []byte `json:"sig"`
	KeyID string `json:"keyid"`
}

// bundleJSON writes the bundle as the reference tool v1.1.0 does: a v0.3
// bundle with a key hint or an x509CertificateChain, and no log entries.
func bundleJSON(payload, sig []byte, pub crypto.PublicKey, leaf *x509.Certificate, chain [][]byte) ([]byte, error) {
	b := outBundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		DsseEnvelope: outEnvelopeInBundle{
			Payload:     payload,
			PayloadType: InTotoPayloadType,
			Signatures:  []outSig{{Sig: sig, KeyID: ""}},
		},
	}
	b.VerificationMaterial.TlogEntries = []struct{}{}
	if leaf != nil {
		c := &outChain{Certificates: []outRaw{{RawBytes: leaf.Raw}}}
		for _, d := range chain {
			c.Certificates = append(c.Certificates, outRaw{RawBytes: d})
		}
		b.VerificationMaterial.X509CertificateChain = c
	} else {
		b.VerificationMaterial.PublicKey = &outHint{Hint: keyHint(pub)}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeFileAtomic writes through a temporary file in the same folder so a
// crash never leaves half a signature.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".modelvet-sig-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		// Windows cannot chmod an open file; the default there is fine.
		_ = err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// PEMCertificates decodes every CERTIFICATE block of a PEM file to DER.
func PEMCertificates(path string) ([][]byte, error) {
	data, err := readSmall(path, "certificate file")
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
			out = append(out, blk.Bytes)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return out, nil
}
