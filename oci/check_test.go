package oci

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/modelvet/modelvet/oci/ocitest"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/policy/checks"
)

// gateFor loads a policy written into a fresh folder (with the files it
// names) and makes the gate the CLI and serve make.
func gateFor(t *testing.T, yaml string, files map[string][]byte) *policy.Gate {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pf := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(pf)
	if err != nil {
		t.Fatal(err)
	}
	return &policy.Gate{Policy: p, Signature: checks.Signature, Provenance: checks.Provenance, OnePass: checks.OnePass{}, Hash: true}
}

func pubPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := cryptoutils.MarshalPublicKeyToPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheck: the OCI gate admits a clean ModelPack and ORAS model and
// rejects a malicious one; under a policy requiring a registry signature
// an unsigned, a wrongly signed and a copied-signature artifact reject and
// the correctly signed one is admitted. Every report path names the
// pinned artifact. It runs against go-containerregistry's registry and
// the reference distribution registry (v3).
func TestCheck(t *testing.T) {
	for _, r := range []struct {
		name  string
		start func(testing.TB) string
	}{
		{"ggcr registry", ocitest.Registry},
		{"distribution v3", func(t testing.TB) string { return ocitest.Distribution(t, "") }},
	} {
		t.Run(r.name, func(t *testing.T) { testCheck(t, r.start(t)) })
	}
}

func testCheck(t *testing.T, host string) {
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weights := []ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}
	push := func(repo string, cfg string, layers []ocitest.Layer) (string, string) {
		ref := host + "/" + repo + ":v1"
		return ref, ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(cfg), layers)
	}
	cleanRef, _ := push("models/clean", `{"a":1}`, weights)
	evilRef, _ := push("models/evil", `{"a":2}`, []ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))})
	orasRef := host + "/models/oras:v1"
	ocitest.Push(t, orasRef, "", "application/vnd.oci.empty.v1+json", nil, []ocitest.Layer{ocitest.L("application/octet-stream", ocitest.Safetensors(), ocitest.Title("model.safetensors"))})
	orasEvilRef := host + "/models/oras-evil:v1"
	ocitest.Push(t, orasEvilRef, "", "application/vnd.oci.empty.v1+json", nil, []ocitest.Layer{ocitest.L("application/octet-stream", ocitest.EvilPickle, ocitest.Title("model.pt"))})
	signedRef, signedDg := push("models/signed", `{"a":3}`, weights)
	ocitest.CosignSign(t, host+"/models/signed@"+signedDg, signer)
	referrerRef, referrerDg := push("models/referrer", `{"a":8}`, weights)
	ocitest.CosignSignReferrer(t, host+"/models/referrer@"+referrerDg, signer)
	wrongRef, wrongDg := push("models/wrong", `{"a":4}`, weights)
	ocitest.CosignSign(t, host+"/models/wrong@"+wrongDg, stranger)
	copiedRef, copiedDg := push("models/copied", `{"a":5}`, weights)
	copySignature(t, host+"/models/signed@"+signedDg, host+"/models/copied@"+copiedDg)

	pki := ocitest.NewPKI(t)
	certRef, certDg := push("models/cert", `{"a":6}`, weights)
	leaf, lkey := pki.Leaf(t, "release@example.com", "https://issuer.example.com")
	ocitest.CosignSignWith(t, host+"/models/cert@"+certDg, lkey, leaf, []*x509.Certificate{pki.Inter, pki.Root}, nil)
	ks := ocitest.NewKeyless(t)
	klRef, klDg := push("models/keyless", `{"a":7}`, weights)
	ks.Sign(t, host+"/models/keyless@"+klDg, "release@example.com", "https://issuer.example.com")
	trDir := t.TempDir()
	ks.TrustedRoot(t, trDir)
	trJSON, err := os.ReadFile(filepath.Join(trDir, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{pki.Root})
	if err != nil {
		t.Fatal(err)
	}
	caPolicy := func(who string) *policy.Gate {
		return gateFor(t, "oci:\n  signature:\n    required: true\n    ca_chains: [ca.pem]\n    identities: ["+who+"]\n", map[string][]byte{"ca.pem": rootPEM})
	}
	keylessPolicy := func(who string) *policy.Gate {
		return gateFor(t, "oci:\n  signature:\n    required: true\n    identities: ["+who+"]\n    issuers: [https://issuer.example.com]\n    trusted_root: trusted_root.json\n",
			map[string][]byte{"trusted_root.json": trJSON})
	}

	open := gateFor(t, "version: 1\nfail_on: high\n", nil)
	keyed := gateFor(t, "version: 1\noci:\n  signature:\n    required: true\n    keys: [cosign.pub]\n", map[string][]byte{"cosign.pub": pubPEM(t, signer)})
	cases := []struct {
		name     string
		ref      string
		gate     *policy.Gate
		admitted bool
		rules    []string // reason rules the rejection must carry
	}{
		{"clean modelpack, no signature asked", cleanRef, open, true, nil},
		{"malicious modelpack pickle", evilRef, open, false, []string{"pickle/dangerous-import"}},
		{"clean oras model", orasRef, open, true, nil},
		{"malicious oras model (pickle titled model.pt)", orasEvilRef, open, false, []string{"pickle/dangerous-import"}},
		{"unsigned under required signature", cleanRef, keyed, false, []string{policy.RuleRegistrySignature}},
		{"signed by a stranger's key", wrongRef, keyed, false, []string{policy.RuleRegistrySignature}},
		{"signature copied from another artifact", copiedRef, keyed, false, []string{policy.RuleRegistrySignature}},
		{"signed by the policy's key", signedRef, keyed, true, nil},
		{"signed by the policy's key, as an OCI 1.1 referrer", referrerRef, keyed, true, nil},
		{"malicious and unsigned: both reasons", evilRef, keyed, false, []string{"pickle/dangerous-import", policy.RuleRegistrySignature}},
		{"private CA certificate of the named signer", certRef, caPolicy("release@example.com"), true, nil},
		{"private CA certificate of another signer", certRef, caPolicy("bob@example.com"), false, []string{policy.RuleRegistrySignature}},
		{"key signature under a CA policy", signedRef, caPolicy("release@example.com"), false, []string{policy.RuleRegistrySignature}},
		{"keyless signature of the named identity", klRef, keylessPolicy("release@example.com"), true, nil},
		{"keyless signature of another identity", klRef, keylessPolicy("bob@example.com"), false, []string{policy.RuleRegistrySignature}},
		{"private CA signature under a keyless policy", certRef, keylessPolicy("release@example.com"), false, []string{policy.RuleRegistrySignature}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, a, err := Check(context.Background(), Scheme+c.ref, c.gate, Options{Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if got := rep.Verdict == policy.Admitted; got != c.admitted {
				t.Fatalf("verdict %s, want admitted=%v: %+v", rep.Verdict, c.admitted, rep.Reasons)
			}
			for _, want := range c.rules {
				found := false
				for _, r := range rep.Reasons {
					found = found || r.Rule == want
				}
				if !found {
					t.Errorf("no %s reason in %+v", want, rep.Reasons)
				}
			}
			if len(rep.Files) < 2 {
				t.Fatalf("report has %d files, want the manifest and the weights", len(rep.Files))
			}
			for _, f := range rep.Files {
				if f.Path != a.Pinned() && !strings.HasPrefix(f.Path, a.Pinned()+"/") {
					t.Errorf("report path %s does not name the pinned artifact %s", f.Path, a.Pinned())
				}
			}
			if rep.Files[0].Format != "oci-manifest" {
				t.Errorf("first entry is %s, want the manifest", rep.Files[0].Format)
			}
		})
	}
}
