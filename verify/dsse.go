package verify

import (
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"strconv"
	"strings"
)

// PAE is the DSSE v1 pre-authentication encoding: the bytes a DSSE
// signature is made over. attest/ signs its statements with it.
func PAE(payloadType string, payload []byte) []byte { return pae(payloadType, payload) }

// pae is DSSE v1 pre-authentication encoding.
func pae(payloadType string, payload []byte) []byte {
	var b []byte
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// paeCompat is the encoding model_signing v0.2.0 signed by mistake: the
// Python f-string "DSSEV1 {len(type)} {type} {len(payload)} {payload}"
// where payload is bytes, so its repr() (b'...' with escapes) was signed.
// It is still unambiguous (the repr is a function of the payload), so
// accepting it lets old signatures verify without weakening DSSE.
func paeCompat(payloadType string, payload []byte) []byte {
	return []byte(fmt.Sprintf("DSSEV1 %d %s %d %s", len(payloadType), payloadType, len(payload), pyBytesRepr(payload)))
}

// pyBytesRepr renders bytes as Python's repr(bytes) does.
func pyBytesRepr(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte('b')
	b.WriteByte(quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// verifyEnvelopeWithKey accepts the envelope when one of its signatures
// verifies with pub over the DSSE encoding (or, failing that, the v0.2.0
// encoding, flagged in Signer.Compat).
func verifyEnvelopeWithKey(env *rawEnvelope, pub crypto.PublicKey, s Signer) (*Envelope, error) {
	std := pae(env.PayloadType, env.Payload)
	var compat []byte
	for _, sig := range env.Signatures {
		if verifySig(pub, std, sig.Sig) == nil {
			return &Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signer: s}, nil
		}
		if compat == nil {
			compat = paeCompat(env.PayloadType, env.Payload)
		}
		// v0.2.0 also hashed with SHA-256 whatever the curve.
		if verifySig(pub, compat, sig.Sig) == nil || verifyECDSAWith(pub, crypto.SHA256, compat, sig.Sig) {
			s.Compat = true
			s.Notes = append(s.Notes, "signed with the model_signing v0.2.0 encoding (DSSE pre-authentication bug); accepted for compatibility")
			return &Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signer: s}, nil
		}
	}
	return nil, fmt.Errorf("the DSSE signature does not verify with the given %s (key id %s): the signature was made with another key, or the payload was changed", keyWord(s.Method), keyHint(pub))
}

func keyWord(m string) string {
	if m == MethodCertificate {
		return "certificate's key"
	}
	return "public key"
}

func verifyECDSAWith(pub crypto.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && ecdsa.VerifyASN1(k, digest(h, msg), sig)
}
