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
)

func (k Kind) String() string {
	switch k {
	case KindBundle:
		return "Sigstore bundle"
	case KindDSSE:
		return "DSSE envelope"
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
		k, err := sniff(raw)
		if err != nil {
			return items, fmt.Errorf("attestation #%d: %w", it.Index, err)
		}
		it.Kind = k
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, errors.New("no attestation found (the file is empty)")
	}
	return items, nil
}

// sniff tells a bundle from a bare envelope by their required fields.
func sniff(raw []byte) (Kind, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return 0, errors.New("not a JSON object: want a Sigstore bundle or a DSSE envelope")
	}
	if mt, ok := probe["mediaType"]; ok {
		var s string
		_ = json.Unmarshal(mt, &s)
		if !strings.HasPrefix(s, "application/vnd.dev.sigstore.bundle") {
			return 0, fmt.Errorf("mediaType %q is not a Sigstore bundle", s)
		}
		if _, ok := probe["dsseEnvelope"]; !ok {
			if _, ok := probe["messageSignature"]; ok {
				return 0, errors.New("the Sigstore bundle signs a file (messageSignature), not an attestation: it holds no DSSE envelope")
			}
			return 0, errors.New("the Sigstore bundle holds no dsseEnvelope")
		}
		return KindBundle, nil
	}
	_, hasType := probe["payloadType"]
	_, hasPayload := probe["payload"]
	_, hasSigs := probe["signatures"]
	if hasType && hasPayload && hasSigs {
		return KindDSSE, nil
	}
	return 0, errors.New("neither a Sigstore bundle (mediaType, dsseEnvelope) nor a DSSE envelope (payloadType, payload, signatures)")
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
	if it.Kind == KindBundle {
		var b struct {
			DSSE json.RawMessage `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", nil, err
		}
		raw = b.DSSE
	}
	var env dsseJSON
	if err := json.Unmarshal(raw, &env); err != nil {
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
