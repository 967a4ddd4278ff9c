package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/modelvet/modelvet/internal/sigstoretest"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// fakeSigstore is a Fulcio and a Rekor (v1 API) served by net/http/httptest
// on 127.0.0.1, so keyless signing runs through sigstore-go's real HTTP
// clients (sign.Fulcio, sign.Rekor with its go-openapi client) with no
// outside network.
//
// What this covers: the token is sent as a bearer token to Fulcio only;
// the proof of possession is a signature over the token's subject by the
// ephemeral key; the certificate Fulcio returns goes into the bundle; the
// proposed Rekor DSSE entry is well formed and canonicalizes (which checks
// the envelope signature against the certificate, as Rekor does); the
// returned entry (SET, inclusion proof) lands in the bundle; the written
// model.sig verifies with `Verify` and a trusted_root.json file exactly as
// a user's `modelvet verify --certificate-identity ...` would.
//
// What it cannot cover: real OIDC token validation (Fulcio here trusts
// the token's claims), embedded SCTs (the fake Fulcio has no CT log, so
// the trusted root lists none and SCTs are not required, unlike the
// public-good root), a real Merkle tree (one-leaf inclusion proofs), rate
// limits, retries and the public-good services' exact responses.
type fakeSigstore struct {
	t        *testing.T
	vs       *ca.VirtualSigstore
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
	fulcio   *httptest.Server
	rekor    *httptest.Server
	token    string
	subject  string

	fulcioCalls, rekorCalls atomic.Int32
}

const fakeIssuer = "https://token.example.com"

func newFakeSigstore(t *testing.T) *fakeSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSigstore{t: t, vs: vs, root: rootCert, inter: inter, interKey: interKey, subject: "ci@example.com"}
	f.token = fakeJWT(t, map[string]any{"iss": fakeIssuer, "sub": "123", "email": f.subject, "email_verified": true, "aud": "sigstore"})
	f.fulcio = httptest.NewServer(http.HandlerFunc(f.serveFulcio))
	f.rekor = httptest.NewServer(http.HandlerFunc(f.serveRekor))
	t.Cleanup(f.fulcio.Close)
	t.Cleanup(f.rekor.Close)
	return f
}

func fakeJWT(t *testing.T, claims map[string]any) string {
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(body) + "." + enc([]byte("not-checked-by-the-fake"))
}

// serveFulcio is POST /api/v2/signingCert. A wrong token is refused with
// a body that echoes it, as a careless server might.
func (f *fakeSigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	f.fulcioCalls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		http.Error(w, "invalid token "+strings.TrimPrefix(got, "Bearer "), http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	blk, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if blk == nil {
		http.Error(w, "no PEM public key", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	h := sha256.Sum256([]byte(f.subject))
	if !ok || !ecdsa.VerifyASN1(ec, h[:], pop) {
		http.Error(w, "proof of possession does not verify", http.StatusBadRequest)
		return
	}
	// The certificate Fulcio issues: email SAN, OIDC issuer extension
	// (1.3.6.1.4.1.57264.1.1), code signing, ten minutes.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{
			Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(fakeIssuer),
		}},
		EmailAddresses: []string{f.subject},
	}
	der, err := x509.CreateCertificate(nil, tmpl, f.inter, pub, f.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	pemOf := func(d []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})) }
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{
		"chain": map[string]any{"certificates": []string{pemOf(der), pemOf(f.inter.Raw), pemOf(f.root.Raw)}},
	}})
}

// serveRekor is POST /api/v1/log/entries: it canonicalizes the proposed
// entry with Rekor's own types (which verifies the DSSE signature against
// the certificate) and answers with a signed entry timestamp and a
// one-leaf inclusion proof from the virtual Sigstore's log key.
func (f *fakeSigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	f.rekorCalls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	fail := func(code int, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": err.Error()})
	}
	pe, err := models.UnmarshalProposedEntry(http.MaxBytesReader(w, r.Body, 1<<20), runtime.JSONConsumer())
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	logID, err := f.vs.RekorLogID()
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	b64 := base64.StdEncoding.EncodeToString(body)
	now, idx := time.Now().Unix(), int64(0)
	set, err := f.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: now, LogIndex: idx, LogID: logID})
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	proof, err := f.vs.GetInclusionProof(body)
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	uuid := hex.EncodeToString(leaf[:])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(models.LogEntry{uuid: models.LogEntryAnon{
		Body: b64, IntegratedTime: &now, LogID: &logID, LogIndex: &idx,
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: set, InclusionProof: proof},
	}})
}

// trustedRootFile writes the fake's trust material as a trusted_root.json
// (Fulcio CA and Rekor key; no CT logs, see fakeSigstore).
func (f *fakeSigstore) trustedRootFile(t *testing.T) string {
	t.Helper()
	return sigstoretest.WriteTrustedRoot(t, t.TempDir(), []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root: f.root, Intermediates: []*x509.Certificate{f.inter}, URI: f.fulcio.URL,
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour),
	}}, f.vs)
}

func (f *fakeSigstore) options(trustedRoot string) KeylessOptions {
	return KeylessOptions{IDToken: f.token, FulcioURL: f.fulcio.URL, RekorURL: f.rekor.URL, TrustedRootPath: trustedRoot, Timeout: 20 * time.Second}
}

func TestSignKeylessFakeSigstore(t *testing.T) {
	f := newFakeSigstore(t)
	trp := f.trustedRootFile(t)
	dir := makeModel(t, "m", map[string]string{"model.safetensors": "weights", "config.json": "{}"})
	m, out, err := Sign(dir, SignOptions{Keyless: true, KeylessOpts: f.options(trp)})
	if err != nil {
		t.Fatalf("keyless signing: %v", err)
	}
	if f.fulcioCalls.Load() != 1 || f.rekorCalls.Load() != 1 {
		t.Errorf("Fulcio called %d times, Rekor %d, want 1 and 1", f.fulcioCalls.Load(), f.rekorCalls.Load())
	}
	if len(m.Resources) != 2 {
		t.Errorf("manifest has %d resources", len(m.Resources))
	}
	written, err := os.ReadFile(filepath.Join(dir, DefaultSignatureName))
	if err != nil || string(written) != string(out) {
		t.Fatalf("model.sig not written as returned (err %v)", err)
	}
	if id, iss, err := KeylessSigner(out); err != nil || id != f.subject || iss != fakeIssuer {
		t.Errorf("KeylessSigner = %q %q %v", id, iss, err)
	}

	// The whole user-facing check, from files only.
	trust := TrustOptions{Identity: f.subject, Issuer: fakeIssuer, TrustedRootPath: trp}
	res, err := Verify(dir, Options{Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.Signer.Method != MethodKeyless || res.Signer.Identity != f.subject || res.Signer.SignedAt.IsZero() {
		t.Fatalf("keyless model.sig did not verify: %+v signer %+v", res.Problems, res.Signer)
	}
	for _, c := range []struct {
		name string
		mod  func(*TrustOptions)
	}{
		{"other-identity", func(o *TrustOptions) { o.Identity = "mallory@example.com" }},
		{"other-issuer", func(o *TrustOptions) { o.Issuer = "https://accounts.evil.example" }},
		{"other-trusted-root", func(o *TrustOptions) { o.TrustedRootPath = newFakeSigstore(t).trustedRootFile(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := trust
			c.mod(&o)
			res, err := Verify(dir, Options{Trust: o})
			if err != nil || res.Verified {
				t.Fatalf("verified under the wrong trust (err %v)", err)
			}
		})
	}

	// Same statement as the key method: sign the same folder with a key
	// (same signature path, so the same ignore_paths) and compare.
	env, err := VerifyBundle(out, trust)
	if err != nil {
		t.Fatal(err)
	}
	_, keyOut, err := Sign(dir, SignOptions{Key: newECKey(t, elliptic.P256())})
	if err != nil {
		t.Fatal(err)
	}
	var kb struct {
		DsseEnvelope struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(keyOut, &kb); err != nil {
		t.Fatal(err)
	}
	if string(kb.DsseEnvelope.Payload) != string(env.Payload) {
		t.Errorf("keyless statement differs from the key method's:\n%s\n---\n%s", env.Payload, kb.DsseEnvelope.Payload)
	}
}

// Refusals: each must fail before writing anything, and never show the
// token.
func TestSignKeylessRefusals(t *testing.T) {
	f := newFakeSigstore(t)
	trp := f.trustedRootFile(t)
	otherRoot := newFakeSigstore(t).trustedRootFile(t)
	for _, c := range []struct {
		name    string
		mod     func(*SignOptions)
		want    string
		wantErr error
		network bool // the fake services are reached before the refusal
	}{
		{name: "no-token", mod: func(o *SignOptions) { o.KeylessOpts.IDToken = "  " }, wantErr: ErrNoIDToken, want: "SIGSTORE_ID_TOKEN"},
		{name: "token-is-a-file-name", mod: func(o *SignOptions) { o.KeylessOpts.IDToken = "token.txt" }, want: "not a JWT"},
		{name: "with-a-key-too", mod: func(o *SignOptions) { o.Key = newECKey(t, elliptic.P256()) }, want: "do not also give --key"},
		{name: "token-over-plain-http", mod: func(o *SignOptions) { o.KeylessOpts.FulcioURL = "http://fulcio.example.com" }, want: "clear text"},
		{name: "rekor-over-ftp", mod: func(o *SignOptions) { o.KeylessOpts.RekorURL = "ftp://rekor.example.com" }, want: "https"},
		{name: "url-with-query", mod: func(o *SignOptions) { o.KeylessOpts.FulcioURL = f.fulcio.URL + "?x=1" }, want: "base URL only"},
		{name: "unreadable-trusted-root", mod: func(o *SignOptions) { o.KeylessOpts.TrustedRootPath = filepath.Join(t.TempDir(), "nope.json") }, want: "nope.json"},
		{name: "fulcio-refuses-the-token", mod: func(o *SignOptions) {
			o.KeylessOpts.IDToken = fakeJWT(t, map[string]any{"iss": fakeIssuer, "email": "x@example.com", "email_verified": true})
		}, want: "401", network: true},
		{name: "fulcio-down", mod: func(o *SignOptions) { o.KeylessOpts.FulcioURL = f.rekor.URL }, want: "Fulcio", network: true},
		{name: "signed-but-not-under-the-given-root", mod: func(o *SignOptions) { o.KeylessOpts.TrustedRootPath = otherRoot }, want: "was not written", network: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.fulcioCalls.Store(0)
			f.rekorCalls.Store(0)
			dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
			o := SignOptions{Keyless: true, KeylessOpts: f.options(trp)}
			c.mod(&o)
			_, _, err := Sign(dir, o)
			if err == nil {
				t.Fatal("signed")
			}
			t.Logf("refused: %v", err)
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("err %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if tok := o.KeylessOpts.IDToken; len(strings.TrimSpace(tok)) > 20 && strings.Contains(err.Error(), tok) {
				t.Errorf("error shows the identity token: %v", err)
			}
			var ue *UsageError
			if !c.network && !errors.As(err, &ue) {
				t.Errorf("a refusal before any network use is not a *UsageError: %T", err)
			}
			if calls := f.fulcioCalls.Load() + f.rekorCalls.Load(); !c.network && calls != 0 {
				t.Errorf("%d network calls before a refusal that needs none", calls)
			}
			if _, err := os.Stat(filepath.Join(dir, DefaultSignatureName)); err == nil {
				t.Error("model.sig written after a failure")
			}
		})
	}
}

func TestServiceURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", DefaultFulcioURL},
		{"https://fulcio.example.com/", "https://fulcio.example.com"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://localhost:1", "http://localhost:1"},
		{"http://10.0.0.1", ""},
		{"http://127.0.0.1.evil.example", ""},
		{"https://user:pw@fulcio.example.com", ""},
		{"fulcio.example.com", ""},
	} {
		got, err := serviceURL("Fulcio", c.in, DefaultFulcioURL)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q accepted as %q", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
