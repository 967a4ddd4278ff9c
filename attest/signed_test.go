package attest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// TestSignedAndAttestedModel is the pipeline of the issue: "modelvet
// sign" writes model.sig in the folder, an attestation whose subject is
// the same root digest is published beside it, and both verify against
// the folder; the attestation's digest is the one the signature signed.
func TestSignedAndAttestedModel(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "ci")
	_, otherPub := ecKey(t, dir, "other")
	model := makeModel(t, filepath.Join(dir, "model"), "weights")
	key, err := verify.LoadPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := verify.Sign(model, verify.SignOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	// Hash as "modelvet attest" does: model.sig and the output left out.
	att := filepath.Join(model, "provenance.json")
	h := verify.HashOptions{IgnorePaths: IgnoresInside(model, att, verify.DefaultSignaturePath(model))}
	am, err := verify.HashModel(model, h)
	if err != nil {
		t.Fatal(err)
	}
	if am.RootDigest() != m.RootDigest() {
		t.Fatalf("attestation digest %s differs from the signed digest %s", am.RootDigest(), m.RootDigest())
	}
	pred := mustJSON(t, slsaV1Predicate("https://ci.example/builder@v1", "https://github.com/org/model", "refs/heads/main", strings.Repeat("1", 40)))
	out, err := Create(CreateOptions{PredicateType: SLSAv1, Predicate: pred, SubjectName: am.ModelName, Subject: Digest{"sha256", am.RootDigest()}, KeyPEM: priv})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, att, out)

	sig, err := verify.Verify(model, verify.Options{Trust: verify.TrustOptions{KeyPath: pub}, IgnorePaths: []string{"provenance.json"}})
	if err != nil || !sig.Verified {
		t.Fatalf("signature: %v %+v", err, sig)
	}
	opts := ModelOptions{Trust: verify.TrustOptions{KeyPath: pub}, SignaturePath: verify.DefaultSignaturePath(model),
		Require: Requirements{BuilderID: "https://ci.example/builder", SourceURI: "git+https://github.com/org/model@refs/heads/main"}}
	res, err := VerifyForModel(model, att, opts)
	if err != nil || !res.OK {
		t.Fatalf("attestation: %v %+v", err, res)
	}
	// The manifest the signature check computed can be reused.
	opts.Manifest = sig.Manifest
	if res, err := VerifyForModel(model, att, opts); err != nil || !res.OK {
		t.Fatalf("attestation with the signature's manifest: %v %+v", err, res)
	}
	opts.Manifest = nil

	// Another model's attestation copied in: refused as such.
	other := makeModel(t, filepath.Join(dir, "other"), "other weights")
	om, _ := verify.HashModel(other, verify.HashOptions{})
	out2, _ := Create(CreateOptions{PredicateType: SLSAv1, Predicate: pred, SubjectName: "other", Subject: Digest{"sha256", om.RootDigest()}, KeyPEM: priv})
	writeFile(t, att, out2)
	res, _ = VerifyForModel(model, att, opts)
	if res.OK || !strings.Contains(strings.Join(res.Failures, ""), "the attestation is about other (sha256:"+om.RootDigest()+"); the model folder's digest is sha256:"+m.RootDigest()) {
		t.Fatalf("other model's attestation: %+v", res.Failures)
	}
	// Signed by an unexpected key.
	writeFile(t, att, out)
	opts.Trust.KeyPath = otherPub
	if res, _ = VerifyForModel(model, att, opts); res.OK {
		t.Fatal("attestation accepted with another key")
	}
	_ = os.Remove(att)
}
