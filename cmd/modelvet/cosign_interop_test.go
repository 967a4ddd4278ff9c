package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
)

const slsaV1Pred = `{"buildDefinition":{"buildType":"https://example.com/train@v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://github.com/example/builder@v1"}}}`

// cosignKeys makes a key pair in cosign's encrypted format, as
// "cosign generate-key-pair" does, and sets COSIGN_PASSWORD for it.
func cosignKeys(t *testing.T) (priv, pub string, kp *cosign.KeysBytes) {
	const pw = "modelvet-interop"
	kp, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(pw), nil })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	os.WriteFile(priv, kp.PrivateBytes, 0o600)
	os.WriteFile(pub, kp.PublicBytes, 0o644)
	t.Setenv("COSIGN_PASSWORD", pw)
	return priv, pub, kp
}

// cosignVerifier loads a public key as cosign verify-blob-attestation --key does.
func cosignVerifier(t *testing.T, pubPEM []byte) signature.Verifier {
	pk, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(pk, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestModelvetAttestVerifiedByCosign: what "modelvet attest" writes with a
// cosign key verifies with cosign's own code paths: the bundle through
// cosign.VerifyNewBundle (verify-blob-attestation --new-bundle-format
// --insecure-ignore-tlog --key), the bare envelope through the DSSE
// verifier cosign uses for --signature.
func TestModelvetAttestVerifiedByCosign(t *testing.T) {
	priv, _, kp := cosignKeys(t)
	dir := newModelDir(t)
	pred := filepath.Join(t.TempDir(), "pred.json")
	os.WriteFile(pred, []byte(slsaV1Pred), 0o644)
	code, out, errs := runCmd(t, "hash", dir)
	if code != exitOK {
		t.Fatalf("hash: %d %s", code, errs)
	}
	f := strings.Fields(out[strings.Index(out, "root sha256:"):])
	rootHex := strings.TrimPrefix(f[1], "sha256:")
	digest, _ := hex.DecodeString(rootHex)
	verifier := cosignVerifier(t, kp.PublicBytes)
	for _, envelope := range []string{"bundle", "dsse"} {
		t.Run(envelope, func(t *testing.T) {
			att := filepath.Join(t.TempDir(), "att.json")
			if code, out, errs := runCmd(t, "attest", dir, "--type", "slsa-v1", "--predicate", pred, "--key", priv, "--envelope", envelope, "--output", att); code != exitOK {
				t.Fatalf("attest exit %d: %s %s", code, out, errs)
			}
			data, _ := os.ReadFile(att)
			var err error
			if envelope == "bundle" {
				var b sgbundle.Bundle
				if err = b.UnmarshalJSON(data); err != nil {
					t.Fatalf("sigstore-go cannot load the bundle: %v", err)
				}
				co := &cosign.CheckOpts{SigVerifier: verifier, TrustedMaterial: &root.BaseTrustedMaterial{}, IgnoreTlog: true, NewBundleFormat: true}
				_, err = cosign.VerifyNewBundle(context.Background(), co, sgverify.WithArtifactDigest("sha256", digest), &b)
			} else {
				var env ssldsse.Envelope
				if err = json.Unmarshal(data, &env); err != nil {
					t.Fatal(err)
				}
				var ev *ssldsse.EnvelopeVerifier
				if ev, err = ssldsse.NewEnvelopeVerifier(&sigdsse.VerifierAdapter{SignatureVerifier: verifier}); err == nil {
					_, err = ev.Verify(context.Background(), &env)
				}
			}
			if err != nil {
				t.Fatalf("cosign refuses modelvet's %s: %v", envelope, err)
			}
		})
	}
}

// TestCosignAttestationsVerifiedByModelvet: attestations made the way
// "cosign attest-blob --bundle" makes them (new bundle format and the v2
// legacy base64Signature form) verify with "modelvet attestation verify
// --key cosign.pub", although cosign's publicKey.hint is not the OMS one.
func TestCosignAttestationsVerifiedByModelvet(t *testing.T) {
	priv, pub, kp := cosignKeys(t)
	sv, err := cosign.LoadPrivateKey(kp.PrivateBytes, []byte(os.Getenv("COSIGN_PASSWORD")), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv
	blobDigest := strings.Repeat("ab", 32)
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"model.bin","digest":{"sha256":"` + blobDigest + `"}}],"predicate":` + slsaV1Pred + `}`)
	wrapped := sigdsse.WrapSigner(sv, "application/vnd.in-toto+json")
	env, err := wrapped.SignMessage(bytes.NewReader(stmt))
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := sv.PublicKey()
	newBundle, err := cbundle.MakeNewBundle(pk, nil, stmt, env, kp.PublicBytes, nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.Marshal(cosign.LocalSignedPayload{Base64Signature: base64.StdEncoding.EncodeToString(env)})
	blobSig, _ := sv.SignMessage(bytes.NewReader([]byte("weights")))
	signBlob, _ := json.Marshal(cosign.LocalSignedPayload{Base64Signature: base64.StdEncoding.EncodeToString(blobSig)})
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte
		code int
		want string
	}{
		{"attest-blob new bundle", newBundle, exitOK, "VERIFIED"},
		{"attest-blob legacy bundle", legacy, exitOK, "cosign legacy bundle"},
		{"sign-blob legacy bundle is not an attestation", signBlob, exitFail, "signs a file, not an attestation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".json")
			os.WriteFile(p, c.data, 0o644)
			code, out, errs := runCmd(t, "attestation", "verify", p, "--key", pub, "--subject-digest", "sha256:"+blobDigest, "--builder-id", "https://github.com/example/builder@v1")
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, c.code, c.want, out, errs)
			}
		})
	}
}

// TestCosignCLIFixtures reads what the real cosign v2.6.5 CLI wrote
// (attest/testdata/cosign/make.sh has the commands).
func TestCosignCLIFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "attest", "testdata", "cosign")
	blob, err := os.ReadFile(filepath.Join(dir, "model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(blob)
	pub := filepath.Join(dir, "cosign.pub")
	cases := []struct {
		file string
		code int
		want string
	}{
		{"attest-blob.sigstore.json", exitOK, "built by https://github.com/example/builder@v1"},
		{"attest-blob.legacy.json", exitOK, "cosign legacy bundle"},
		{"sign-blob.legacy.json", exitFail, "signs a file, not an attestation"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			code, out, errs := runCmd(t, "attestation", "verify", filepath.Join(dir, c.file), "--key", pub, "--subject-digest", "sha256:"+sum)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, c.code, c.want, out, errs)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestModelvetSignVerifiedByCosign: the model.sig `modelvet sign` writes
// is a Sigstore bundle whose DSSE statement's subject is the model's OMS
// root digest, so cosign's verifier (as `cosign verify-blob-attestation
// --bundle --new-bundle-format --key cosign.pub --digest ROOT` runs it)
// accepts it, and refuses it for another digest.
func TestModelvetSignVerifiedByCosign(t *testing.T) {
	priv, _, kp := cosignKeys(t)
	dir := newModelDir(t)
	if code, out, errs := runCmd(t, "sign", dir, "--key", priv); code != exitOK {
		t.Fatalf("sign exit %d: %s %s", code, out, errs)
	}
	code, out, errs := runCmd(t, "hash", dir)
	if code != exitOK {
		t.Fatalf("hash: %d %s", code, errs)
	}
	f := strings.Fields(out[strings.Index(out, "root sha256:"):])
	digest, _ := hex.DecodeString(strings.TrimPrefix(f[1], "sha256:"))
	data, err := os.ReadFile(filepath.Join(dir, "model.sig"))
	if err != nil {
		t.Fatal(err)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("sigstore-go cannot load modelvet's model.sig: %v", err)
	}
	co := &cosign.CheckOpts{SigVerifier: cosignVerifier(t, kp.PublicBytes), TrustedMaterial: &root.BaseTrustedMaterial{}, IgnoreTlog: true, NewBundleFormat: true}
	if _, err := cosign.VerifyNewBundle(context.Background(), co, sgverify.WithArtifactDigest("sha256", digest), &b); err != nil {
		t.Fatalf("cosign refuses modelvet's model.sig: %v", err)
	}
	other := append([]byte{}, digest...)
	other[0] ^= 1
	if _, err := cosign.VerifyNewBundle(context.Background(), co, sgverify.WithArtifactDigest("sha256", other), &b); err == nil {
		t.Fatal("cosign accepted model.sig for another model digest")
	}
}
