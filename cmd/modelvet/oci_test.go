package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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
