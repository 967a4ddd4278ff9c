package verify

import (
	"crypto/elliptic"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBundle feeds arbitrary bytes to the bundle reader, the key and
// chain verifiers and the statement parser. They must never panic, and a
// bundle that is not signed by the test key must never verify.
func FuzzLoadBundle(f *testing.F) {
	k := newECKey(f, elliptic.P256())
	pub := writePublicKey(f, k.Public())
	dir := makeModel(f, "m", map[string]string{"w": "x"})
	m, err := HashModel(dir, HashOptions{})
	if err != nil {
		f.Fatal(err)
	}
	st, _ := StatementJSON(m)
	f.Add(signedBundle(f, k, InTotoPayloadType, st), st)
	for _, ht := range []string{HashBLAKE2b, HashBLAKE3} {
		if hm, err := HashModel(dir, HashOptions{HashType: ht}); err == nil {
			hs, _ := StatementJSON(hm)
			f.Add(signedBundle(f, k, InTotoPayloadType, hs), hs)
		}
	}
	refs, _ := filepath.Glob(filepath.Join("testdata", "refhashtypes", "*", "model.sig"))
	for _, s := range refs {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, bundlePayloadOrNil(b))
		}
	}
	if peers, err := os.Stat(filepath.Join("..", "..", "shared", "peers", "model-transparency")); err == nil && peers.IsDir() {
		sigs, _ := filepath.Glob(filepath.Join("..", "..", "shared", "peers", "model-transparency", "*", "model.sig"))
		for _, s := range sigs {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b, bundlePayloadOrNil(b))
			}
		}
	}
	ca := filepath.Join(f.TempDir(), "none.pem")
	writeFile(f, ca, nil)
	f.Fuzz(func(t *testing.T, bundle, payload []byte) {
		env, err := VerifyBundle(bundle, TrustOptions{KeyPath: pub})
		if err == nil {
			// Only bundles signed by k can verify; the fuzzer cannot forge
			// ECDSA, so the payload must be one the test signed.
			if _, perr := ParseStatement(env.PayloadType, env.Payload); perr != nil && string(env.Payload) == string(st) {
				t.Fatalf("our own statement does not parse: %v", perr)
			}
		}
		_, _ = VerifyBundle(bundle, TrustOptions{CAChainPaths: []string{ca}})
		_, _ = VerifyDSSE(bundle, TrustOptions{KeyPath: pub})
		_, _ = ParseStatement(InTotoPayloadType, payload)
	})
}

func bundlePayloadOrNil(b []byte) []byte {
	var v struct {
		DsseEnvelope struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v.DsseEnvelope.Payload
}
