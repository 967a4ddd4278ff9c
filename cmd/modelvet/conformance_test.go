package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
)

// confCase is a case of the OMS conformance suite
// (github.com/sampras343/model-signing-conformance, test/test-cases),
// read with its own fields.
type confCase struct {
	Method            string   `json:"method"`
	Model             string   `json:"model"`
	ModelRelativeTo   string   `json:"model_relative_to"`
	Expect            string   `json:"expect"`
	SigInsideModel    bool     `json:"sig_inside_model"`
	ExpectedSigned    []string `json:"expected_signed_files"`
	ModelModification *struct {
		Tamper   map[string]string `json:"tamper"`
		Delete   []string          `json:"delete"`
		Inject   map[string]string `json:"inject"`
		Symlinks map[string]string `json:"symlinks"`
	} `json:"model_modifications"`
	Sign *struct {
		PrivateKey  string   `json:"private_key"`
		SigningCert string   `json:"signing_cert"`
		CertChain   []string `json:"cert_chain"`
	} `json:"sign"`
	Verify *struct {
		PublicKey           string   `json:"public_key"`
		CertChain           []string `json:"cert_chain"`
		IgnorePaths         []string `json:"ignore_paths"`
		IgnoreUnsignedFiles bool     `json:"ignore_unsigned_files"`
		Identity            string   `json:"identity"`
		IdentityProvider    string   `json:"identity_provider"`
	} `json:"verify"`
}

// confSuite finds the suite's test/ folder: MODELVET_OMS_CONFORMANCE, or
// ../shared/peers/model-signing-conformance/test.
func confSuite(t *testing.T) string {
	dir := os.Getenv("MODELVET_OMS_CONFORMANCE")
	if dir == "" {
		dir = filepath.Join(formatstest.Peers(t), "model-signing-conformance", "test")
	}
	if _, err := os.Stat(filepath.Join(dir, "test-cases")); err != nil {
		t.Skipf("OMS conformance suite not found (set MODELVET_OMS_CONFORMANCE to its test/ folder): %v", err)
	}
	return dir
}

// TestOMSConformance runs the OMS conformance suite's verify and
// round-trip cases through the command line, as its adapter protocol
// does (exit 0 = pass). Keyless signing is skipped (it needs an OIDC
// token and the network); keyless verification of the committed bundles
// runs offline with the public-good trusted root from the peers corpus.
func TestOMSConformance(t *testing.T) {
	suite := confSuite(t)
	assets := filepath.Join(suite, "assets")
	trustedRoot := filepath.Join(formatstest.Peers(t), "sigstore-go", "trusted-roots", "public-good.json")
	var dirs []string
	for _, kind := range []string{"verify/positive", "verify/negative", "verify/historical", "roundtrip"} {
		ents, _ := os.ReadDir(filepath.Join(suite, "test-cases", kind))
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(kind, e.Name()))
			}
		}
	}
	passed, skipped := 0, 0
	for _, d := range dirs {
		ran := false
		ok := t.Run(d, func(t *testing.T) {
			ran = true
			caseDir := filepath.Join(suite, "test-cases", d)
			var c confCase
			raw, err := os.ReadFile(filepath.Join(caseDir, "config.json"))
			if err != nil || json.Unmarshal(raw, &c) != nil {
				t.Fatalf("config: %v", err)
			}
			roundtrip := strings.HasPrefix(d, "roundtrip")
			if roundtrip && c.Method == "sigstore" {
				skipped++
				t.Skip("keyless signing (OIDC token, Fulcio, Rekor) is not run offline")
			}
			src := filepath.Join(assets, c.Model)
			if c.ModelRelativeTo == "test_dir" {
				src = filepath.Join(caseDir, c.Model)
			}
			tmp := t.TempDir()
			model := filepath.Join(tmp, "model")
			if st, err := os.Stat(src); err == nil && !st.IsDir() {
				model = filepath.Join(tmp, filepath.Base(src))
			}
			copyPath(t, src, model)
			if m := c.ModelModification; m != nil {
				target := model
				if st, _ := os.Stat(model); !st.IsDir() {
					target = filepath.Dir(model)
				}
				for f, s := range m.Tamper {
					os.WriteFile(filepath.Join(target, f), []byte(s), 0o644)
				}
				for _, f := range m.Delete {
					os.Remove(filepath.Join(target, f))
				}
				for f, s := range m.Inject {
					os.WriteFile(filepath.Join(target, f), []byte(s), 0o644)
				}
				for name, to := range m.Symlinks {
					os.MkdirAll(filepath.Dir(filepath.Join(target, name)), 0o755)
					if err := os.Symlink(to, filepath.Join(target, name)); err != nil {
						t.Skipf("symlinks unavailable: %v", err)
					}
				}
			}
			var ignores []string
			if c.Verify != nil {
				ignores = c.Verify.IgnorePaths
			}
			bundle := filepath.Join(caseDir, "bundle.sig")
			var signArgs []string
			if roundtrip {
				bundle = filepath.Join(tmp, "bundle.sig")
				if c.SigInsideModel {
					bundle = filepath.Join(model, "bundle.sig")
				}
				signArgs = []string{"--key", filepath.Join(assets, c.Sign.PrivateKey)}
				if c.Sign.SigningCert != "" {
					signArgs = append(signArgs, "--certificate", filepath.Join(assets, c.Sign.SigningCert))
				}
				for _, p := range c.Sign.CertChain {
					signArgs = append(signArgs, "--certificate-chain", filepath.Join(assets, p))
				}
				for _, p := range ignores {
					signArgs = append(signArgs, "--ignore-paths", p)
				}
				code, out, errs := runCmd(t, append([]string{"sign", model, "--signature", bundle}, signArgs...)...)
				if c.Expect == "fail" {
					if code == exitOK {
						t.Fatalf("signing should fail:\n%s%s", out, errs)
					}
					return
				}
				if code != exitOK {
					t.Fatalf("sign exit %d:\n%s%s", code, out, errs)
				}
				checkSignedStatement(t, bundle)
				if c.Verify.IgnoreUnsignedFiles && len(ignores) > 0 {
					os.WriteFile(filepath.Join(model, "injected.bin"), []byte("injected after signing\n"), 0o644)
				}
			}
			args := []string{"verify", model, "--signature", bundle}
			switch c.Method {
			case "key":
				args = append(args, "--key", filepath.Join(assets, c.Verify.PublicKey))
			case "certificate":
				for _, p := range c.Verify.CertChain {
					args = append(args, "--certificate-chain", filepath.Join(assets, p))
				}
			case "sigstore":
				if _, err := os.Stat(trustedRoot); err != nil {
					skipped++
					t.Skipf("no public-good trusted root at %s", trustedRoot)
				}
				args = append(args, "--certificate-identity", c.Verify.Identity, "--certificate-oidc-issuer", c.Verify.IdentityProvider, "--trusted-root", trustedRoot)
			}
			for _, p := range ignores {
				args = append(args, "--ignore-paths", p)
			}
			if c.Verify.IgnoreUnsignedFiles {
				args = append(args, "--ignore-unsigned-files")
			}
			code, out, errs := runCmd(t, args...)
			if c.Expect == "fail" {
				if code == exitOK {
					t.Fatalf("verification should fail:\n%s%s", out, errs)
				}
				return
			}
			if code != exitOK {
				t.Fatalf("verify exit %d:\n%s%s", code, out, errs)
			}
			if len(c.ExpectedSigned) > 0 {
				want := append([]string{}, c.ExpectedSigned...)
				sort.Strings(want)
				if got := signedFiles(t, bundle); got != nil && strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("signed files %v, want %v", got, want)
				}
			}
			if roundtrip && strings.Contains(d, "deterministic") {
				b2 := filepath.Join(tmp, "bundle2.sig")
				if code, out, errs := runCmd(t, append([]string{"sign", model, "--signature", b2}, signArgs...)...); code != exitOK {
					t.Fatalf("second sign: %s%s", out, errs)
				}
				if strings.Join(signedFiles(t, bundle), ",") != strings.Join(signedFiles(t, b2), ",") {
					t.Fatal("signing is not deterministic")
				}
			}
		})
		if ok && ran {
			passed++
		}
	}
	t.Logf("OMS conformance: %d passed, %d skipped (keyless signing, or no trusted root), %d failed, of %d cases", passed-skipped, skipped, len(dirs)-passed, len(dirs))
}

// statementOf decodes a bundle's DSSE payload without checking anything.
func statementOf(t *testing.T, bundle string) map[string]any {
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	raw, _ := os.ReadFile(bundle)
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	p, _ := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	var st map[string]any
	if err := json.Unmarshal(p, &st); err != nil {
		t.Fatalf("statement: %v", err)
	}
	return st
}

// signedFiles lists the file resources of a bundle, as the suite does
// (nil for a statement without predicate.resources).
func signedFiles(t *testing.T, bundle string) []string {
	pred, _ := statementOf(t, bundle)["predicate"].(map[string]any)
	res, ok := pred["resources"].([]any)
	if !ok {
		return nil
	}
	var names []string
	for _, r := range res {
		n, _ := r.(map[string]any)["name"].(string)
		if parts := strings.Split(n, ":"); len(parts) == 3 {
			continue // a shard
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkSignedStatement makes the suite's checks of a written bundle:
// statement and predicate types, one subject whose digest is the root
// digest of the resources, resources sorted by name.
func checkSignedStatement(t *testing.T, bundle string) {
	st := statementOf(t, bundle)
	if st["_type"] != "https://in-toto.io/Statement/v1" || st["predicateType"] != "https://model_signing/signature/v1.0" {
		t.Fatalf("statement types %v %v", st["_type"], st["predicateType"])
	}
	res := st["predicate"].(map[string]any)["resources"].([]any)
	h := sha256.New()
	var names []string
	for _, r := range res {
		m := r.(map[string]any)
		names = append(names, m["name"].(string))
		d, _ := hex.DecodeString(m["digest"].(string))
		h.Write(d)
	}
	if !sort.StringsAreSorted(names) {
		t.Fatalf("resources not sorted: %v", names)
	}
	subs := st["subject"].([]any)
	if len(subs) != 1 || subs[0].(map[string]any)["digest"].(map[string]any)["sha256"] != hex.EncodeToString(h.Sum(nil)) {
		t.Fatalf("subject %v is not the root digest", subs)
	}
}

// copyPath copies a file or a folder tree (regular files and folders).
func copyPath(t *testing.T, src, dst string) {
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		os.MkdirAll(filepath.Dir(out), 0o755)
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(f, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
