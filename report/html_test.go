package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
)

// hostileReport carries markup where the model controls the text: a file
// name, a finding message, a signer identity.
func hostileReport() *Report {
	res := &formats.Result{Files: []*formats.FileResult{
		{Path: `m/<img src=x onerror=alert(1)>.bin`, Format: "pytorch", Size: 10, SHA256: strings.Repeat("ab", 32),
			Findings: []formats.Finding{{Rule: "pickle/dangerous-import", Severity: formats.Critical, Offset: 2,
				Member: "archive/data.pkl", Import: "os.system", Message: `calls os.system("<script>alert(2)</script>")`}}},
		{Path: "m/model.safetensors", Format: "safetensors", Findings: []formats.Finding{}},
	}}
	r := FromScan(res, formats.High)
	r.Verdict = "rejected"
	r.Reasons = []Reason{{Rule: "pickle/dangerous-import", Policy: "fail_on: high (policy.yaml:3)", Detail: "critical at m/x.bin"}}
	r.Sections = []Section{{Name: "signature", OK: false, Lines: []string{`signer "</li><a href=//evil>"`}}}
	return r
}

func TestHTMLEscapesAndIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, hostileReport(), "html", false); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<img", "<script>", "<a href"} {
		if strings.Contains(page, bad) {
			t.Errorf("unescaped model text %q in the page", bad)
		}
	}
	// No external resources: no src=, no <link>, no url(), no script.
	for _, re := range []string{`(?i)<[^>]*\s(src|href)=`, `(?i)<link`, `(?i)url\(`, `(?i)<script`, `(?i)@import`} {
		if regexp.MustCompile(re).MatchString(page) {
			t.Errorf("page matches %s: it must not load anything", re)
		}
	}
	for _, want := range []string{"REJECTED", "fail_on: high (policy.yaml:3)", "pickle/dangerous-import", "signature", "os.system", "archive/data.pkl @2"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// The page is rendered by a real browser engine and the verdict is in the
// DOM it builds; hostile text stays text.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); the HTML rendering test is skipped, the escaping test still ran")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, hostileReport()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+filepath.ToSlash(page))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium failed: %v\n%s", err, errb.String())
	}
	dom := out.String()
	if !regexp.MustCompile(`<span id="verdict" class="verdict bad">REJECTED</span>`).MatchString(dom) {
		t.Fatalf("the rendered DOM lacks the verdict:\n%.2000s", dom)
	}
	// Had escaping failed, the browser would have built an <img> element.
	if strings.Contains(dom, "<img") || strings.Contains(dom, "<script>alert") {
		t.Errorf("hostile text became markup in the rendered DOM")
	}
	if !strings.Contains(dom, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the hostile file name is not shown as text")
	}
}
