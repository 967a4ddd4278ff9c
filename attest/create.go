package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/modelvet/modelvet/verify"
)

// Output formats of Create.
const (
	FormatBundle = "bundle" // Sigstore bundle v0.3 with a public-key hint
	FormatDSSE   = "dsse"   // bare DSSE envelope
)

// PredicateAliases are short names accepted by --type.
var PredicateAliases = map[string]string{
	"slsa-v1":   SLSAv1,
	"slsa-v0.2": SLSAv02,
}

// CreateOptions describe a statement to sign.
type CreateOptions struct {
	PredicateType string        // absolute URI, or a PredicateAliases key
	Predicate     []byte        // the predicate JSON object, kept byte for byte
	SubjectName   string        // the model's name (folder base name, as OMS does)
	Subject       Digest        // the model's root digest
	KeyPEM        []byte        // private key (PKCS#8, SEC 1 EC or PKCS#1 RSA PEM), or:
	Signer        crypto.Signer // a loaded key (e.g. a decrypted cosign key)
	Format        string        // FormatBundle (default) or FormatDSSE
}

// Create writes an in-toto Statement v1 about the model, signed with the
// key, as a Sigstore bundle carrying the key's hint (what "modelvet
// verify --key" and "attestation verify --key" read back) or a bare DSSE
// envelope.
func Create(o CreateOptions) ([]byte, error) {
	pt := o.PredicateType
	if full, ok := PredicateAliases[pt]; ok {
		pt = full
	}
	if u, err := url.Parse(pt); err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return nil, fmt.Errorf("predicate type %q is not an absolute URI (e.g. %s)", o.PredicateType, SLSAv1)
	}
	if o.Subject.IsZero() {
		return nil, errors.New("no subject digest")
	}
	if len(o.Predicate) > MaxFileSize {
		return nil, fmt.Errorf("predicate is %d bytes, more than %d", len(o.Predicate), MaxFileSize)
	}
	if err := checkStrictJSON(o.Predicate); err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, o.Predicate); err != nil {
		return nil, fmt.Errorf("predicate: %v", err)
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return nil, errors.New("predicate must be a JSON object")
	}
	name := o.SubjectName
	if name == "" {
		name = "model"
	}
	// Built by hand rather than through protobuf so the predicate's
	// numbers keep their exact text (structpb would turn 2^53+1 into a
	// float).
	stmt, err := json.Marshal(struct {
		Type          string          `json:"_type"`
		Subject       []any           `json:"subject"`
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}{StatementV1, []any{map[string]any{"name": name, "digest": map[string]string{o.Subject.Alg: o.Subject.Hex}}}, pt, compact.Bytes()})
	if err != nil {
		return nil, err
	}
	// Refuse to sign what this package would refuse to read.
	st, err := ParseStatement(InTotoPayloadType, stmt)
	if err != nil {
		return nil, fmt.Errorf("the statement would not verify: %w", err)
	}
	if IsProvenance(pt) {
		if _, err := ParseProvenance(st); err != nil {
			return nil, fmt.Errorf("the predicate is not valid %s: %w", pt, err)
		}
	}
	signer := o.Signer
	if signer == nil {
		if signer, err = parsePrivateKey(o.KeyPEM); err != nil {
			return nil, err
		}
	}
	pub := signer.Public()
	sig, err := signPAE(signer, verify.PAE(InTotoPayloadType, stmt))
	if err != nil {
		return nil, err
	}
	hint, err := keyHint(pub)
	if err != nil {
		return nil, err
	}
	env := map[string]any{
		"payload":     base64.StdEncoding.EncodeToString(stmt),
		"payloadType": InTotoPayloadType,
		// keyid is empty, as cosign writes it: DSSE verifiers (cosign,
		// go-securesystemslib) skip a signature whose keyid differs from
		// their own idea of the key's id (an SSH-style fingerprint), so an
		// OMS hint here made "cosign verify-blob-attestation" fail. The
		// bundle's publicKey.hint names the key instead (unsigned either way).
		"signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig), "keyid": ""}},
	}
	var out any = env
	switch o.Format {
	case FormatDSSE:
	case FormatBundle, "":
		out = map[string]any{
			"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
			"verificationMaterial": map[string]any{
				"publicKey":   map[string]string{"hint": hint},
				"tlogEntries": []any{},
			},
			"dsseEnvelope": env,
		}
	default:
		return nil, fmt.Errorf("output format %q: want %s or %s", o.Format, FormatBundle, FormatDSSE)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parsePrivateKey reads a PEM private key. Encrypted PEM is refused with
// a message (Go's standard library does not decrypt PKCS#8 keys, and
// guessing would be worse).
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, errors.New("signing key: not a PEM private key")
	}
	if strings.Contains(blk.Type, "ENCRYPTED") || blk.Headers["Proc-Type"] != "" {
		return nil, errors.New("signing key is encrypted: decrypt it first (openssl pkey -in KEY -out plain.pem) and keep the plain copy on the signing machine only")
	}
	var k any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "PUBLIC KEY":
		return nil, errors.New("signing key: this is a public key; signing needs the private key")
	default:
		return nil, fmt.Errorf("signing key: PEM block %q is not a private key", blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %v", err)
	}
	switch s := k.(type) {
	case *ecdsa.PrivateKey:
		switch s.Curve.Params().BitSize {
		case 256, 384, 521:
		default:
			return nil, fmt.Errorf("signing key: curve %s is not supported (P-256, P-384, P-521)", s.Curve.Params().Name)
		}
		return s, nil
	case ed25519.PrivateKey:
		return s, nil
	case *rsa.PrivateKey:
		if s.N.BitLen() < 2048 {
			return nil, fmt.Errorf("signing key: RSA key of %d bits is too weak (want at least 2048)", s.N.BitLen())
		}
		return s, nil
	}
	return nil, fmt.Errorf("signing key: the key is %s; attestations are signed with ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more) keys", verify.KeyTypeName(k))
}

// signPAE signs msg as package verify checks it: ECDSA with the curve's
// hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, ASN.1), ed25519 over
// the message, RSA PKCS#1 v1.5 with SHA-256. It goes through
// crypto.Signer so keys held elsewhere (decrypted cosign keys) work too.
func signPAE(s crypto.Signer, msg []byte) ([]byte, error) {
	switch k := s.Public().(type) {
	case ed25519.PublicKey:
		return s.Sign(rand.Reader, msg, crypto.Hash(0))
	case *ecdsa.PublicKey:
		var d []byte
		h := crypto.SHA256
		switch k.Curve.Params().BitSize {
		case 384:
			sum := sha512.Sum384(msg)
			d, h = sum[:], crypto.SHA384
		case 521:
			sum := sha512.Sum512(msg)
			d, h = sum[:], crypto.SHA512
		default:
			sum := sha256.Sum256(msg)
			d = sum[:]
		}
		return s.Sign(rand.Reader, d, h)
	case *rsa.PublicKey:
		sum := sha256.Sum256(msg)
		return s.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("cannot sign with a %s key", verify.KeyTypeName(s.Public()))
}

// keyHint is the OpenSSF model-signing key identifier package verify
// compares: hex SHA-256 of the PEM-encoded SubjectPublicKeyInfo.
func keyHint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:]), nil
}
