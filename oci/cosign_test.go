package oci

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/modelvet/modelvet/oci/ocitest"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// TestVerifyCosign: signatures made as cosign makes them verify with the
// signer's key, and not with another key, nor when copied from another
// artifact, nor when absent.
func TestVerifyCosign(t *testing.T) {
	host := ocitest.Registry(t)
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	layers := []ocitest.Layer{ocitest.L("application/vnd.cncf.model.weight.v1.raw", ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}
	signedRef := host + "/models/signed:v1"
	dg := ocitest.Push(t, signedRef, "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json", nil, layers)
	ocitest.CosignSign(t, host+"/models/signed@"+dg, signer)
	unsignedRef := host + "/models/unsigned:v1"
	ocitest.Push(t, unsignedRef, "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json", []byte(`{"x":1}`), layers)

	// A signature for the signed artifact's digest, copied onto another
	// artifact's signature tag: its payload names the wrong digest.
	copiedRef := host + "/models/copied:v1"
	dc := ocitest.Push(t, copiedRef, "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json", []byte(`{"y":2}`), layers)
	copySignature(t, host+"/models/signed@"+dg, host+"/models/copied@"+dc)

	cases := []struct {
		name string
		ref  string
		key  crypto.PublicKey
		want bool
	}{
		{"signed, signer's key", signedRef, &signer.PublicKey, true},
		{"signed, another key", signedRef, &other.PublicKey, false},
		{"unsigned", unsignedRef, &signer.PublicKey, false},
		{"signature copied from another artifact", copiedRef, &signer.PublicKey, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Pull(context.Background(), Scheme+c.ref, Options{Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			res, err := VerifyCosign(context.Background(), a, Options{Insecure: true}, c.key)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verified != c.want {
				t.Fatalf("verified=%v, want %v (%v)", res.Verified, c.want, res.Problems)
			}
			if !c.want && len(res.Problems) == 0 {
				t.Errorf("refused without saying why")
			}
		})
	}
}

// copySignature copies the .sig manifest of one digest to another's tag.
func copySignature(t *testing.T, from, to string) {
	t.Helper()
	fd, _ := name.NewDigest(from, name.Insecure)
	td, _ := name.NewDigest(to, name.Insecure)
	se, err := ociremote.SignedEntity(fd)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := se.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	list, err := sigs.Get()
	if err != nil || len(list) == 0 {
		t.Fatalf("no signature to copy: %v", err)
	}
	dst, err := ociremote.SignedEntity(td)
	if err != nil {
		t.Fatal(err)
	}
	dst, err = mutate.AttachSignatureToEntity(dst, list[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(td.Repository, dst); err != nil {
		t.Fatal(err)
	}
}
