package verify

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats/formatstest"
)

// fixture is one model signed by the reference tool.
type fixture struct {
	name   string
	model  string // folder or the single signed file
	sig    string
	trust  TrustOptions
	ignore []string
}

const (
	fixtureIdentity = "stefanb@us.ibm.com"
	fixtureIssuer   = "https://sigstore.verify.ibm.com/oauth2"
)

func mtDir(t testing.TB) string {
	d := filepath.Join(formatstest.Peers(t), "model-transparency")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("model-transparency fixtures not found at %s; skipping", d)
	}
	return d
}

func publicGoodRoot(t testing.TB) string {
	p := formatstest.Peers(t)
	for _, c := range []string{"sigstore-go/trusted-roots/public-good.json", "sigstore-go/examples/trusted-root-public-good.json"} {
		if _, err := os.Stat(filepath.Join(p, c)); err == nil {
			return filepath.Join(p, c)
		}
	}
	t.Skip("public-good trusted root not found in ../shared/peers/sigstore-go; skipping keyless fixtures")
	return ""
}

// fixtures lists every signed folder with the trust that should accept it.
func fixtures(t testing.TB) []fixture {
	d := mtDir(t)
	keys := filepath.Join(d, "keys", "certificate")
	ents, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "v") {
			continue
		}
		dir := filepath.Join(d, e.Name())
		f := fixture{name: e.Name(), model: dir, sig: filepath.Join(dir, "model.sig")}
		if _, err := os.Stat(filepath.Join(dir, "ignore-me")); err == nil {
			f.ignore = []string{"ignore-me"}
		}
		// v0.3.1 and v1.0.0 key signatures were made over the single file
		// signme-1 (resource "."), so the model is that file.
		if _, err := os.Stat(filepath.Join(dir, "signme-2")); err != nil {
			f.model = filepath.Join(dir, "signme-1")
		}
		switch {
		case strings.HasSuffix(e.Name(), "-elliptic-key"):
			f.trust = TrustOptions{KeyPath: filepath.Join(keys, "signing-key-pub.pem")}
		case strings.HasSuffix(e.Name(), "-certificate"):
			f.trust = TrustOptions{CAChainPaths: []string{filepath.Join(keys, "ca-cert.pem")}}
		case strings.HasSuffix(e.Name(), "-sigstore"):
			f.trust = TrustOptions{Identity: fixtureIdentity, Issuer: fixtureIssuer, TrustedRootPath: publicGoodRoot(t)}
		default:
			continue
		}
		out = append(out, f)
	}
	if len(out) < 12 {
		t.Fatalf("found %d signed fixtures, expected at least 12 (v0.2.0 to v1.1.0)", len(out))
	}
	return out
}

func TestReferenceFixturesVerify(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			res, err := Verify(f.model, Options{SignaturePath: f.sig, Trust: f.trust, IgnorePaths: f.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Verified {
				t.Fatalf("not verified: %+v", res.Problems)
			}
			t.Logf("%s: signer %+v, %d resources", f.name, res.Signer.Method, res.Resources)
		})
	}
}

// TestReferenceFixturesRefuseTampering changes each fixture in one way and
// checks that verification fails for the right reason.
func TestReferenceFixturesRefuseTampering(t *testing.T) {
	otherKey := writePublicKey(t, newECKey(t, elliptic.P384()).Public())
	otherPKI := newPKI(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageDigitalSignature, nil)
	otherCA := writeCertPEM(t, otherPKI.root)
	// Another real trusted root (from sigstore-go's test data) that does
	// not hold the public-good Fulcio and Rekor keys.
	vsRoot := filepath.Join(formatstest.Peers(t), "sigstore-go", "trusted-roots", "public-key-validity.json")
	for _, f := range fixtures(t) {
		f := f
		single := filepath.Base(f.model) == "signme-1"
		// copy puts the fixture in a temp dir and returns model and sig.
		copyFixture := func(t *testing.T) (string, string) {
			dir := copyTree(t, filepath.Dir(f.sig))
			if single {
				return filepath.Join(dir, "signme-1"), filepath.Join(dir, "model.sig")
			}
			return dir, filepath.Join(dir, "model.sig")
		}
		opts := func(model, sig string) Options {
			return Options{SignaturePath: sig, Trust: f.trust, IgnorePaths: f.ignore}
		}
		t.Run(f.name+"/byte-changed", func(t *testing.T) {
			m, s := copyFixture(t)
			p := filepath.Join(filepath.Dir(s), "signme-1")
			data, _ := os.ReadFile(p)
			data[0] ^= 1
			writeFile(t, p, data)
			mustFail(t, m, opts(m, s), "changed")
		})
		t.Run(f.name+"/signature-byte-changed", func(t *testing.T) {
			m, s := copyFixture(t)
			data, _ := os.ReadFile(s)
			var b map[string]any
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			env := b["dsseEnvelope"].(map[string]any)
			payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			payload[len(payload)/2] ^= 0x20
			env["payload"] = base64.StdEncoding.EncodeToString(payload)
			out, _ := json.Marshal(b)
			writeFile(t, s, out)
			mustFail(t, m, opts(m, s), "signature")
		})
		if !single {
			t.Run(f.name+"/file-added", func(t *testing.T) {
				m, s := copyFixture(t)
				writeFile(t, filepath.Join(m, "extra.bin"), []byte("not signed"))
				mustFail(t, m, opts(m, s), "unsigned")
				// ... and passes when unsigned files are allowed.
				o := opts(m, s)
				o.IgnoreUnsignedFiles = true
				mustVerify(t, m, o)
			})
			t.Run(f.name+"/file-removed", func(t *testing.T) {
				m, s := copyFixture(t)
				if err := os.Remove(filepath.Join(m, "signme-2")); err != nil {
					t.Fatal(err)
				}
				mustFail(t, m, opts(m, s), "missing")
			})
		}
		method, _ := f.trust.Method()
		switch method {
		case MethodKey:
			t.Run(f.name+"/other-key", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{KeyPath: otherKey}
				mustFail(t, f.model, o, "signature")
			})
			t.Run(f.name+"/checked-as-certificate", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{CAChainPaths: []string{filepath.Join(mtDir(t), "keys", "certificate", "ca-cert.pem")}}
				r := mustFail(t, f.model, o, "signature")
				if !strings.Contains(r.Problems[0].Message, "not a certificate") {
					t.Errorf("reason %q does not say the bundle is key-signed", r.Problems[0].Message)
				}
			})
		case MethodCertificate:
			t.Run(f.name+"/other-ca", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{CAChainPaths: []string{otherCA}}
				mustFail(t, f.model, o, "signature")
			})
			t.Run(f.name+"/intermediate-alone-is-not-a-root", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{CAChainPaths: []string{filepath.Join(mtDir(t), "keys", "certificate", "int-ca-cert.pem")}}
				mustFail(t, f.model, o, "signature")
			})
			t.Run(f.name+"/checked-with-key", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{KeyPath: filepath.Join(mtDir(t), "keys", "certificate", "signing-key-pub.pem")}
				r := mustFail(t, f.model, o, "signature")
				if !strings.Contains(r.Problems[0].Message, "not a public key") {
					t.Errorf("reason %q does not say the bundle is certificate-signed", r.Problems[0].Message)
				}
			})
		case MethodKeyless:
			for _, c := range []struct {
				name string
				mod  func(*TrustOptions)
			}{
				{"other-identity", func(o *TrustOptions) { o.Identity = "mallory@example.com" }},
				{"other-issuer", func(o *TrustOptions) { o.Issuer = "https://accounts.google.com" }},
				{"identity-regexp-no-match", func(o *TrustOptions) { o.Identity = ""; o.IdentityRegexp = "^.*@example\\.com$" }},
				{"other-trusted-root", func(o *TrustOptions) { o.TrustedRootPath = vsRoot }},
			} {
				t.Run(f.name+"/"+c.name, func(t *testing.T) {
					o := opts(f.model, f.sig)
					c.mod(&o.Trust)
					mustFail(t, f.model, o, "signature")
				})
			}
			t.Run(f.name+"/identity-regexp-match", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust.Identity, o.Trust.IdentityRegexp = "", `^stefanb@us\.ibm\.com$`
				o.Trust.Issuer, o.Trust.IssuerRegexp = "", `^https://sigstore\.verify\.ibm\.com/`
				mustVerify(t, f.model, o)
			})
			t.Run(f.name+"/checked-with-key", func(t *testing.T) {
				o := opts(f.model, f.sig)
				o.Trust = TrustOptions{KeyPath: filepath.Join(mtDir(t), "keys", "certificate", "signing-key-pub.pem")}
				mustFail(t, f.model, o, "signature")
			})
		}
	}
}
