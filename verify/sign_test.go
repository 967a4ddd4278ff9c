package verify

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestSignVerifyRoundTrip signs folders with each key kind and method and
// verifies them; then breaks them.
func TestSignVerifyRoundTrip(t *testing.T) {
	// The fixture key and certificates are used when the peers corpus is
	// present; fresh keys are always used.
	mt := filepath.Join(formatstest.RepoRoot(t), "..", "shared", "peers", "model-transparency")
	if d, err := os.Stat(mt); err != nil || !d.IsDir() {
		mt = ""
	}
	type signer struct {
		name  string
		key   crypto.Signer
		trust func(t *testing.T) TrustOptions
		cert  []byte
		chain [][]byte
	}
	p256 := newECKey(t, elliptic.P256())
	p521 := newECKey(t, elliptic.P521())
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pki := newPKI(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	signers := []signer{
		{"ecdsa-p256", p256, func(t *testing.T) TrustOptions { return TrustOptions{KeyPath: writePublicKey(t, p256.Public())} }, nil, nil},
		{"ecdsa-p521", p521, func(t *testing.T) TrustOptions { return TrustOptions{KeyPath: writePublicKey(t, p521.Public())} }, nil, nil},
		{"ed25519", edKey, func(t *testing.T) TrustOptions { return TrustOptions{KeyPath: writePublicKey(t, edKey.Public())} }, nil, nil},
		{"certificate-fresh-pki", pki.leafKey, func(t *testing.T) TrustOptions {
			return TrustOptions{CAChainPaths: []string{writeCertPEM(t, pki.root)}}
		}, pki.leaf.Raw, [][]byte{pki.inter.Raw}},
	}
	if mt != "" {
		keys := filepath.Join(mt, "keys", "certificate")
		data, err := os.ReadFile(filepath.Join(keys, "signing-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := LoadPrivateKeyPEM(data)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := PEMCertificates(filepath.Join(keys, "signing-key-cert.pem"))
		inter, _ := PEMCertificates(filepath.Join(keys, "int-ca-cert.pem"))
		signers = append(signers,
			signer{"fixture-key-p384", k, func(t *testing.T) TrustOptions {
				return TrustOptions{KeyPath: filepath.Join(keys, "signing-key-pub.pem")}
			}, nil, nil},
			signer{"fixture-certificate", k, func(t *testing.T) TrustOptions {
				return TrustOptions{CAChainPaths: []string{filepath.Join(keys, "ca-cert.pem")}}
			}, leaf[0], inter})
	}
	files := map[string]string{
		"config.json":             `{"a":1}`,
		"model.safetensors":       strings.Repeat("w", 5000),
		".hidden":                 "dotfiles are signed",
		".cache/inside-hidden":    "so are files in hidden folders",
		"sub/dir/weights-0.bin":   "x",
		"sub-dir/a":               "sorted by components, not by string",
		".git/HEAD":               "ref: refs/heads/main",
		"ignored/by-user/big.bin": "skipped",
	}
	for _, s := range signers {
		for _, method := range []string{MethodFiles, MethodShards} {
			t.Run(s.name+"/"+method, func(t *testing.T) {
				dir := makeModel(t, "my-model", files)
				so := SignOptions{Key: s.key, Certificate: s.cert, Chain: s.chain,
					Hash: HashOptions{Method: method, ShardSize: 1024, IgnorePaths: []string{"ignored"}}}
				m, bundle, err := Sign(dir, so)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range m.Resources {
					if strings.HasPrefix(r.Name, ".git/") || strings.HasPrefix(r.Name, "ignored/") || strings.HasPrefix(r.Name, "model.sig") {
						t.Errorf("resource %q should have been left out", r.Name)
					}
				}
				names := resourceFiles(m)
				for _, want := range []string{".hidden", ".cache/inside-hidden", "sub/dir/weights-0.bin"} {
					if !names[want] {
						t.Errorf("%s not signed", want)
					}
				}
				if !bytes.Equal(mustRead(t, filepath.Join(dir, "model.sig")), bundle) {
					t.Error("written signature differs from the returned bundle")
				}
				trust := s.trust(t)
				r := mustVerify(t, dir, Options{Trust: trust})
				if r.Signed.RootDigest != m.RootDigest() {
					t.Errorf("root digest %s, signed %s", m.RootDigest(), r.Signed.RootDigest)
				}
				// One changed byte in a large file fails, naming the file.
				p := filepath.Join(dir, "model.safetensors")
				data := mustRead(t, p)
				data[4000] = 'X'
				writeFile(t, p, data)
				res := mustFail(t, dir, Options{Trust: trust}, "changed")
				if !strings.Contains(res.Problems[0].Resource, "model.safetensors") {
					t.Errorf("problem names %q, want model.safetensors", res.Problems[0].Resource)
				}
			})
		}
	}
}

func resourceFiles(m *Manifest) map[string]bool {
	out := map[string]bool{}
	for _, r := range m.Resources {
		out[resourcePath(r.Name, m.Method)] = true
	}
	return out
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResourceOrderMatchesPython: PurePosixPath sorts by components.
func TestResourceOrderMatchesPython(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"a-b": "1", "a/b": "2", "a/c/d": "3", "B": "4", "a.txt": "5"})
	m, err := HashModel(dir, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range m.Resources {
		got = append(got, r.Name)
	}
	// sorted(PurePosixPath(x) for x in ...) in Python 3.12.
	want := []string{"B", "a/b", "a/c/d", "a-b", "a.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// layout returns the key order at every level of a JSON document, with
// array elements collapsed to the first one, so two statements can be
// compared field by field regardless of values.
func layout(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []string
	var path []string
	var inObj []bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				inObj = append(inObj, v == '{')
				out = append(out, strings.Join(path, ".")+string(v))
				expectKey = v == '{'
				if v == '[' {
					path = append(path, "[]")
				}
			default:
				if !inObj[len(inObj)-1] {
					path = path[:len(path)-1]
				}
				inObj = inObj[:len(inObj)-1]
				if len(inObj) > 0 && inObj[len(inObj)-1] {
					path = path[:len(path)-1]
					expectKey = true
				}
			}
		default:
			if len(inObj) > 0 && inObj[len(inObj)-1] {
				if expectKey {
					path = append(path, v.(string))
					expectKey = false
					continue
				}
				out = append(out, strings.Join(path, ".")+":"+reflect.TypeOf(v).String())
				path = path[:len(path)-1]
				expectKey = true
			} else {
				out = append(out, strings.Join(path, ".")+":"+reflect.TypeOf(v).String())
			}
		}
	}
	// Collapse repeated array elements.
	var uniq []string
	seen := map[string]bool{}
	for _, s := range out {
		if !seen[s] {
			uniq = append(uniq, s)
			seen[s] = true
		}
	}
	return uniq
}

// TestSignedStatementLayoutMatchesReference compares the statement and
// bundle written by Sign with the v1.1.0 fixtures field by field (key
// order, nesting, value types, indentation).
func TestSignedStatementLayoutMatchesReference(t *testing.T) {
	for _, name := range []string{"v1.1.0-elliptic-key", "v1.1.0-certificate"} {
		t.Run(name, func(t *testing.T) {
			ref := filepath.Join(mtDir(t), name)
			refBundle := mustRead(t, filepath.Join(ref, "model.sig"))
			refPayload := bundlePayload(t, refBundle)

			keys := filepath.Join(mtDir(t), "keys", "certificate")
			k, err := LoadPrivateKeyPEM(mustRead(t, filepath.Join(keys, "signing-key.pem")))
			if err != nil {
				t.Fatal(err)
			}
			so := SignOptions{Key: k, Hash: HashOptions{IgnorePaths: []string{"ignore-me"}}}
			if strings.HasSuffix(name, "certificate") {
				leaf, _ := PEMCertificates(filepath.Join(keys, "signing-key-cert.pem"))
				inter, _ := PEMCertificates(filepath.Join(keys, "int-ca-cert.pem"))
				so.Certificate, so.Chain = leaf[0], inter
			}
			// Same files, same folder name: same digests and root digest.
			dir := copyTree(t, ref)
			os.Remove(filepath.Join(dir, "model.sig"))
			_, ours, err := Sign(dir, so)
			if err != nil {
				t.Fatal(err)
			}
			ourPayload := bundlePayload(t, ours)
			if name == "v1.1.0-elliptic-key" {
				// This fixture's key order is the one Sign writes, and its
				// ignore_paths only differ in order: compare exactly after
				// sorting that list.
				if got, want := normalizeIgnoreOrder(t, ourPayload), normalizeIgnoreOrder(t, refPayload); got != want {
					t.Errorf("statement differs from the reference tool's:\n got %s\nwant %s", got, want)
				}
			}
			if !reflect.DeepEqual(sortedLayout(layout(t, ourPayload)), sortedLayout(layout(t, refPayload))) {
				t.Errorf("statement fields differ:\n got %v\nwant %v", layout(t, ourPayload), layout(t, refPayload))
			}
			if got, want := layout(t, ours), layout(t, refBundle); !reflect.DeepEqual(got, want) {
				t.Errorf("bundle layout differs:\n got %v\nwant %v", got, want)
			}
			// The reference fixture's own subject digest is reproduced.
			var a, b stmtJSON
			json.Unmarshal(ourPayload, &a)
			json.Unmarshal(refPayload, &b)
			if a.Subject[0].Digest["sha256"] != b.Subject[0].Digest["sha256"] || a.Subject[0].Name != b.Subject[0].Name {
				t.Errorf("subject %+v, reference %+v", a.Subject, b.Subject)
			}
			// And it verifies like the fixture does.
			var trust TrustOptions
			if so.Certificate != nil {
				trust.CAChainPaths = []string{filepath.Join(keys, "ca-cert.pem")}
			} else {
				trust.KeyPath = filepath.Join(keys, "signing-key-pub.pem")
			}
			mustVerify(t, dir, Options{Trust: trust})
		})
	}
}

func sortedLayout(l []string) []string {
	c := append([]string(nil), l...)
	sortStrings(c)
	return c
}

func normalizeIgnoreOrder(t *testing.T, payload []byte) string {
	var v map[string]any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatal(err)
	}
	ser := v["predicate"].(map[string]any)["serialization"].(map[string]any)
	var ig []string
	for _, x := range ser["ignore_paths"].([]any) {
		ig = append(ig, x.(string))
	}
	sortStrings(ig)
	// Re-render the reference's text with the sorted list in place.
	text := string(payload)
	start := strings.Index(text, `"ignore_paths": [`)
	end := strings.Index(text[start:], "]") + start
	var b strings.Builder
	b.WriteString(`"ignore_paths": [`)
	for i, s := range ig {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n        \"" + s + "\"")
	}
	b.WriteString("\n      ")
	return text[:start] + b.String() + text[end:]
}

func bundlePayload(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b struct {
		DsseEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignRefusals(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	t.Run("empty-model", func(t *testing.T) {
		dir := makeModel(t, "empty", nil)
		if _, _, err := Sign(dir, SignOptions{Key: k}); err == nil || !strings.Contains(err.Error(), "no regular files") {
			t.Fatalf("err %v, want empty model refused", err)
		}
	})
	t.Run("only-git-files", func(t *testing.T) {
		dir := makeModel(t, "gitonly", map[string]string{".git/config": "x", ".gitattributes": "y"})
		if _, _, err := Sign(dir, SignOptions{Key: k}); err == nil {
			t.Fatal("a model of only ignored files was signed")
		}
	})
	t.Run("keyless-without-token", func(t *testing.T) {
		dir := makeModel(t, "m", map[string]string{"a": "b"})
		if _, _, err := Sign(dir, SignOptions{Keyless: true}); !errors.Is(err, ErrNoIDToken) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("certificate-of-another-key", func(t *testing.T) {
		pki := newPKI(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageDigitalSignature, nil)
		dir := makeModel(t, "m", map[string]string{"a": "b"})
		if _, _, err := Sign(dir, SignOptions{Key: k, Certificate: pki.leaf.Raw}); err == nil {
			t.Fatal("signed with a certificate whose key is not the signing key")
		}
	})
	t.Run("signature-outside-the-model", func(t *testing.T) {
		dir := makeModel(t, "m", map[string]string{"a": "b"})
		sig := filepath.Join(t.TempDir(), "elsewhere.sig")
		if _, _, err := Sign(dir, SignOptions{Key: k, SignaturePath: sig}); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, dir, Options{SignaturePath: sig, Trust: TrustOptions{KeyPath: writePublicKey(t, k.Public())}})
	})
	t.Run("single-file-model", func(t *testing.T) {
		dir := makeModel(t, "m", map[string]string{"weights.bin": "abc"})
		file := filepath.Join(dir, "weights.bin")
		m, _, err := Sign(file, SignOptions{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Resources) != 1 || m.Resources[0].Name != "." {
			t.Fatalf("resources %+v, want one named \".\"", m.Resources)
		}
		mustVerify(t, file, Options{Trust: TrustOptions{KeyPath: writePublicKey(t, k.Public())}})
	})
}
