package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/policy"
)

// TestLoad is the load bar, opt-in (it takes a minute and both
// cores): MODELVET_LOAD=1 go test ./server -run TestLoad -v
// (MODELVET_LOAD_SECONDS changes the 60 s). It runs the real binary,
// `modelvet serve`, so the memory measured is the service's alone, and
// sends 300 concurrent clients' by-name checks, tar and zip uploads for
// the duration. Bars: peak RSS (VmHWM) under 100 MB, nothing left in
// --tmp after a SIGTERM, and /metrics counting exactly what was sent,
// code by code and verdict by verdict.
func TestLoad(t *testing.T) {
	if os.Getenv("MODELVET_LOAD") == "" {
		t.Skip("set MODELVET_LOAD=1 to run the 300-client load test")
	}
	secs := 60
	if s, err := strconv.Atoi(os.Getenv("MODELVET_LOAD_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	const clients = 300
	f := newFixture(t)
	bin := filepath.Join(t.TempDir(), "modelvet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/modelvet")
	build.Dir = formatstest.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tmp := privateTemp(t)
	var logBuf bytes.Buffer
	cmd := exec.Command(bin, "serve", "--policy", f.policyPath, "--root", f.root, "--tmp", tmp, "--addr", addr,
		"--max-conns", "1000", "--max-conns-per-client", "1000", "--client-concurrency", "1000", "--client-rate", "1000000",
		"--max-uploads", "64", "--queue", "1000")
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatalf("the service did not start:\n%s", logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	cleanMembers := folderMembers(t, filepath.Join(f.root, "org", "clean"))
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
		{"application/x-tar", tarOf(t, cleanMembers...), 200, policy.Admitted},
		{"application/zip", zipOf(t, cleanMembers...), 200, policy.Admitted},
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: tr}
	var mu sync.Mutex
	codes := map[int]int{}
	verdicts := map[string]int{}
	var wrong, transport atomic.Int64
	var peakRSS atomic.Int64
	stop := time.Now().Add(time.Duration(secs) * time.Second)
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		for time.Now().Before(stop) {
			if kb := procStatusKB(cmd.Process.Pid, "VmRSS"); kb > peakRSS.Load() {
				peakRSS.Store(kb)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(stop); i++ {
				k := kinds[i%len(kinds)]
				resp, err := hc.Post(url+"/v1/check", k.ctype, bytes.NewReader(k.body))
				if err != nil {
					transport.Add(1)
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				v := resp.Header.Get("X-Modelvet-Verdict")
				mu.Lock()
				codes[resp.StatusCode]++
				if v != "" {
					verdicts[v]++
				}
				mu.Unlock()
				if resp.StatusCode != k.code && resp.StatusCode != http.StatusTooManyRequests || resp.StatusCode == 200 && v != k.verdict {
					if wrong.Add(1) <= 5 {
						t.Errorf("%s: %d %s, want %d %s: %.200s", k.ctype, resp.StatusCode, v, k.code, k.verdict, raw)
					}
				}
			}
		}()
	}
	wg.Wait()
	<-sampleDone
	metrics := get(t, url+"/metrics")
	hwm := procStatusKB(cmd.Process.Pid, "VmHWM")
	cmd.Process.Signal(syscall.SIGTERM)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("serve exited: %v\n%s", err, tail(logBuf.String(), 2000))
		}
	case <-time.After(40 * time.Second):
		t.Error("serve did not stop within 40 s of SIGTERM")
	}
	total := 0
	for _, n := range codes {
		total += n
	}
	t.Logf("%d clients for %d s: %d answers (%.1f/s), codes %v, verdicts %v, %d transport errors; serve peak RSS %.1f MB (sampled %.1f MB)",
		clients, secs, total, float64(total)/float64(secs), codes, verdicts, transport.Load(), float64(hwm)/1024, float64(peakRSS.Load())/1024)
	if wrong.Load() > 0 {
		t.Errorf("%d wrong answers", wrong.Load())
	}
	if transport.Load() > 0 {
		t.Errorf("%d requests failed in transport", transport.Load())
	}
	if hwm > 100*1024 {
		t.Errorf("peak RSS %.1f MB, bar 100 MB", float64(hwm)/1024)
	}
	for code, n := range codes {
		if want := fmt.Sprintf(`modelvet_check_responses_total{code="%d"} %d`, code, n); !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for v, n := range verdicts {
		if want := fmt.Sprintf(`modelvet_checks_total{verdict=%q} %d`, v, n); !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if m := regexp.MustCompile(`modelvet_check_responses_total\{code="(\d+)"\} (\d+)`).FindAllStringSubmatch(metrics, -1); len(m) != len(codes) {
		t.Errorf("metrics count codes %v, the clients saw %v", m, codes)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("%d entries left in --tmp after SIGTERM", len(left))
	}
}

// procStatusKB reads a kB field of /proc/PID/status (0 if unavailable).
func procStatusKB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
