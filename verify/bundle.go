package verify

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// maxBundleSize caps a signature file. Real model.sig files are a few KB
// (a manifest of 100k shards is ~15 MB); 64 MiB leaves room and stops a
// hostile file from making us parse gigabytes.
const maxBundleSize = 64 << 20

// Known Sigstore bundle media types. The reference tool writes v0.3.
var bundleMediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle+json;version=0.1": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
}

var v03MediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
}

// rawBundle is a lenient reading of the bundle JSON: it accepts every form
// the reference tool wrote (publicKey.rawBytes and keyDetails from v0.3.x
// to v1.0.1, publicKey.hint from v1.1.0, an x509CertificateChain in a
// v0.3 bundle) which sigstore-go's strict loader rejects. Only keyless
// bundles go through sigstore-go, which re-parses them strictly.
type rawBundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			RawBytes   []byte `json:"rawBytes"`
			KeyDetails string `json:"keyDetails"`
			Hint       string `json:"hint"`
		} `json:"publicKey"`
		X509CertificateChain *struct {
			Certificates []struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificates"`
		} `json:"x509CertificateChain"`
		Certificate *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"certificate"`
		TlogEntries               []json.RawMessage `json:"tlogEntries"`
		TimestampVerificationData json.RawMessage   `json:"timestampVerificationData"`
	} `json:"verificationMaterial"`
	DsseEnvelope     *rawEnvelope    `json:"dsseEnvelope"`
	MessageSignature json.RawMessage `json:"messageSignature"`
}

type rawEnvelope struct {
	Payload     []byte `json:"payload"` // base64 in JSON
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig   []byte  `json:"sig"`
		KeyID *string `json:"keyid"`
	} `json:"signatures"`
}

// parseBundle reads a bundle and checks its shape: a known media type, a
// DSSE envelope (model signatures are never bare message signatures), and
// exactly one kind of verification material.
func parseBundle(data []byte) (*rawBundle, error) {
	if len(data) > maxBundleSize {
		return nil, fmt.Errorf("signature is %d bytes, more than the %d allowed for a bundle", len(data), maxBundleSize)
	}
	var b rawBundle
	if err := strictJSON(data, &b); err != nil {
		return nil, fmt.Errorf("signature is not a readable Sigstore bundle: %v", err)
	}
	if !bundleMediaTypes[b.MediaType] {
		return nil, fmt.Errorf("signature is not a Sigstore bundle: media type %q", b.MediaType)
	}
	if b.DsseEnvelope == nil {
		if len(b.MessageSignature) > 0 {
			return nil, errors.New("bundle holds a message signature, not the DSSE envelope a model signature needs")
		}
		return nil, errors.New("bundle holds no DSSE envelope")
	}
	if len(b.MessageSignature) > 0 && string(b.MessageSignature) != "null" {
		// The bundle's content is a oneof: a reader that takes the message
		// signature (protobuf keeps the last member it reads) would see
		// another signed thing than this one; ambiguous, so refused.
		return nil, errors.New("bundle holds both a DSSE envelope and a message signature; a Sigstore bundle carries exactly one")
	}
	if err := b.DsseEnvelope.check(); err != nil {
		return nil, err
	}
	vm := &b.VerificationMaterial
	kinds := 0
	if vm.PublicKey != nil {
		kinds++
	}
	if vm.X509CertificateChain != nil {
		kinds++
		if len(vm.X509CertificateChain.Certificates) == 0 {
			return nil, errors.New("bundle's certificate chain is empty")
		}
	}
	if vm.Certificate != nil {
		kinds++
		if !v03MediaTypes[b.MediaType] {
			// verificationMaterial.certificate exists from bundle v0.3
			// on; an older media type on it means the bundle was
			// relabelled, e.g. to be judged under v0.1's rules (an
			// inclusion promise without proof suffices there).
			return nil, fmt.Errorf("bundle says it is %q but carries verificationMaterial.certificate, which bundles have only from v0.3: the media type was changed", b.MediaType)
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("bundle must carry exactly one of publicKey, x509CertificateChain or certificate (found %d)", kinds)
	}
	return &b, nil
}

func parseEnvelope(data []byte) (*rawEnvelope, error) {
	if len(data) > maxBundleSize {
		return nil, fmt.Errorf("envelope is %d bytes, more than the %d allowed", len(data), maxBundleSize)
	}
	var e rawEnvelope
	if err := strictJSON(data, &e); err != nil {
		return nil, fmt.Errorf("not a readable DSSE envelope: %v", err)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return &e, nil
}

func (e *rawEnvelope) check() error {
	if e.PayloadType == "" {
		return errors.New("DSSE envelope has no payloadType")
	}
	if len(e.Payload) == 0 {
		return errors.New("DSSE envelope has an empty payload")
	}
	if len(e.Signatures) == 0 {
		return errors.New("DSSE envelope has no signatures")
	}
	for i, s := range e.Signatures {
		if len(s.Sig) == 0 {
			return fmt.Errorf("DSSE envelope signature %d is empty", i)
		}
	}
	return nil
}

// strictJSON decodes a signed document with the project's one strict
// reader (internal/jsonx): exact keys, no case-folding twins, no
// duplicates, valid UTF-8, numbers where numbers are meant, nothing after
// the document. Two verifiers (this one, sigstore-go, Python's json)
// therefore cannot read different documents from the same bytes.
func strictJSON(data []byte, v any) error { return jsonx.Decode(data, v) }

// keylessMaterial reports whether the bundle looks like a Sigstore
// keyless one (a Fulcio-style certificate plus log entries).
func (b *rawBundle) describeMaterial() string {
	vm := &b.VerificationMaterial
	switch {
	case vm.PublicKey != nil:
		return "a public key"
	case vm.X509CertificateChain != nil:
		return "an X.509 certificate chain"
	case vm.Certificate != nil:
		if len(vm.TlogEntries) > 0 {
			return "a Sigstore (keyless) certificate with transparency-log entries"
		}
		return "a certificate"
	}
	return "no verification material"
}
