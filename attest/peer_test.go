package attest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/verify"
)

const (
	sigstoreJSIdentity = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	githubIssuer       = "https://token.actions.githubusercontent.com"
	sigstoreJSDigest   = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"
)

func peerExamples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(formatstest.Peers(t), "sigstore-go", "examples")
	if _, err := os.Stat(filepath.Join(dir, "bundle-provenance.json")); err != nil {
		t.Skipf("sigstore-go examples not in the peer corpora: %v", err)
	}
	return dir
}

// TestPeerBundleProvenance verifies the npm provenance of sigstore-js
// 1.3.0, a real keyless bundle whose certificate expired in 2023: it is
// valid only at the transparency log's integrated time, offline, against
// the public-good trusted root on disk.
func TestPeerBundleProvenance(t *testing.T) {
	dir := peerExamples(t)
	trust := verify.TrustOptions{
		Identity:        sigstoreJSIdentity,
		Issuer:          githubIssuer,
		TrustedRootPath: filepath.Join(dir, "trusted-root-public-good.json"),
	}
	digest, err := ParseDigest(sigstoreJSDigest)
	if err != nil {
		t.Fatal(err)
	}
	good := Options{Trust: trust, SubjectDigest: digest, Require: Requirements{
		BuilderID: "https://github.com/actions/runner",
		SourceURI: "git+https://github.com/sigstore/sigstore-js@refs/heads/main",
	}}
	bundlePath := filepath.Join(dir, "bundle-provenance.json")
	res, err := VerifyFile(bundlePath, good)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(res.Lines, "\n")
	if !res.OK {
		t.Fatalf("refused: %v\n%s", res.Failures, text)
	}
	for _, want := range []string{
		"keyless: identity " + sigstoreJSIdentity,
		"issuer " + githubIssuer,
		"built by https://github.com/actions/runner",
		"source: git+https://github.com/sigstore/sigstore-js@refs/heads/main at sha1:dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1",
		"in-toto Statement v0.1, predicate https://slsa.dev/provenance/v0.2, about pkg:npm/sigstore@1.3.0",
		`bound: subject "pkg:npm/sigstore@1.3.0" has the required digest ` + sigstoreJSDigest,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	t.Log("\n" + text)

	otherDigest, _ := ParseDigest("sha512:" + strings.Repeat("0", 128))
	cases := []struct {
		name   string
		mutate func(o *Options)
		want   string
	}{
		{"other builder", func(o *Options) { o.Require.BuilderID = "https://github.com/slsa-framework/slsa-github-generator" }, "not by the required builder"},
		{"other source", func(o *Options) { o.Require.SourceURI = "git+https://github.com/sigstore/sigstore-python" }, "not from the required source"},
		{"other identity", func(o *Options) {
			o.Trust.Identity = "https://github.com/attacker/sigstore-js/.github/workflows/release.yml@refs/heads/main"
		}, "signature"},
		{"other issuer", func(o *Options) { o.Trust.Issuer = "https://accounts.google.com" }, "signature"},
		{"other digest", func(o *Options) { o.SubjectDigest = otherDigest }, "the attestation is about pkg:npm/sigstore@1.3.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.mutate(&o)
			res, err := VerifyFile(bundlePath, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK {
				t.Fatal("accepted")
			}
			f := strings.Join(res.Failures, "\n")
			t.Log(f)
			if !strings.Contains(f, c.want) {
				t.Fatalf("failures %q lack %q", f, c.want)
			}
		})
	}
}

// TestPeerDSSEBundles: sigstore-go's own DSSE test bundles. The single
// signature one verifies (keyless, e-mail identity, 2022 certificate
// valid at its log time) and its builder, pinned without version,
// matches; the two-signature one is refused (a Sigstore bundle holds
// exactly one signature: two would let the certificate and the log entry
// vouch for different signatures).
func TestPeerDSSEBundles(t *testing.T) {
	base := filepath.Join(formatstest.Peers(t), "sigstore-go")
	one := filepath.Join(base, "bundles", "dsse.sigstore.json")
	if _, err := os.Stat(one); err != nil {
		t.Skip("sigstore-go test bundles absent")
	}
	trust := verify.TrustOptions{Identity: "brian@dehamer.com", Issuer: "https://github.com/login/oauth", TrustedRootPath: filepath.Join(base, "trusted-roots", "public-good.json")}
	res, err := VerifyFile(one, Options{Trust: trust, Require: Requirements{BuilderID: "https://github.com/npm/slsa-provenance", SourceURI: "https://github.com/github/slsa-provenance"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("refused: %v", res.Failures)
	}
	res, err = VerifyFile(filepath.Join(base, "bundles", "dsse-2sigs.sigstore.json"), Options{Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK {
		t.Fatal("a bundle with two signatures was accepted")
	}
}
