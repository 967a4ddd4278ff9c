package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/modelvet/modelvet/oci/ocitest"
)

// TestScanAndVerifyOCI: scan and verify read model artifacts from a
// registry on loopback: a clean ModelPack artifact passes and its
// malicious twin fails, each file named by the pinned reference; a
// cosign-signed artifact verifies with the signer's key and an unsigned
// one does not.
func TestScanAndVerifyOCI(t *testing.T) {
	host := ocitest.Registry(t)
	clean := host + "/org/model:clean"
	bad := host + "/org/model:bad"
	dc := ocitest.Push(t, clean, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
	ocitest.Push(t, bad, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))})

	code, out, errs := runCLI(t, "scan", "--insecure-registry", "--format", "json", "oci://"+clean)
	if code != exitOK {
		t.Fatalf("clean artifact: exit %d\n%s\n%s", code, out, errs)
	}
	var rep struct {
		Files []struct {
			Path   string `json:"path"`
			Format string `json:"format"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	pinned := "oci://" + host + "/org/model@" + dc
	var paths []string
	for _, f := range rep.Files {
		paths = append(paths, f.Path+" "+f.Format)
	}
	if got := strings.Join(paths, ","); got != pinned+" oci-manifest,"+pinned+"/model.safetensors safetensors" {
		t.Errorf("report paths: %s", got)
	}
	if code, out, _ := runCLI(t, "scan", "--insecure-registry", "oci://"+bad); code != exitFail || !strings.Contains(out, "pickle/dangerous-import") {
		t.Errorf("malicious artifact: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "scan", "--insecure-registry", "oci://"+host+"/org/missing:v1"); code != exitUsage || errs == "" {
		t.Errorf("missing artifact: exit %d, stderr %q", code, errs)
	}

	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pem, _ := cryptoutils.MarshalPublicKeyToPEM(&priv.PublicKey)
	keyFile := filepath.Join(t.TempDir(), "cosign.pub")
	os.WriteFile(keyFile, pem, 0o600)
	ocitest.CosignSign(t, host+"/org/model@"+dc, priv)
	if code, out, errs := runCLI(t, "verify", "--insecure-registry", "--key", keyFile, "oci://"+clean); code != exitOK {
		t.Errorf("signed artifact: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "verify", "--insecure-registry", "--key", keyFile, "oci://"+bad); code != exitFail || !strings.Contains(out, "FAILED") {
		t.Errorf("unsigned artifact: exit %d\n%s", code, out)
	}
}

// TestCheckOCI runs `modelvet check oci://...` end to end against a
// registry on loopback: the clean artifact is admitted and the malicious
// one rejected; under a policy whose oci.signature requires the
// publisher's key, the unsigned and the wrongly signed artifacts are
// rejected (policy/registry-signature) and the signed one admitted;
// registry and trust-material problems exit 2.
func TestCheckOCI(t *testing.T) {
	host := ocitest.Registry(t)
	weights := []ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}
	clean := host + "/org/model:clean"
	dc := ocitest.Push(t, clean, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil, weights)
	bad := host + "/org/model:bad"
	ocitest.Push(t, bad, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))})
	signed := host + "/org/signed:v1"
	ds := ocitest.Push(t, signed, ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(`{"s":1}`), weights)
	wrong := host + "/org/wrong:v1"
	dw := ocitest.Push(t, wrong, ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(`{"w":1}`), weights)

	publisher, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ocitest.CosignSign(t, host+"/org/signed@"+ds, publisher)
	ocitest.CosignSign(t, host+"/org/wrong@"+dw, stranger)

	dir := t.TempDir()
	pem, _ := cryptoutils.MarshalPublicKeyToPEM(&publisher.PublicKey)
	os.WriteFile(filepath.Join(dir, "cosign.pub"), pem, 0o600)
	keyed := filepath.Join(dir, "keyed.yaml")
	os.WriteFile(keyed, []byte("version: 1\noci:\n  signature:\n    required: true\n    keys: [cosign.pub]\n"), 0o600)
	missingKey := filepath.Join(dir, "missing-key.yaml")
	os.WriteFile(missingKey, []byte("version: 1\noci:\n  signature:\n    required: true\n    keys: [nope.pub]\n"), 0o600)

	cases := []struct {
		name   string
		policy string
		ref    string
		code   int
		want   string // in stdout (or stderr for exit 2)
	}{
		{"clean modelpack admitted", "default", clean, exitOK, "resolved to oci://" + host + "/org/model@" + dc},
		{"malicious modelpack rejected", "default", bad, exitFail, "pickle/dangerous-import"},
		{"unsigned under required signature", keyed, clean, exitFail, "policy/registry-signature"},
		{"signed by a stranger", keyed, wrong, exitFail, "policy/registry-signature"},
		{"signed by the publisher", keyed, signed, exitOK, "signed by"},
		{"missing artifact", "default", host + "/org/missing:v1", exitUsage, "missing"},
		{"unreachable registry", "default", "127.0.0.1:1/org/model:v1", exitUsage, "127.0.0.1:1"},
		{"missing trust material", missingKey, signed, exitUsage, "nope.pub"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "check", "--insecure-registry", "--policy", c.policy, "oci://"+c.ref)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, out, errs)
			}
			if got := out + errs; !strings.Contains(got, c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, got)
			}
		})
	}
}

// TestVerifyOCICertificateTrust: verify oci:// takes --certificate-chain
// and the keyless flags as it does for folders.
func TestVerifyOCICertificateTrust(t *testing.T) {
	host := ocitest.Registry(t)
	dir := t.TempDir()
	weights := []ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}
	ref := host + "/org/cert:v1"
	dg := ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil, weights)
	pki := ocitest.NewPKI(t)
	leaf, key := pki.Leaf(t, "alice@example.com", "https://issuer.example.com")
	ocitest.CosignSignWith(t, host+"/org/cert@"+dg, key, leaf, []*x509.Certificate{pki.Inter, pki.Root}, nil)
	rootPEM := ocitest.WritePEM(t, dir, "root.pem", pki.Root)

	kref := host + "/org/keyless:v1"
	kdg := ocitest.Push(t, kref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(`{"k":1}`), weights)
	ks := ocitest.NewKeyless(t)
	ks.Sign(t, host+"/org/keyless@"+kdg, "alice@example.com", "https://issuer.example.com")
	tr := ks.TrustedRoot(t, dir)

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"certificate chain", []string{"--certificate-chain", rootPEM, "oci://" + ref}, exitOK},
		{"keyless, right signer", []string{"--trusted-root", tr, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", "https://issuer.example.com", "oci://" + kref}, exitOK},
		{"keyless, wrong signer", []string{"--trusted-root", tr, "--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", "https://issuer.example.com", "oci://" + kref}, exitFail},
		{"keyless signature under a CA chain", []string{"--certificate-chain", rootPEM, "oci://" + kref}, exitFail},
		{"two trust methods", []string{"--certificate-chain", rootPEM, "--trusted-root", tr, "oci://" + ref}, exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"verify", "--insecure-registry"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, out, errs)
			}
		})
	}
}
