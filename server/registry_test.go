package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/modelvet/modelvet/oci"
	"github.com/modelvet/modelvet/oci/ocitest"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/policy/checks"
	"github.com/modelvet/modelvet/report"
)

const regToken = "registry-notify-token-0123456789"

// regEnv is a loopback distribution registry whose push notifications go
// to a serve handler with registry admission, promoting into
// REGISTRY/promoted on the same registry.
type regEnv struct {
	host   string // registry host:port
	url    string // the serve handler's base URL
	srv    *Server
	log    string // decision log path
	key    *ecdsa.PrivateKey
	checks atomic.Int64 // checks run, by any digest
	mu     sync.Mutex
	byRef  map[string]int // checks run per reference
}

// ociCheck is what serve runs per push: oci.Check under the gate.
func ociCheck(g *policy.Gate) func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
	return func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
		return oci.Check(ctx, ref, g, oci.Options{Insecure: true})
	}
}

func newRegEnv(t *testing.T, mod func(*Admission)) *regEnv {
	t.Helper()
	e := &regEnv{byRef: map[string]int{}, log: filepath.Join(t.TempDir(), "decisions.jsonl")}
	var h atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hh, ok := h.Load().(http.Handler); ok {
			hh.ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	e.url = hook.URL
	e.host = ocitest.DistributionWith(t, hook.URL+"/v1/registry/events", http.Header{"Authorization": {"Bearer " + regToken}})
	e.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := oci.LoadSigner(e.key)
	if err != nil {
		t.Fatal(err)
	}
	g := &policy.Gate{Policy: policy.Default(), Signature: checks.Signature, Provenance: checks.Provenance, OnePass: checks.OnePass{}, Hash: true}
	check := ociCheck(g)
	adm := &Admission{Registry: e.host, Promote: e.host + "/promoted", Signer: signer, OCI: oci.Options{Insecure: true},
		DecisionLog: e.log, PolicyDigest: "sha256:" + strings.Repeat("0", 64),
		Check: func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
			e.checks.Add(1)
			e.mu.Lock()
			e.byRef[ref]++
			e.mu.Unlock()
			return check(ctx, ref)
		}}
	if mod != nil {
		mod(adm)
	}
	s, err := New(Config{Gate: g, Tokens: []string{regToken}, Admission: adm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(5 * time.Second) })
	e.srv = s
	h.Store(s.Handler())
	return e
}

func (e *regEnv) post(t *testing.T, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/v1/registry/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", EventsMediaType)
	req.Header.Set("Authorization", "Bearer "+regToken)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// decision polls GET /v1/registry/decisions/{digest} until it is decided.
func (e *regEnv) decision(t *testing.T, dg string) Decision {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", e.url+"/v1/registry/decisions/"+dg, nil)
		req.Header.Set("Authorization", "Bearer "+regToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var d Decision
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("decision %s: %v\n%s", dg, err, b)
			}
			return d
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusAccepted {
			t.Fatalf("decision %s: %d %s", dg, resp.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision about %s within 30 s (last answer %d %s)", dg, resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logLines reads the decision log.
func (e *regEnv) logLines(t *testing.T) []Decision {
	t.Helper()
	f, err := os.Open(e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Decision
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d Decision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("decision log line %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	return out
}

func (e *regEnv) metrics(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+regToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func pushClean(t *testing.T, ref string) string {
	return ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
}

func pushEvil(t *testing.T, ref string) string {
	return ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))})
}

// verifiedVerdicts returns the verdict predicates attached to ref that
// cosign's own verifier (cosign verify-attestation --key PUB
// --insecure-ignore-tlog --type <predicate>) accepts with pub.
func verifiedVerdicts(t *testing.T, ref string, pub *ecdsa.PublicKey) ([]oci.Verdict, error) {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadECDSAVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	atts, _, err := cosign.VerifyImageAttestations(context.Background(), d, &cosign.CheckOpts{
		SigVerifier: v, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign.IntotoSubjectClaimVerifier,
		RegistryClientOpts: []ociremote.Option{},
	})
	if err != nil {
		return nil, err
	}
	var out []oci.Verdict
	for _, a := range atts {
		env, err := a.Payload()
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Payload string }
		json.Unmarshal(env, &e)
		st, _ := base64.StdEncoding.DecodeString(e.Payload)
		var s struct {
			PredicateType string
			Subject       []struct{ Digest map[string]string }
			Predicate     oci.Verdict
		}
		if err := json.Unmarshal(st, &s); err != nil {
			t.Fatal(err)
		}
		if s.PredicateType != oci.VerdictPredicateType || len(s.Subject) != 1 || "sha256:"+s.Subject[0].Digest["sha256"] != d.DigestStr() {
			t.Fatalf("attestation statement %s", st)
		}
		out = append(out, s.Predicate)
	}
	return out, nil
}

// TestRegistryAdmissionEndToEnd is the bar: distribution v3 notifies the
// serve handler of pushes made with a client library; the clean model
// is promoted with a verdict attestation cosign's verifier accepts (with
// the service's key only), the malicious one is not promoted and its
// rejection is in the decision log and the decisions endpoint. The
// service's own promotion pushes and cosign's .att pushes come back as
// notifications and are ignored, not checked.
func TestRegistryAdmissionEndToEnd(t *testing.T) {
	e := newRegEnv(t, nil)
	clean := pushClean(t, e.host+"/org/model:v1")
	bad := pushEvil(t, e.host+"/org/model:bad")

	dc := e.decision(t, clean)
	if dc.Verdict != "admitted" || dc.Promoted != oci.Scheme+e.host+"/promoted/org/model@"+clean || dc.Tag != "v1" {
		t.Fatalf("clean model: %+v", dc)
	}
	db := e.decision(t, bad)
	if db.Verdict != "rejected" || db.Promoted != "" || len(db.Reasons) == 0 || db.Findings["critical"] == 0 {
		t.Fatalf("malicious model: %+v", db)
	}
	if !strings.Contains(fmt.Sprint(db.Reasons), "dangerous-import") && !strings.Contains(fmt.Sprint(db.Reasons), "critical") {
		t.Errorf("the rejection's reasons do not say why: %+v", db.Reasons)
	}

	// The clean one is in the promotion repository under its tag, same
	// digest, with a verdict only the service's key verifies.
	p, err := oci.Pull(context.Background(), oci.Scheme+e.host+"/promoted/org/model:v1", oci.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if p.Digest != clean {
		t.Fatalf("promoted digest %s, pushed %s", p.Digest, clean)
	}
	vs, err := verifiedVerdicts(t, e.host+"/promoted/org/model@"+clean, &e.key.PublicKey)
	if err != nil || len(vs) != 1 {
		t.Fatalf("cosign's verifier: %v (%d verdicts)", err, len(vs))
	}
	if v := vs[0]; v.Verdict != "admitted" || v.Source != oci.Scheme+e.host+"/org/model@"+clean || v.PolicyDigest == "" || v.Tool != "modelvet" {
		t.Errorf("verdict predicate %+v", v)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if vs, err := verifiedVerdicts(t, e.host+"/promoted/org/model@"+clean, &other.PublicKey); err == nil || len(vs) != 0 {
		t.Fatalf("the verdict verified with another key: %v", vs)
	}

	// The malicious one is nowhere in the promotion repository.
	for _, ref := range []string{e.host + "/promoted/org/model:bad", e.host + "/promoted/org/model@" + bad} {
		if a, err := oci.Pull(context.Background(), oci.Scheme+ref, oci.Options{Insecure: true}); err == nil {
			a.Close()
			t.Fatalf("the rejected model was promoted: %s", ref)
		}
	}

	// The decision log holds both, synced before the endpoint answered.
	got := map[string]string{}
	for _, d := range e.logLines(t) {
		got[d.Digest] = d.Verdict
	}
	if got[clean] != "admitted" || got[bad] != "rejected" {
		t.Fatalf("decision log %v", got)
	}

	// The promotion's own pushes (manifest, .att) were notified too;
	// give them time to arrive, and check they were ignored, not checked.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.metrics(t), `modelvet_registry_pushes_total{result="ignored"} 2`) {
		if time.Now().After(deadline) {
			t.Fatalf("the promotion's pushes were not ignored:\n%s", e.metrics(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.checks.Load(); n != 2 {
		t.Errorf("%d checks ran for 2 pushed models", n)
	}
	m := e.metrics(t)
	for _, want := range []string{`modelvet_registry_decisions_total{verdict="admitted"} 1`, `modelvet_registry_decisions_total{verdict="rejected"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}
}

// waitPromoted waits until ref (registry/repo:tag) names digest.
func waitPromoted(t *testing.T, ref, digest string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := oci.Pull(context.Background(), oci.Scheme+ref, oci.Options{Insecure: true})
		if err == nil {
			a.Close()
			if a.Digest != digest {
				t.Fatalf("%s is %s, want %s", ref, a.Digest, digest)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not promoted: %v", ref, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func envelope(repo, digest, tag string) []byte {
	return []byte(fmt.Sprintf(`{"events":[{"id":"x","timestamp":"2026-01-01T00:00:00Z","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":100,"digest":%q,"repository":%q,"tag":%q,"url":"http://attacker.example/v2/x"},"request":{"host":"attacker.example"}}]}`, digest, repo, tag))
}

// TestRegistryEvents: the endpoint's answers to what a registry (or an
// attacker) may send: replayed and duplicate notifications check a digest
// once; a digest that no longer exists is an error decision, not
// promoted and checked again on the next push; an unauthenticated
// request is 401; an oversized body 413; another media type 415; a full
// queue 503 with Retry-After (the registry resends); signature tags and
// the promotion repository are ignored.
func TestRegistryEvents(t *testing.T) {
	t.Run("replayed and duplicate events check a digest once", func(t *testing.T) {
		e := newRegEnv(t, nil)
		dg := pushClean(t, e.host+"/org/dup:v1")
		if d := e.decision(t, dg); d.Verdict != "admitted" {
			t.Fatalf("%+v", d)
		}
		// The same digest under another tag, and the same envelope replayed.
		ocitest.Push(t, e.host+"/org/dup:v2", ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
			[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
		// The new tag is given to the promoted copy, without a new check.
		waitPromoted(t, e.host+"/promoted/org/dup:v2", dg)
		for i := 0; i < 3; i++ {
			for _, tag := range []string{"v1", "v2"} {
				resp, body := e.post(t, envelope("org/dup", dg, tag), nil)
				if resp.StatusCode != http.StatusAccepted || !strings.Contains(body, "0 queued, 1 already seen") {
					t.Fatalf("replay %d of %s: %d %s", i, tag, resp.StatusCode, body)
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
		e.mu.Lock()
		n := e.byRef[oci.Scheme+e.host+"/org/dup@"+dg]
		e.mu.Unlock()
		if n != 1 {
			t.Fatalf("the digest was checked %d times", n)
		}
		// A restarted service (same decision log) does not check it again.
		s2, err := New(Config{Gate: e.srv.cfg.Gate, Tokens: []string{regToken}, Admission: &Admission{Registry: e.host, DecisionLog: e.log,
			Check: func(context.Context, string) (*report.Report, *oci.Artifact, error) {
				t.Error("a decided digest was checked again after a restart")
				return nil, nil, fmt.Errorf("no")
			}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close(time.Second)
		if r := s2.adm.offer(oci.Push{Repository: "org/dup", Digest: dg, Tag: "v1"}); r != offerDuplicate {
			t.Fatalf("after a restart the decided push was %v, not a duplicate", r)
		}
		if d, ok := s2.adm.decs.lookup(dg); !ok || d.Verdict != "admitted" {
			t.Fatalf("after a restart the decision is %+v", d)
		}
	})

	t.Run("a tag pushed while the digest is being checked is promoted too", func(t *testing.T) {
		gate := make(chan struct{})
		e := newRegEnv(t, func(a *Admission) {
			check := a.Check
			a.Check = func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
				<-gate
				return check(ctx, ref)
			}
		})
		dg := pushClean(t, e.host+"/org/pend:v1")
		pushClean(t, e.host+"/org/pend:v2")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(e.metrics(t), `modelvet_registry_pushes_total{result="duplicate"} 1`) {
			if time.Now().After(deadline) {
				t.Fatalf("the second tag's notification did not arrive:\n%s", e.metrics(t))
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(gate)
		if d := e.decision(t, dg); d.Verdict != "admitted" {
			t.Fatalf("%+v", d)
		}
		waitPromoted(t, e.host+"/promoted/org/pend:v1", dg)
		waitPromoted(t, e.host+"/promoted/org/pend:v2", dg)
		if n := e.checks.Load(); n != 1 {
			t.Fatalf("%d checks for one digest under two tags", n)
		}
	})

	t.Run("event for a digest that no longer exists", func(t *testing.T) {
		e := newRegEnv(t, nil)
		gone := "sha256:" + strings.Repeat("5", 64)
		resp, body := e.post(t, envelope("org/gone", gone, "v1"), nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		d := e.decision(t, gone)
		if d.Verdict != VerdictError || d.Promoted != "" || !strings.Contains(d.Error, "could not be checked") {
			t.Fatalf("%+v", d)
		}
		// The event's own URL and host (attacker.example) were not used.
		if !strings.HasPrefix(d.Source, oci.Scheme+e.host+"/") {
			t.Fatalf("checked %s, not on the configured registry", d.Source)
		}
		// An error is not a verdict: the next push of it is checked again.
		resp, body = e.post(t, envelope("org/gone", gone, "v1"), nil)
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(body, "1 queued") {
			t.Fatalf("retry: %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.checks.Load() < 2 {
			if time.Now().After(deadline) {
				t.Fatal("the second push of a digest that errored was not checked")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("requests refused", func(t *testing.T) {
		e := newRegEnv(t, nil)
		dg := "sha256:" + strings.Repeat("a", 64)
		big := append([]byte(`{"events":[`), bytes.Repeat([]byte(" "), maxEventsBody)...)
		cases := []struct {
			name string
			body []byte
			hdr  map[string]string
			code int
		}{
			{"no token", envelope("org/m", dg, "v1"), map[string]string{"Authorization": ""}, http.StatusUnauthorized},
			{"wrong token", envelope("org/m", dg, "v1"), map[string]string{"Authorization": "Bearer not-the-registry-token-000"}, http.StatusUnauthorized},
			{"oversized body", big, nil, http.StatusRequestEntityTooLarge},
			{"plain JSON media type", envelope("org/m", dg, "v1"), map[string]string{"Content-Type": "application/json"}, http.StatusUnsupportedMediaType},
			{"duplicate key", []byte(`{"events":[],"events":[]}`), nil, http.StatusBadRequest},
		}
		for _, tc := range cases {
			resp, body := e.post(t, tc.body, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.code)
			}
		}
		req, _ := http.NewRequest("GET", e.url+"/v1/registry/decisions/"+dg, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("decisions without a token: %d", resp.StatusCode)
		}
		if n := e.checks.Load(); n != 0 {
			t.Errorf("refused requests ran %d checks", n)
		}
	})

	t.Run("not models and own pushes ignored", func(t *testing.T) {
		e := newRegEnv(t, nil)
		dg := "sha256:" + strings.Repeat("b", 64)
		for _, ev := range [][]byte{
			envelope("org/m", dg, "sha256-"+strings.Repeat("c", 64)+".sig"),
			envelope("org/m", dg, "sha256-"+strings.Repeat("c", 64)+".att"),
			envelope("promoted/org/m", dg, "v1"),
			envelope("promoted", dg, "v1"),
			envelope("Org/UPPER", dg, "v1"), // not a valid repository name
		} {
			resp, body := e.post(t, ev, nil)
			if resp.StatusCode != http.StatusAccepted || !strings.Contains(body, "1 ignored") {
				t.Errorf("%s: %d %s", ev, resp.StatusCode, body)
			}
		}
		if n := e.checks.Load(); n != 0 {
			t.Errorf("%d checks ran for pushes that are not models", n)
		}
	})

	t.Run("cosign signatures on a pushed model are never promoted", func(t *testing.T) {
		e := newRegEnv(t, nil)
		dg := pushClean(t, e.host+"/org/sig:v1")
		if d := e.decision(t, dg); d.Verdict != "admitted" {
			t.Fatalf("%+v", d)
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ocitest.CosignSign(t, e.host+"/org/sig@"+dg, key)         // the .sig tag: ignored
		ocitest.CosignSignReferrer(t, e.host+"/org/sig@"+dg, key) // by digest: checked, holds no model
		deadline := time.Now().Add(20 * time.Second)
		var ref Decision
		for ref.Digest == "" {
			for _, d := range e.logLines(t) {
				if d.Repository == "org/sig" && d.Digest != dg {
					ref = d
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no decision about the referrer:\n%s", e.metrics(t))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if ref.Verdict != "rejected" || ref.Promoted != "" {
			t.Fatalf("the signature referrer: %+v", ref)
		}
		if n := e.checks.Load(); n != 2 {
			t.Errorf("%d checks: the model and the referrer, not the .sig tag", n)
		}
	})

	t.Run("a check that panics is an error decision, and the worker goes on", func(t *testing.T) {
		e := newRegEnv(t, func(a *Admission) {
			a.Workers = 1
			a.Check = func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
				panic("analyzer bug")
			}
		})
		for _, c := range []string{"7", "8"} {
			dg := "sha256:" + strings.Repeat(c, 64)
			e.post(t, envelope("org/p", dg, "v1"), nil)
			if d := e.decision(t, dg); d.Verdict != VerdictError || !strings.Contains(d.Error, "analyzer bug") {
				t.Fatalf("%+v", d)
			}
		}
	})

	t.Run("full queue answers 503", func(t *testing.T) {
		release := make(chan struct{})
		e := newRegEnv(t, func(a *Admission) {
			a.Workers, a.Queue = 1, 1
			a.Check = func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil, nil, fmt.Errorf("test: not checked")
			}
		})
		defer close(release)
		d := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
		// One running, one waiting: the third does not fit.
		e.post(t, envelope("org/q", d('1'), "v1"), nil)
		deadline := time.Now().Add(5 * time.Second)
		for len(e.srv.adm.queue) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the worker did not take the first push")
			}
			time.Sleep(10 * time.Millisecond)
		}
		e.post(t, envelope("org/q", d('2'), "v1"), nil)
		resp, body := e.post(t, envelope("org/q", d('3'), "v1"), nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("full queue: %d %s", resp.StatusCode, body)
		}
		// What did not fit is not remembered: the resent notification is queued.
		if r := e.srv.adm.decs.claim("org/q@"+d('3'), d('3'), "v1"); r != claimNew {
			t.Fatal("a dropped push was remembered as seen; the registry's resend would be ignored")
		}
	})
}
