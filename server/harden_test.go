package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/policy"
)

// The request body is one JSON object with exactly the key "model".
func TestStrictRequestJSON(t *testing.T) {
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root})
	cases := []struct {
		name string
		body string
		code int
	}{
		{"exact request", `{"model":"org/clean"}`, 200},
		{"trailing whitespace", "{\"model\":\"org/clean\"}\r\n ", 200},
		{"key in capitals (encoding/json folds case)", `{"MODEL":"org/clean"}`, 400},
		{"key with a long s that folds to s", `{"mode\u017f":"org/clean"}`, 400},
		{"escaped spelling of the key", `{"mod\u0065l":"org/clean"}`, 200},
		{"duplicate key naming two models", `{"model":"org/clean","model":"org/malicious"}`, 400},
		{"second document after the first", `{"model":"org/clean"}{"model":"org/malicious"}`, 400},
		{"unknown key", `{"model":"org/clean","force":true}`, 400},
		{"name as a number", `{"model":1}`, 400},
		{"array instead of object", `["org/clean"]`, 400},
		{"invalid UTF-8 in the name", "{\"model\":\"org/\xff\"}", 400},
		{"lone surrogate in the name", `{"model":"org/\ud800"}`, 400},
		{"empty body", ``, 400},
		{"nested object", `{"model":{"name":"org/clean"}}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := post(t, url, "application/json", []byte(c.body))
			if a.code != c.code {
				t.Fatalf("status %d, want %d: %.300s", a.code, c.code, a.raw)
			}
		})
	}
}

// Names select one model folder: not the root, not a parent of models,
// not a file, never through a link.
func TestModelFolderNames(t *testing.T) {
	f := newFixture(t)
	os.Symlink(filepath.Join(f.root, "org", "clean"), filepath.Join(f.root, "org", "alias"))
	cases := []struct {
		name      string
		model     string
		anyFolder bool
		code      int
	}{
		{"a model folder", "org/clean", false, 200},
		{"a parent of several models", "org", false, 400},
		{"a parent with --any-folder", "org", true, 200},
		{"a single file", "org/clean/config.json", false, 400},
		{"a link inside the root to a model", "org/alias", false, 403},
		{"a link out of the root", "org/escape", false, 403},
		{"the root by absolute path", f.root, false, 400},
		{"the root by dot", "./", false, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, AnyFolder: c.anyFolder})
			a := post(t, url, "application/json", byName(c.model))
			if a.code != c.code {
				t.Fatalf("status %d, want %d: %.300s", a.code, c.code, a.raw)
			}
		})
	}
}

// Bearer tokens: missing or wrong is 401 for checks and metrics; the
// health probe stays open.
func TestBearerTokens(t *testing.T) {
	f := newFixture(t)
	good := "tok-0123456789abcdef"
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, Tokens: []string{"other-token-000000000", good}})
	do := func(path, auth string) int {
		method := http.MethodGet
		var body []byte
		if path == "/v1/check" {
			method, body = http.MethodPost, byName("org/clean")
		}
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name, path, auth string
		code             int
	}{
		{"check without a token", "/v1/check", "", 401},
		{"check with a wrong token", "/v1/check", "Bearer tok-0123456789abcdeX", 401},
		{"check with a token prefix", "/v1/check", "Bearer tok-0123456789", 401},
		{"check with Basic auth", "/v1/check", "Basic dG9rOnRvaw==", 401},
		{"check with the second token", "/v1/check", "Bearer " + good, 200},
		{"metrics without a token", "/metrics", "", 401},
		{"metrics with a token", "/metrics", "Bearer " + good, 200},
		{"health without a token", "/healthz", "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := do(c.path, c.auth); got != c.code {
				t.Errorf("status %d, want %d", got, c.code)
			}
		})
	}
	if _, err := New(Config{Gate: realGate(f.policy), Tokens: []string{"short"}}); err == nil {
		t.Error("a 5-character token was accepted")
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokens")
	os.WriteFile(p, []byte("# ci\nAAAAAAAAAAAAAAAAAAAA\n\n  BBBBBBBBBBBBBBBBBBBB  \n"), 0o600)
	toks, err := LoadTokens(p)
	if err != nil || len(toks) != 2 || toks[1] != "BBBBBBBBBBBBBBBBBBBB" {
		t.Fatalf("%q %v", toks, err)
	}
	if unixPerms {
		os.Chmod(p, 0o644)
		if _, err := LoadTokens(p); err == nil {
			t.Error("a token file readable by others was accepted")
		}
	}
	os.WriteFile(p, []byte("# nothing\n"), 0o600)
	if _, err := LoadTokens(p); err == nil {
		t.Error("an empty token file was accepted")
	}
}

// A client certificate from the configured CA is required by the
// handshake; a client without one never reaches the handler.
func TestClientCertificates(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, usage x509.ExtKeyUsage, ip bool) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	srvCert := issue("modelvet", x509.ExtKeyUsageServerAuth, true)
	write := func(name string, blocks ...*pem.Block) string {
		var b bytes.Buffer
		for _, bl := range blocks {
			pem.Encode(&b, bl)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o600)
		return p
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvCert.PrivateKey.(*ecdsa.PrivateKey))
	certFile := write("srv.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srvCert.Certificate[0]})
	keyFile := write("srv.key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	caFile := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	tc, err := TLSConfig(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, TLS: tc})
	url = strings.Replace(url, "http://", "https://", 1)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientWith := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
	}
	if resp, err := clientWith().Post(url+"/v1/check", "application/json", bytes.NewReader(byName("org/clean"))); err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate got %d", resp.StatusCode)
	}
	resp, err := clientWith(issue("ci-runner", x509.ExtKeyUsageClientAuth, false)).Post(url+"/v1/check", "application/json", bytes.NewReader(byName("org/clean")))
	if err != nil {
		t.Fatalf("a client with a certificate from the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a client with a certificate from the CA: %d", resp.StatusCode)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(strings.Replace(url, "https://", "http://", 1)+"/v1/check", "application/json", bytes.NewReader(byName("org/clean"))); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was answered on the TLS port")
		}
	}
}

func TestCheckExposure(t *testing.T) {
	cases := []struct {
		name                string
		addr                string
		tls, auth, insecure bool
		ok                  bool
	}{
		{"loopback IPv4", "127.0.0.1:8479", false, false, false, true},
		{"loopback IPv6", "[::1]:8479", false, false, false, true},
		{"localhost", "localhost:8479", false, false, false, true},
		{"every interface", ":8479", false, false, false, false},
		{"every interface, explicit", "0.0.0.0:8479", false, false, false, false},
		{"a LAN address with TLS only", "10.0.0.5:8479", true, false, false, false},
		{"a LAN address with a token only", "10.0.0.5:8479", false, true, false, false},
		{"a LAN address with TLS and auth", "10.0.0.5:8479", true, true, false, true},
		{"a host name with --insecure", "models.internal:8479", false, false, true, true},
		{"a host name", "models.internal:8479", false, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckExposure(c.addr, c.tls, c.auth, c.insecure); (err == nil) != c.ok {
				t.Errorf("err %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// What a killed run left in the private temporary folder is removed at
// start; other files are left alone. A shared folder is refused.
func TestTempFolder(t *testing.T) {
	f := newFixture(t)
	tmp := privateTemp(t)
	os.Mkdir(tmp, 0o700)
	os.MkdirAll(filepath.Join(tmp, uploadPrefix+"123", "model"), 0o700)
	os.WriteFile(filepath.Join(tmp, uploadPrefix+"123", "model", "w.bin"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(tmp, "modelvet-member-99"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(tmp, "keep.txt"), []byte("x"), 0o600)
	if _, err := New(Config{Gate: realGate(f.policy), TempDir: tmp}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(tmp)
	if len(ents) != 1 || ents[0].Name() != "keep.txt" {
		t.Errorf("after start the folder holds %v", ents)
	}
	if unixPerms {
		shared := t.TempDir()
		os.Chmod(shared, 0o1777)
		if _, err := New(Config{Gate: realGate(f.policy), TempDir: shared}); err == nil {
			t.Error("a world-writable temporary folder was accepted")
		}
	}
	url, _ := startServer(t, Config{Gate: realGate(f.policy)})
	if a := post(t, url, "application/x-tar", tarOf(t, member{name: "a.bin", body: []byte("x")})); a.code != 403 {
		t.Errorf("upload without --tmp: %d", a.code)
	}
}

// Per-client limits: one client's burst is turned away with 429 while
// another client is served.
func TestClientLimits(t *testing.T) {
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, Tokens: []string{"client-a-0000000000", "client-b-0000000000"},
		Clients: ClientLimits{Concurrent: 4, Rate: 1, Burst: 2}})
	send := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/check", bytes.NewReader(byName("org/clean")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{send("client-a-0000000000"), send("client-a-0000000000"), send("client-a-0000000000")}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("client a: %v, want [200 200 429] (burst 2)", got)
	}
	if c := send("client-b-0000000000"); c != 200 {
		t.Errorf("client b after a's burst: %d", c)
	}
}

// Unusable trust material is the service's failure (500), never a
// verdict; a client that leaves is 499, not 500; the counters add up to
// the requests sent; queue time is kept apart from check time.
func TestMetricsAndErrors(t *testing.T) {
	f := newFixture(t)
	p, _ := policy.Parse("policy.yaml", []byte("signature:\n  required: true\n  keys: [k.pub]\n"))
	trustErr := &policy.Gate{Policy: p, Signature: func(ctx context.Context, dir string, p *policy.Policy) (*policy.Outcome, error) {
		return nil, errors.New("trusted_root.json: malformed JSON at byte 3")
	}}
	url, _ := startServer(t, Config{Gate: trustErr, Root: f.root})
	if a := post(t, url, "application/json", byName("org/clean")); a.code != 500 || !strings.Contains(a.err, "trusted_root.json") {
		t.Errorf("trust material error: %d %s", a.code, a.raw)
	}

	release := make(chan struct{})
	started := make(chan struct{}, 4)
	url, s := startServer(t, Config{Gate: blockingGate(t, release, started), Root: f.root, MaxConcurrent: 1})
	// A client that gives up while its check runs.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/check", bytes.NewReader(byName("org/clean")))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(get(t, url+"/metrics"), `code="499"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned request was not counted as 499:\n%s", get(t, url+"/metrics"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	sent := 0
	for _, name := range []string{"org/clean", "org/clean", "org/nope", "../x", "org"} {
		post(t, url, "application/json", byName(name))
		sent++
	}
	post(t, url, "text/plain", []byte("x"))
	sent++
	m := get(t, url+"/metrics")
	for _, want := range []string{
		`modelvet_check_responses_total{code="200"} 2`,
		`modelvet_check_responses_total{code="400"} 1`,
		`modelvet_check_responses_total{code="403"} 1`,
		`modelvet_check_responses_total{code="404"} 1`,
		`modelvet_check_responses_total{code="415"} 1`,
		`modelvet_check_responses_total{code="499"} 1`,
		`modelvet_checks_total{verdict="admitted"} 2`,
		`modelvet_check_errors_total 5`,
		`modelvet_check_duration_seconds_count 2`,
		`modelvet_check_queue_seconds_count 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, `code="500"`) {
		t.Error("a client disconnect was counted as 500")
	}
	var total uint64
	for c, n := range s.m.codes {
		_ = c
		total += n
	}
	if int(total) != sent+1 {
		t.Errorf("responses counted %d, requests sent %d", total, sent+1)
	}
}

// A file that vanished under a pinned model is a conflict (the model
// changed); a missing key or trusted root stays the service's failure.
func TestVanishedVersusTrust(t *testing.T) {
	trust := []string{"/etc/modelvet/publisher.pub", "/etc/modelvet/trusted_root.json"}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"model folder moved mid-walk", &os.PathError{Op: "lstat", Path: "/srv/models/org/m", Err: os.ErrNotExist}, true},
		{"file deleted mid-check, wrapped", fmt.Errorf("cannot read the model: %w", &os.PathError{Op: "open", Path: "/proc/self/fd/9/w.bin", Err: os.ErrNotExist}), true},
		{"missing public key", fmt.Errorf("signature check: %w", &os.PathError{Op: "open", Path: "/etc/modelvet/publisher.pub", Err: os.ErrNotExist}), false},
		{"missing trusted root", &os.PathError{Op: "open", Path: "/etc/modelvet/trusted_root.json", Err: os.ErrNotExist}, false},
		{"unreadable model (permissions)", &os.PathError{Op: "open", Path: "/srv/models/org/m/w.bin", Err: os.ErrPermission}, false},
		{"malformed trusted root", errors.New("trusted_root.json: invalid JSON"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := vanished(c.err, trust); got != c.want {
				t.Errorf("vanished = %v, want %v", got, c.want)
			}
		})
	}
}
