package attest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kind is the container an attestation came in.
type Kind int

const (
	// KindBundle is a Sigstore bundle whose content is a DSSE envelope.
	KindBundle Kind = iota + 1
	// KindDSSE is a bare DSSE envelope (signed with a key or a
	// certificate, no transparency log).
	KindDSSE
	// KindCosignLegacy is what cosign v2 "attest-blob --bundle" writes
	// without --new-bundle-format: {"base64Signature": base64 of a DSSE
	// envelope, "cert", "rekorBundle"}. Its envelope is verified as a
	// bare DSSE envelope.
	KindCosignLegacy
)

func (k Kind) String() string {
	switch k {
	case KindBundle:
		return "Sigstore bundle"
	case KindDSSE:
		return "DSSE envelope"
	case KindCosignLegacy:
		return "cosign legacy bundle"
	}
	return "unknown"
}

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Item is one attestation of a file, not yet verified.
type Item struct {
	Index int    // 1-based position in the file (the line, for JSON Lines)
	Kind  Kind   // bundle or bare envelope
	Raw   []byte // the JSON of this attestation alone
	// Envelope is the DSSE envelope JSON a cosign legacy bundle carries
	// in base64Signature (nil for the other kinds).
	Envelope []byte
}

// Name says where the item is, for messages.
func (it Item) Name() string { return fmt.Sprintf("attestation #%d (%s)", it.Index, it.Kind) }

// ReadFile reads an attestation file (one JSON document, or JSON Lines with
// several) without following it past MaxFileSize.
func ReadFile(path string) ([]Item, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	items, err := Split(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// Split cuts data into attestations: one JSON value, or several separated
// by whitespace (JSON Lines). Each is checked to be strict JSON and to be
// a Sigstore bundle or a DSSE envelope.
func Split(data []byte) ([]Item, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("attestation data is %d bytes, more than %d", len(data), MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var items []Item
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			return items, fmt.Errorf("attestation #%d (from byte %d): invalid JSON: %v", len(items)+1, start, err)
		}
		if len(items) == MaxItems {
			return items, fmt.Errorf("more than %d attestations in one file", MaxItems)
		}
		it := Item{Index: len(items) + 1, Raw: raw}
		if err := checkStrictJSON(raw); err != nil {
			return items, fmt.Errorf("%s: %w", it.Name(), err)
		}
		k, env, err := sniff(raw)
		if err != nil {
			return items, fmt.Errorf("attestation #%d: %w", it.Index, err)
		}
		it.Kind, it.Envelope = k, env
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, errors.New("no attestation found (the file is empty)")
	}
	return items, nil
}

// probeJSON holds the fields that tell the containers apart.
type probeJSON struct {
	MediaType        *string         `json:"mediaType"`
	DsseEnvelope     json.RawMessage `json:"dsseEnvelope"`
	MessageSignature json.RawMessage `json:"messageSignature"`
	PayloadType      *string         `json:"payloadType"`
	Payload          *string         `json:"payload"`
	Signatures       json.RawMessage `json:"signatures"`
	Base64Signature  *string         `json:"base64Signature"`
	Cert             *string         `json:"cert"`
	RekorBundle      json.RawMessage `json:"rekorBundle"`
}

// sniff tells a bundle from a bare envelope (or a cosign legacy bundle,
// whose envelope it returns) by their required fields.
func sniff(raw []byte) (Kind, []byte, error) {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return 0, nil, errors.New("not a JSON object: want a Sigstore bundle or a DSSE envelope")
	}
	var probe probeJSON
	if err := decodeStrict(raw, &probe); err != nil {
		return 0, nil, err
	}
	if probe.MediaType != nil {
		s := *probe.MediaType
		if !strings.HasPrefix(s, "application/vnd.dev.sigstore.bundle") {
			return 0, nil, fmt.Errorf("mediaType %q is not a Sigstore bundle", s)
		}
		if probe.DsseEnvelope == nil {
			if probe.MessageSignature != nil {
				return 0, nil, errors.New("the Sigstore bundle signs a file (messageSignature), not an attestation: it holds no DSSE envelope")
			}
			return 0, nil, errors.New("the Sigstore bundle holds no dsseEnvelope")
		}
		return KindBundle, nil, nil
	}
	if probe.Base64Signature != nil {
		env, err := decodeB64(*probe.Base64Signature)
		if err != nil {
			return 0, nil, errors.New("cosign legacy bundle: base64Signature is not base64")
		}
		if t := bytes.TrimLeft(env, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return 0, nil, errors.New("cosign legacy bundle from \"cosign sign-blob\": it signs a file, not an attestation (want the bundle of \"cosign attest-blob\")")
		}
		if err := checkStrictJSON(env); err != nil {
			return 0, nil, fmt.Errorf("cosign legacy bundle: the DSSE envelope in base64Signature: %w", err)
		}
		if k, _, err := sniff(env); err != nil || k != KindDSSE {
			return 0, nil, errors.New("cosign legacy bundle: base64Signature does not hold a DSSE envelope")
		}
		return KindCosignLegacy, env, nil
	}
	if probe.PayloadType != nil && probe.Payload != nil && probe.Signatures != nil {
		return KindDSSE, nil, nil
	}
	return 0, nil, errors.New("neither a Sigstore bundle (mediaType, dsseEnvelope), a DSSE envelope (payloadType, payload, signatures) nor a cosign legacy bundle (base64Signature)")
}

// dsseJSON is the DSSE envelope as written on disk.
type dsseJSON struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// UnverifiedPayload returns the payload type and payload of an item
// WITHOUT checking any signature. It is for tests, fuzzing and error
// messages only; a verdict must come from Verify.
func UnverifiedPayload(it Item) (string, []byte, error) {
	raw := it.Raw
	switch it.Kind {
	case KindBundle:
		var b struct {
			DSSE json.RawMessage `json:"dsseEnvelope"`
		}
		if err := decodeStrict(raw, &b); err != nil {
			return "", nil, err
		}
		raw = b.DSSE
	case KindCosignLegacy:
		raw = it.Envelope
	}
	var env dsseJSON
	if err := decodeStrict(raw, &env); err != nil {
		return "", nil, fmt.Errorf("DSSE envelope: %v", err)
	}
	p, err := decodeB64(env.Payload)
	if err != nil {
		return "", nil, fmt.Errorf("DSSE payload is not base64: %v", err)
	}
	return env.PayloadType, p, nil
}

// decodeB64 accepts standard and URL-safe base64, padded or not, as the
// DSSE spec allows.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("invalid base64")
}
