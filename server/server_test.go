package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
)

// The end-to-end case: a clean signed model is admitted, a signed
// malicious one and an unsigned one are rejected (each for its own
// reason, traced to the policy), and names leaving the root are refused.
func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, TempDir: privateTemp(t)})
	cases := []struct {
		name       string
		model      string
		code       int
		verdict    string
		reasonRule string
		reasonRef  string
	}{
		{"clean signed model is admitted", "org/clean", 200, policy.Admitted, "", ""},
		{"signed malicious model is rejected by the scan", "org/malicious", 200, policy.Rejected, "pickle/dangerous-import", "fail_on: high (policy.yaml:2)"},
		{"unsigned model is rejected by the signature rule", "org/unsigned", 200, policy.Rejected, policy.RuleSignature, "signature.required: true (policy.yaml:4)"},
		{"dot-dot escape is refused", "../outside", 403, "", "", ""},
		{"dot-dot inside a name is refused", "org/../../outside", 403, "", "", ""},
		{"absolute path elsewhere is refused", f.outside, 403, "", "", ""},
		{"absolute path inside the root is accepted", filepath.Join(f.root, "org", "clean"), 200, policy.Admitted, "", ""},
		{"symlink out of the root is refused", "org/escape", 403, "", "", ""},
		{"windows separators are refused", `org\..\..\outside`, 400, "", "", ""},
		{"drive letter is refused", `C:/Windows`, 400, "", "", ""},
		{"missing model", "org/nope", 404, "", "", ""},
		{"the root itself is not a model", ".", 400, "", "", ""},
		{"empty name", "", 400, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := post(t, url, "application/json", byName(c.model))
			if a.code != c.code {
				t.Fatalf("status %d, want %d: %s", a.code, c.code, a.raw)
			}
			if c.code != 200 {
				if a.err == "" {
					t.Errorf("refusal without an error message: %s", a.raw)
				}
				return
			}
			if a.rep.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s: %+v", a.rep.Verdict, c.verdict, a.rep.Reasons)
			}
			if c.reasonRule != "" {
				found := false
				for _, r := range a.rep.Reasons {
					if r.Rule == c.reasonRule && r.Policy == c.reasonRef {
						found = true
					}
				}
				if !found {
					t.Errorf("no reason %s citing %q: %+v", c.reasonRule, c.reasonRef, a.rep.Reasons)
				}
			}
			for _, fr := range a.rep.Files {
				if strings.Contains(fr.Path, f.root) && !filepath.IsAbs(c.model) {
					t.Errorf("the report shows the server's path %q", fr.Path)
				}
			}
		})
	}
}

// An upload is checked like a folder and leaves nothing behind.
func TestUploads(t *testing.T) {
	f := newFixture(t)
	tmp := privateTemp(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), TempDir: tmp,
		Limits: Limits{MaxUpload: 1 << 20, MaxExtract: 2 << 20, MaxMembers: 20}})
	clean := folderMembers(t, filepath.Join(f.root, "org", "clean"))
	bad := folderMembers(t, filepath.Join(f.root, "org", "malicious"))
	unsigned := folderMembers(t, filepath.Join(f.root, "org", "unsigned"))
	many := make([]member, 21)
	for i := range many {
		many[i] = member{name: "f" + string(rune('a'+i)) + ".txt", body: []byte("x")}
	}
	// Archives that formats/archive flags at high are rejected as they
	// stand (200, verdict rejected, the archive rule as the reason), as
	// `modelvet scan` of the same file would; what only extraction
	// refuses is a 4xx.
	const tarCT, zipCT = "application/x-tar", "application/zip"
	cases := []struct {
		name    string
		ctype   string
		body    []byte
		code    int
		verdict string
		rule    string
	}{
		{"tar of the clean signed model", tarCT, tarOf(t, clean...), 200, policy.Admitted, ""},
		{"zip of the clean signed model", zipCT, zipOf(t, clean...), 200, policy.Admitted, ""},
		{"tar of the malicious model", tarCT, tarOf(t, bad...), 200, policy.Rejected, "pickle/dangerous-import"},
		{"zip of the unsigned model", zipCT, zipOf(t, unsigned...), 200, policy.Rejected, policy.RuleSignature},
		{"tar member climbing out", tarCT, tarOf(t, member{name: "../../etc/cron.d/x", body: []byte("x")}), 200, policy.Rejected, "archive/path-escape"},
		{"zip member climbing out", zipCT, zipOf(t, member{name: "../x.bin", body: []byte("x")}), 200, policy.Rejected, "archive/path-escape"},
		{"absolute member", tarCT, tarOf(t, member{name: "/etc/passwd", body: []byte("x")}), 200, policy.Rejected, "archive/path-escape"},
		{"windows-style member", zipCT, zipOf(t, member{name: `..\..\x.bin`, body: []byte("x")}), 200, policy.Rejected, "archive/path-escape"},
		{"reserved device name", tarCT, tarOf(t, member{name: "sub/NUL.bin", body: []byte("x")}), 200, policy.Rejected, "archive/path-escape"},
		{"symlink member", tarCT, tarOf(t, member{name: "model.bin", typeflag: '2', link: "/etc/shadow"}), 200, policy.Rejected, "archive/path-escape"},
		{"symlink member pointing inside", tarCT, tarOf(t, member{name: "config.json", body: []byte("{}")}, member{name: "model.bin", typeflag: '2', link: "config.json"}), 400, "", ""},
		{"hard link member", tarCT, tarOf(t, member{name: "model.bin", typeflag: '1', link: "../x"}), 200, policy.Rejected, "archive/path-escape"},
		{"device member", tarCT, tarOf(t, member{name: "dev", typeflag: '3'}), 400, "", ""},
		{"duplicate member", tarCT, tarOf(t, member{name: "a.bin", body: []byte("1")}, member{name: "a.bin", body: []byte("2")}), 200, policy.Rejected, "archive/duplicate-name"},
		{"members differing in case", zipCT, zipOf(t, member{name: "model.bin", body: []byte("1")}, member{name: "Model.bin", body: []byte("2")}), 400, "", ""},
		{"too many members", tarCT, tarOf(t, many...), 413, "", ""},
		{"body over the cap", tarCT, tarOf(t, member{name: "big.bin", body: make([]byte, 1<<20+10)}), 413, "", ""},
		{"zip bomb past the extract cap", zipCT, zipOf(t, member{name: "bomb.bin", body: make([]byte, 3<<20)}), 413, "", ""},
		{"not a tar", tarCT, []byte("hello"), 400, "", ""},
		{"not a zip", zipCT, []byte("hello"), 400, "", ""},
		{"unknown content type", "text/plain", []byte("hello"), 415, "", ""},
		{"json with unknown field", "application/json", []byte(`{"model":"x","extra":1}`), 400, "", ""},
		{"json without root configured", "application/json", byName("org/clean"), 403, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := post(t, url, c.ctype, c.body)
			if a.code != c.code {
				t.Fatalf("status %d, want %d: %.500s", a.code, c.code, a.raw)
			}
			if c.verdict != "" && a.rep.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s: %+v", a.rep.Verdict, c.verdict, a.rep.Reasons)
			}
			if c.code == 200 && a.uploadSum != sha256Hex(c.body) {
				t.Errorf("X-Modelvet-Upload-SHA256 %q is not the body's digest", a.uploadSum)
			}
			if c.rule != "" && !hasReason(a.rep, c.rule) {
				t.Errorf("no reason %s: %+v", c.rule, a.rep.Reasons)
			}
			if a.rep != nil {
				for _, fr := range a.rep.Files {
					if strings.Contains(fr.Path, tmp) || !strings.HasPrefix(fr.Path, "upload") {
						t.Errorf("report path %q should be shown under upload/", fr.Path)
					}
				}
			}
		})
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("the temporary area still holds %d entries after the requests", len(left))
	}
}

// blockingGate's signature check waits until released (or the request
// ends), to hold checks in flight.
func blockingGate(t *testing.T, release <-chan struct{}, started chan<- struct{}) *policy.Gate {
	p, err := policy.Parse("policy.yaml", []byte("signature:\n  required: true\n  keys: [k.pub]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &policy.Gate{Policy: p, Signature: func(ctx context.Context, dir string, p *policy.Policy) (*policy.Outcome, error) {
		if started != nil {
			started <- struct{}{}
		}
		select {
		case <-release:
			return &policy.Outcome{Present: true, OK: true, Section: report.Section{OK: true, Lines: []string{"fake signer"}}}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
}

func TestBusyAndTimeout(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	url, _ := startServer(t, Config{Gate: blockingGate(t, release, started), Root: f.root, MaxConcurrent: 1, MaxQueue: 1, Timeout: 3 * time.Second})
	var wg sync.WaitGroup
	results := make(chan int, 2)
	wg.Add(1)
	go func() { defer wg.Done(); results <- post(t, url, "application/json", byName("org/clean")).code }()
	<-started // one check holds the only slot
	wg.Add(1)
	go func() { defer wg.Done(); results <- post(t, url, "application/json", byName("org/clean")).code }()
	// Wait until the second request is queued, then a third is turned away.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(get(t, url+"/metrics"), "modelvet_checks_queued 1") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a := post(t, url, "application/json", byName("org/clean")); a.code != http.StatusTooManyRequests {
		t.Errorf("third request: %d, want 429 (%s)", a.code, a.raw)
	}
	close(release)
	wg.Wait()
	close(results)
	for c := range results {
		if c != 200 {
			t.Errorf("queued request ended %d, want 200", c)
		}
	}

	// A check that outlives the per-request timeout is cut off with 504.
	never := make(chan struct{})
	url2, _ := startServer(t, Config{Gate: blockingGate(t, never, nil), Root: f.root, Timeout: 200 * time.Millisecond})
	start := time.Now()
	if a := post(t, url2, "application/json", byName("org/clean")); a.code != http.StatusGatewayTimeout {
		t.Errorf("slow check: %d, want 504 (%s)", a.code, a.raw)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the timeout took %s to fire", d)
	}

	// A check that ignores its context still answers 504 on time, and
	// keeps its slot until it really ends: the bound on work holds.
	// The timeout must fire while the check is stuck in the deaf step, not
	// during the scan before it (which honours the timeout and ends): on
	// a loaded machine the scan alone can outlast 200 ms, so the timeout
	// doubles until the check was seen in the deaf step when it fired.
	stuck := make(chan struct{})
	defer func() {
		select {
		case <-stuck:
		default:
			close(stuck)
		}
	}()
	p, _ := policy.Parse("policy.yaml", []byte("signature:\n  required: true\n  keys: [k.pub]\n"))
	var url3 string
	for timeout := 200 * time.Millisecond; ; timeout *= 2 {
		if timeout > 30*time.Second {
			t.Fatal("the check never reached its deaf step before the timeout")
		}
		entered := make(chan struct{}, 1)
		deaf := &policy.Gate{Policy: p, Signature: func(ctx context.Context, dir string, p *policy.Policy) (*policy.Outcome, error) {
			entered <- struct{}{}
			<-stuck
			return &policy.Outcome{Present: true, OK: true}, nil
		}}
		url3, _ = startServer(t, Config{Gate: deaf, Root: f.root, Timeout: timeout, MaxConcurrent: 1})
		if a := post(t, url3, "application/json", byName("org/clean")); a.code != http.StatusGatewayTimeout {
			t.Errorf("deaf check: %d, want 504", a.code)
		}
		select {
		case <-entered:
		default:
			t.Logf("the scan outlasted a %s timeout; again with twice that", timeout)
			continue
		}
		break
	}
	if m := get(t, url3+"/metrics"); !strings.Contains(m, "modelvet_checks_in_flight 1") {
		t.Errorf("the slot was given back while the check still ran:\n%s", m)
	}
	close(stuck)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(get(t, url3+"/metrics"), "modelvet_checks_in_flight 0") {
		if time.Now().After(deadline) {
			t.Fatal("the slot was not given back after the check ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t testing.TB, url string) string {
	resp, err := client.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Shutdown lets the check in flight finish and answer, then stops.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s, err := New(Config{Gate: blockingGate(t, release, started), Root: f.root})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, 10*time.Second) }()
	code := make(chan int, 1)
	go func() { code <- post(t, url, "application/json", byName("org/clean")).code }()
	<-started
	cancel() // SIGTERM arrives while a check runs
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a check in flight", err)
	default:
	}
	close(release)
	if c := <-code; c != 200 {
		t.Errorf("the in-flight check answered %d, want 200", c)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last check")
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Errorf("still accepting connections after shutdown")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root})
	if got := get(t, url+"/healthz"); got != "ok\n" {
		t.Errorf("healthz %q", got)
	}
	post(t, url, "application/json", byName("org/clean"))
	post(t, url, "application/json", byName("org/malicious"))
	post(t, url, "application/json", byName("org/unsigned"))
	post(t, url, "application/json", byName("../x"))
	m := get(t, url+"/metrics")
	for _, want := range []string{
		`modelvet_checks_total{verdict="admitted"} 1`,
		`modelvet_checks_total{verdict="rejected"} 2`,
		`modelvet_check_errors_total 1`,
		`modelvet_check_responses_total{code="403"} 1`,
		`modelvet_check_duration_seconds_count 3`,
		`modelvet_check_duration_seconds_bucket{le="+Inf"} 3`,
		`modelvet_checks_in_flight 0`,
		"# TYPE modelvet_check_duration_seconds histogram",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	// Every sample line is "name{labels} value" or "name value".
	line := regexp.MustCompile(`^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+$`)
	for _, l := range strings.Split(strings.TrimSpace(m), "\n") {
		if !strings.HasPrefix(l, "# ") && !line.MatchString(l) {
			t.Errorf("not Prometheus text format: %q", l)
		}
	}
	if resp, err := client.Get(url + "/v1/check"); err == nil {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/check: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// 200 concurrent requests of every kind all get the right answer, and the
// heap does not grow with them.
func TestConcurrentLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping 200 concurrent checks")
	}
	const n = 200
	f := newFixture(t)
	tmp := privateTemp(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, TempDir: tmp, MaxConcurrent: 4, MaxUploads: n,
		Clients: ClientLimits{Concurrent: n, Rate: 1e6}, Conns: ConnLimits{Max: 2 * n, PerClient: 2 * n}})
	cleanTar := tarOf(t, folderMembers(t, filepath.Join(f.root, "org", "clean"))...)
	type req struct {
		ctype   string
		body    []byte
		code    int
		verdict string
	}
	kinds := []req{
		{"application/json", byName("org/clean"), 200, policy.Admitted},
		{"application/json", byName("org/malicious"), 200, policy.Rejected},
		{"application/json", byName("org/unsigned"), 200, policy.Rejected},
		{"application/json", byName("org/escape"), 403, ""},
		{"application/x-tar", cleanTar, 200, policy.Admitted},
	}
	// Warm up (first-use allocations: TLS-free client pools, analyzers'
	// tables) so the comparison measures growth, not initialization.
	for _, k := range kinds {
		post(t, url, k.ctype, k.body)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	var failures atomic.Int32
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func(k req) {
			defer wg.Done()
			a := post(t, url, k.ctype, k.body)
			if a.code != k.code || (k.verdict != "" && (a.rep == nil || a.rep.Verdict != k.verdict)) {
				failures.Add(1)
				t.Errorf("got %d %s, want %d %s", a.code, a.raw[:min(len(a.raw), 200)], k.code, k.verdict)
			}
		}(kinds[i%len(kinds)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	sampler.Wait()
	client.CloseIdleConnections()
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d concurrent requests in %s (%d failed); HeapInuse before %.1f MiB, peak %.1f MiB, after %.1f MiB",
		n, elapsed.Round(time.Millisecond), failures.Load(), mib(before.HeapInuse), mib(peak.Load()), mib(after.HeapInuse))
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failures.Load(), n)
	}
	// Bounded: four checks at a time on small models; 200 parked requests
	// cost goroutines, not copies of models.
	if peak.Load() > before.HeapInuse+256<<20 {
		t.Errorf("peak heap %.1f MiB grew more than 256 MiB over %.1f MiB", mib(peak.Load()), mib(before.HeapInuse))
	}
	if after.HeapInuse > before.HeapInuse+32<<20 {
		t.Errorf("heap after the burst %.1f MiB, before %.1f MiB: something is retained", mib(after.HeapInuse), mib(before.HeapInuse))
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("%d uploads left in the temporary area", len(left))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func TestResolveModelUnit(t *testing.T) {
	root := t.TempDir()
	real, _ := filepath.EvalSymlinks(root)
	os.MkdirAll(filepath.Join(real, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(real, "a", "b", "config.json"), []byte("{}"), 0o644)
	mr, err := openModelRoot(real)
	if err != nil {
		t.Fatal(err)
	}
	for name, wantErr := range map[string]bool{"a/b": false, "a/./b": false, "a/b/../b": false, "a/../../x": true, "/etc": true, "a\x00b": true, "a": true, "a/b/config.json": true} {
		m, err := mr.open(name, false)
		if (err != nil) != wantErr {
			t.Errorf("%q: err %v, want error %v", name, err, wantErr)
		}
		var he *httpError
		if err != nil && !errors.As(err, &he) {
			t.Errorf("%q: %v is not an HTTP error", name, err)
		}
		if m != nil {
			m.close()
		}
	}
	_ = bytes.MinRead
}
