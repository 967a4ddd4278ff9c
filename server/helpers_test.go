package server

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/fsnames"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/policy/checks"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// fixture is a models root with a signed clean model, a signed malicious
// one (os.system in a pickle), an unsigned clean one and a link out of the
// root, plus a policy requiring a signature from the test key.
type fixture struct {
	root, outside, policyPath string
	policy                    *policy.Policy
}

func copyModel(t testing.TB, from, to string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ex := filepath.Join(formatstest.RepoRoot(t), "testdata", "examples")
	base := t.TempDir()
	f := &fixture{root: filepath.Join(base, "models"), outside: filepath.Join(base, "outside")}
	copyModel(t, filepath.Join(ex, "clean-model"), filepath.Join(f.root, "org", "clean"), "config.json", "model.safetensors")
	copyModel(t, filepath.Join(ex, "malicious-model"), filepath.Join(f.root, "org", "malicious"), "config.json", "pytorch_model.bin")
	copyModel(t, filepath.Join(ex, "clean-model"), filepath.Join(f.root, "org", "unsigned"), "config.json", "model.safetensors")
	copyModel(t, filepath.Join(ex, "clean-model"), f.outside, "config.json", "model.safetensors")
	if err := os.Symlink(f.outside, filepath.Join(f.root, "org", "escape")); err != nil {
		t.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"clean", "malicious"} {
		if _, _, err := verify.Sign(filepath.Join(f.root, "org", m), verify.SignOptions{Key: key}); err != nil {
			t.Fatalf("signing %s: %v", m, err)
		}
	}
	// The outside copy is signed too: refusing it must not depend on it
	// failing some other check.
	if _, _, err := verify.Sign(f.outside, verify.SignOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pdir := filepath.Join(base, "policy")
	os.MkdirAll(pdir, 0o755)
	os.WriteFile(filepath.Join(pdir, "publisher.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	f.policyPath = filepath.Join(pdir, "policy.yaml")
	os.WriteFile(f.policyPath, []byte("version: 1\nfail_on: high\nsignature:\n  required: true\n  keys: [publisher.pub]\n"), 0o644)
	if f.policy, err = policy.Load(f.policyPath); err != nil {
		t.Fatal(err)
	}
	return f
}

func realGate(p *policy.Policy) *policy.Gate {
	return &policy.Gate{Policy: p, Signature: checks.Signature, Provenance: checks.Provenance}
}

// startServer serves on an ephemeral loopback port until the test ends.
func startServer(t testing.TB, cfg Config) (string, *Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop within 10s")
		}
	})
	return "http://" + l.Addr().String(), s
}

type answer struct {
	code      int
	uploadSum string // X-Modelvet-Upload-SHA256
	rep       *report.Report
	err       string
	raw       []byte
}

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func post(t testing.TB, url, ctype string, body []byte) answer {
	t.Helper()
	resp, err := client.Post(url+"/v1/check", ctype, bytes.NewReader(body))
	if err != nil {
		t.Errorf("POST: %v", err)
		return answer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, raw: raw, uploadSum: resp.Header.Get("X-Modelvet-Upload-SHA256")}
	if resp.StatusCode == http.StatusOK {
		a.rep = &report.Report{}
		if err := json.Unmarshal(raw, a.rep); err != nil {
			t.Errorf("200 without a JSON report: %v\n%s", err, raw)
		}
	} else {
		var e errorBody
		json.Unmarshal(raw, &e)
		a.err = e.Error
	}
	return a
}

func byName(name string) []byte {
	b, _ := json.Marshal(map[string]string{"model": name})
	return b
}

type member struct {
	name     string
	body     []byte
	typeflag byte
	link     string
}

func tarOf(t testing.TB, ms ...member) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: m.typeflag, Linkname: m.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(m.body)
		}
	}
	tw.Close()
	return b.Bytes()
}

// folderMembers reads a model folder as archive members.
func folderMembers(t testing.TB, dir string) []member {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ms []member
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{name: e.Name(), body: b})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	return ms
}

func zipOf(t testing.TB, ms ...member) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range ms {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.body)
	}
	zw.Close()
	return b.Bytes()
}

// privateTemp is a --tmp folder that does not exist yet: the service
// creates it with mode 0700 (t.TempDir's folders are 0755, which the
// service refuses).
func privateTemp(t testing.TB) string {
	return filepath.Join(t.TempDir(), "tmp")
}

func hasReason(rep *report.Report, rule string) bool {
	if rep == nil {
		return false
	}
	for _, r := range rep.Reasons {
		if r.Rule == rule {
			return true
		}
	}
	return false
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
