package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// ecKey writes a P-256 key pair and returns the private PEM and the
// public key's path.
func ecKey(t *testing.T, dir, name string) (privPEM []byte, pubPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	privPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	pubPath = filepath.Join(dir, name+".pub")
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		t.Fatal(err)
	}
	return privPEM, pubPath
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "signer")
	_, otherPub := ecKey(t, dir, "other")
	pred := mustJSON(t, slsaV1Predicate("https://ci.example/builder@v1", "https://github.com/org/model", "refs/heads/main", "1111111111111111111111111111111111111111"))
	root := Digest{"sha256", hexA}
	for _, format := range []string{FormatBundle, FormatDSSE} {
		t.Run(format, func(t *testing.T) {
			out, err := Create(CreateOptions{PredicateType: "slsa-v1", Predicate: pred, SubjectName: "model", Subject: root, KeyPEM: priv, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, filepath.Join(dir, format+".json"), out)
			items, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]Kind{FormatBundle: KindBundle, FormatDSSE: KindDSSE}[format]; items[0].Kind != want {
				t.Fatalf("kind %v, want %v", items[0].Kind, want)
			}
			res, err := VerifyFile(path, Options{Trust: verify.TrustOptions{KeyPath: pub}, SubjectDigest: root,
				Require: Requirements{BuilderID: "https://ci.example/builder", SourceURI: "https://github.com/org/model"}})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK {
				t.Fatalf("own attestation refused: %v", res.Failures)
			}
			res, _ = VerifyFile(path, Options{Trust: verify.TrustOptions{KeyPath: otherPub}})
			if res.OK || !strings.Contains(strings.Join(res.Failures, ""), "signature") {
				t.Fatalf("attestation verified with an unrelated key: %+v", res)
			}
			res, _ = VerifyFile(path, Options{Trust: verify.TrustOptions{KeyPath: pub}, SubjectDigest: Digest{"sha256", hexB}})
			if res.OK || !strings.Contains(strings.Join(res.Failures, ""), "the attestation is about model (sha256:"+hexA+"), not sha256:"+hexB) {
				t.Fatalf("wrong subject accepted or badly reported: %v", res.Failures)
			}
		})
	}
}

func TestCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "k")
	pubPEM, _ := os.ReadFile(pub)
	good := CreateOptions{PredicateType: "https://example.com/eval/v1", Predicate: []byte(`{"accuracy":0.91}`), Subject: Digest{"sha256", hexA}, KeyPEM: priv}
	cases := []struct {
		name   string
		mutate func(o *CreateOptions)
		want   string
	}{
		{"relative predicate type", func(o *CreateOptions) { o.PredicateType = "provenance" }, "absolute URI"},
		{"predicate is an array", func(o *CreateOptions) { o.Predicate = []byte(`[1]`) }, "JSON object"},
		{"predicate with duplicate keys", func(o *CreateOptions) { o.Predicate = []byte(`{"a":1,"a":2}`) }, "twice"},
		{"malformed SLSA provenance", func(o *CreateOptions) { o.PredicateType = "slsa-v1"; o.Predicate = []byte(`{}`) }, "builder.id"},
		{"public key as signing key", func(o *CreateOptions) { o.KeyPEM = pubPEM }, "public key"},
		{"encrypted key", func(o *CreateOptions) {
			o.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})
		}, "encrypted"},
		{"unknown format", func(o *CreateOptions) { o.Format = "xml" }, "format"},
	}
	if _, err := Create(good); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.mutate(&o)
			if _, err := Create(o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
		})
	}
}

// multiSigEnvelope signs one statement with each key and puts all the
// signatures in one envelope.
func multiSigEnvelope(t *testing.T, keys ...[]byte) []byte {
	t.Helper()
	var payload string
	var sigs []any
	for _, k := range keys {
		out, err := Create(CreateOptions{PredicateType: "https://example.com/p", Predicate: []byte(`{}`), Subject: Digest{"sha256", hexA}, KeyPEM: k, Format: FormatDSSE})
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Payload    string `json:"payload"`
			Signatures []any  `json:"signatures"`
		}
		json.Unmarshal(out, &env)
		// Create is deterministic in the statement, so every signature
		// is over the same payload.
		if payload != "" && payload != env.Payload {
			t.Fatal("payloads differ")
		}
		payload = env.Payload
		sigs = append(sigs, env.Signatures...)
	}
	return mustJSON(t, map[string]any{"payloadType": InTotoPayloadType, "payload": payload, "signatures": sigs})
}

func TestDSSESeveralSignatures(t *testing.T) {
	dir := t.TempDir()
	a, aPub := ecKey(t, dir, "a")
	b, bPub := ecKey(t, dir, "b")
	_, cPub := ecKey(t, dir, "c")
	env := writeFile(t, filepath.Join(dir, "env.json"), multiSigEnvelope(t, a, b))
	cases := []struct {
		name string
		key  string
		ok   bool
		want string
	}{
		{"first signature from the trusted key", aPub, true, "(1 of 2 signatures verified)"},
		{"second signature from the trusted key", bPub, true, "(1 of 2 signatures verified)"},
		{"no signature from the trusted key", cPub, false, "none of the envelope's 2 signatures is from the trusted signer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := VerifyFile(env, Options{Trust: verify.TrustOptions{KeyPath: c.key}})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(append(res.Lines, res.Failures...), "\n")
			if res.OK != c.ok || !strings.Contains(text, c.want) {
				t.Fatalf("ok=%v, want %v; output lacks %q:\n%s", res.OK, c.ok, c.want, text)
			}
		})
	}
	// A corrupted signature beside a good one: still one good.
	var e map[string]any
	json.Unmarshal(multiSigEnvelope(t, a, b), &e)
	sigs := e["signatures"].([]any)
	sigs[1].(map[string]any)["sig"] = "AAAA"
	p := writeFile(t, filepath.Join(dir, "bad.json"), mustJSON(t, e))
	res, _ := VerifyFile(p, Options{Trust: verify.TrustOptions{KeyPath: aPub}})
	if !res.OK || !strings.Contains(strings.Join(res.Lines, "\n"), "1 of 2") {
		t.Fatalf("one good, one garbage: %+v", res)
	}
}

func TestJSONLinesAllMustVerify(t *testing.T) {
	dir := t.TempDir()
	a, aPub := ecKey(t, dir, "a")
	b, _ := ecKey(t, dir, "b")
	mk := func(k []byte) []byte {
		out, err := Create(CreateOptions{PredicateType: "https://example.com/p", Predicate: []byte(`{}`), Subject: Digest{"sha256", hexA}, KeyPEM: k})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	both := writeFile(t, filepath.Join(dir, "ok.jsonl"), append(mk(a), mk(a)...))
	res, _ := VerifyFile(both, Options{Trust: verify.TrustOptions{KeyPath: aPub}})
	if !res.OK || len(res.Checked) != 2 {
		t.Fatalf("two good lines: %+v", res)
	}
	mixed := writeFile(t, filepath.Join(dir, "mixed.jsonl"), append(mk(a), mk(b)...))
	res, _ = VerifyFile(mixed, Options{Trust: verify.TrustOptions{KeyPath: aPub}})
	if res.OK || !strings.Contains(strings.Join(res.Failures, ""), "attestation #2") {
		t.Fatalf("a line from another key was accepted: %+v", res.Failures)
	}
}

// makeModel writes a small model folder.
func makeModel(t *testing.T, dir string, weights string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "model.safetensors"), []byte(weights))
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"model_type":"bert"}`))
	return dir
}

func TestVerifyForModel(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "signer")
	_, otherPub := ecKey(t, dir, "other")
	model := makeModel(t, filepath.Join(dir, "model"), "weights-1")
	other := makeModel(t, filepath.Join(dir, "other"), "weights-2")
	m, err := verify.HashModel(model, verify.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pred := mustJSON(t, slsaV1Predicate("https://ci.example/builder@v1", "https://github.com/org/model", "refs/heads/main", "1111111111111111111111111111111111111111"))
	out, err := Create(CreateOptions{PredicateType: SLSAv1, Predicate: pred, SubjectName: "model", Subject: Digest{"sha256", m.RootDigest()}, KeyPEM: priv})
	if err != nil {
		t.Fatal(err)
	}
	// Stored inside the model folder, beside the weights: it must not
	// count as a model file.
	att := writeFile(t, filepath.Join(model, "model.att.json"), out)
	req := Requirements{BuilderID: "https://ci.example/builder", SourceURI: "https://github.com/org/model"}
	res, err := VerifyForModel(model, att, ModelOptions{Trust: verify.TrustOptions{KeyPath: pub}, Require: req})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("attested model refused: %v", res.Failures)
	}
	cases := []struct {
		name  string
		model string
		key   string
		req   Requirements
		want  string
	}{
		{"attestation of another model", other, pub, req, "the attestation is about model (sha256:" + m.RootDigest() + "); the model folder's digest is sha256:"},
		{"signed by an unexpected key", model, otherPub, req, "signature"},
		{"built by another builder", model, pub, Requirements{BuilderID: "https://ci.example/other"}, "not by the required builder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := VerifyForModel(c.model, att, ModelOptions{Trust: verify.TrustOptions{KeyPath: c.key}, Require: c.req})
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Join(res.Failures, "\n")
			if res.OK || !strings.Contains(f, c.want) {
				t.Fatalf("ok=%v failures %q, want %q", res.OK, f, c.want)
			}
		})
	}
	// Weights swapped after attesting.
	writeFile(t, filepath.Join(model, "model.safetensors"), []byte("weights-evil"))
	res, _ = VerifyForModel(model, att, ModelOptions{Trust: verify.TrustOptions{KeyPath: pub}})
	if res.OK {
		t.Fatal("swapped weights accepted")
	}
}

func TestRequirementsNeedProvenance(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "k")
	out, _ := Create(CreateOptions{PredicateType: "https://spdx.dev/Document", Predicate: []byte(`{}`), Subject: Digest{"sha256", hexA}, KeyPEM: priv})
	p := writeFile(t, filepath.Join(dir, "sbom.json"), out)
	res, _ := VerifyFile(p, Options{Trust: verify.TrustOptions{KeyPath: pub}, Require: Requirements{BuilderID: "x"}})
	if res.OK || !strings.Contains(strings.Join(res.Failures, ""), "no SLSA provenance") {
		t.Fatalf("a builder requirement passed without provenance: %+v", res)
	}
}

// TestStatementV01SLSAv02Signed: the older format pair (Statement v0.1,
// SLSA v0.2, as slsa-github-generator v1.x and npm wrote them) in a
// key-signed DSSE envelope, without the peer corpora.
func TestStatementV01SLSAv02Signed(t *testing.T) {
	dir := t.TempDir()
	priv, pub := ecKey(t, dir, "k")
	pred := map[string]any{
		"builder":   map[string]any{"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0"},
		"buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
		"invocation": map[string]any{"configSource": map[string]any{
			"uri": "git+https://github.com/org/model@refs/tags/v2.0", "digest": map[string]string{"sha1": strings.Repeat("2", 40)}, "entryPoint": ".github/workflows/release.yml"}},
		"metadata":  map[string]any{"buildInvocationID": "77-1", "buildStartedOn": "2024-05-01T10:00:00Z", "completeness": map[string]bool{}, "reproducible": false},
		"materials": []any{map[string]any{"uri": "git+https://github.com/org/model@refs/tags/v2.0", "digest": map[string]string{"sha1": strings.Repeat("2", 40)}}, map[string]any{"uri": "hf://org/base", "digest": map[string]string{"sha256": hexB}}},
	}
	st := statementJSON(t, StatementV01, SLSAv02, pred, [2]string{"model", hexA})
	signer, err := parsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signPAE(signer, verify.PAE(InTotoPayloadType, st))
	if err != nil {
		t.Fatal(err)
	}
	env := envelopeJSON(InTotoPayloadType, st, base64.StdEncoding.EncodeToString(sig))
	p := writeFile(t, filepath.Join(dir, "v01.json"), env)
	req := Requirements{
		BuilderID:         "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml",
		SourceURI:         "git+https://github.com/org/model@refs/tags/v2.0",
		SourceRevision:    strings.Repeat("2", 40),
		DependencyDigests: []Digest{{"sha256", hexB}},
	}
	res, err := VerifyFile(p, Options{Trust: verify.TrustOptions{KeyPath: pub}, SubjectDigest: Digest{"sha256", hexA}, Require: req})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(res.Lines, "\n")
	if !res.OK || !strings.Contains(text, "in-toto Statement v0.1") || !strings.Contains(text, "SLSA provenance v0.2") || !strings.Contains(text, "input: hf://org/base (sha256:"+hexB+")") {
		t.Fatalf("ok=%v %v\n%s", res.OK, res.Failures, text)
	}
	req.SourceURI = "git+https://github.com/org/model@refs/tags/v1.0"
	if res, _ := VerifyFile(p, Options{Trust: verify.TrustOptions{KeyPath: pub}, Require: req}); res.OK {
		t.Fatal("another tag accepted")
	}
}
