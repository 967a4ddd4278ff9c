package server

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelvet/modelvet/policy"
)

// hiddenLocalZip is a zip of visible whose central directory lists only
// those members, with hidden's local header and data placed between the
// last member and the central directory: streaming readers (and
// `unzip -`-style tools) extract it, archive/zip never sees it.
func hiddenLocalZip(t testing.TB, visible []member, hidden member) []byte {
	t.Helper()
	z := zipOf(t, visible...)
	h := zipOf(t, hidden)
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	cd := int(binary.LittleEndian.Uint32(z[eocd+16:]))
	hcd := int(binary.LittleEndian.Uint32(h[bytes.LastIndex(h, []byte("PK\x05\x06"))+16:]))
	local := h[:hcd] // the hidden member's local header and data
	out := append(append(append([]byte{}, z[:cd]...), local...), z[cd:]...)
	eocd += len(local)
	binary.LittleEndian.PutUint32(out[eocd+16:], uint32(cd+len(local)))
	return out
}

// sparseTar is a PAX (GNU 1.0) sparse member claiming size bytes with one
// 512-byte data block: Go's, GNU's and bsdtar's readers expand it to size
// bytes of mostly zeros. archive/tar.Writer drops GNU.sparse records, so
// the blocks are written here.
func sparseTar(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var recs string
	for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", name}, {"GNU.sparse.realsize", fmt.Sprint(size)}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(fmt.Sprint(n))+len(rec) != n {
			n++
		}
		recs += fmt.Sprint(n) + rec
	}
	var b bytes.Buffer
	b.Write(ustarHeader(t, "PaxHeaders/"+name, tar.TypeXHeader, int64(len(recs))))
	b.Write(padBlock([]byte(recs)))
	b.Write(ustarHeader(t, "GNUSparseFile.0/"+name, tar.TypeReg, 1024))
	b.Write(padBlock([]byte(fmt.Sprintf("1\n%d\n512\n", size-512))))
	b.Write(bytes.Repeat([]byte{'A'}, 512))
	b.Write(make([]byte, 1024))
	return b.Bytes()
}

func padBlock(b []byte) []byte {
	return append(b, make([]byte, (512-len(b)%512)%512)...)
}

// ustarHeader is one 512-byte ustar header block.
func ustarHeader(t testing.TB, name string, typ byte, size int64) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", size))
	copy(h[136:], fmt.Sprintf("%011o\x00", 0))
	h[156] = typ
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	var sum int
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

// dirSize is the bytes of regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// Uploads built to make the service see something else than a loader, or
// to make it write far more than it received.
func TestHostileUploads(t *testing.T) {
	f := newFixture(t)
	tmp := privateTemp(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), TempDir: tmp, Limits: Limits{MaxUpload: 64 << 20, MaxExtract: 1 << 30}})
	clean := folderMembers(t, filepath.Join(f.root, "org", "clean"))
	bad := folderMembers(t, filepath.Join(f.root, "org", "malicious"))
	var pickle member
	for _, m := range bad {
		if m.name == "pytorch_model.bin" {
			pickle = m
		}
	}
	cases := []struct {
		name  string
		ctype string
		body  []byte
		code  int
		rule  string // with code 200: the verdict is rejected for this rule
	}{
		{"zip whose malicious member is only a local entry", "application/zip", hiddenLocalZip(t, clean, pickle), 200, "archive/unaccounted-data"},
		{"tar with a member after the end-of-archive blocks", "application/x-tar", append(tarOf(t, clean...), tarOf(t, pickle)...), 200, "archive/data-after-end"},
		{"10 KB sparse tar claiming 4 GiB", "application/x-tar", sparseTar(t, "model.safetensors", 4<<30), 200, "archive/truncated"},
		// The scan refuses a PAX sparse member whatever its size: a plain
		// reader sees its map and fragments, a sparse-aware one other bytes.
		{"sparse tar whose claim fits the archive", "application/x-tar", sparseTar(t, "model.safetensors", 1024), 200, "archive/unsupported-method"},
		{"zip bomb: 64 MiB of zeros in 64 KB", "application/zip", zipOf(t, member{name: "model.safetensors", body: make([]byte, 64<<20)}), 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			a := post(t, url, c.ctype, c.body)
			if a.code != c.code {
				t.Fatalf("status %d, want %d: %.600s", a.code, c.code, a.raw)
			}
			if c.code == 200 {
				if a.rep.Verdict != policy.Rejected || !hasReason(a.rep, c.rule) {
					t.Fatalf("verdict %s, want rejected for %s: %+v", a.rep.Verdict, c.rule, a.rep.Reasons)
				}
			} else if a.err == "" {
				t.Errorf("refusal without a message: %s", a.raw)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	if n := dirSize(tmp); n != 0 {
		t.Errorf("%d bytes left in the temporary folder", n)
	}
}

// The same hostile archives as `modelvet scan` sees them: the hidden
// members are what the loader would get, so the upload must not be
// admitted on the strength of the visible ones. The bombs never reach the
// disk: extraction stops at the tar's own size and the zip ratio.
func TestExtractionCaps(t *testing.T) {
	cases := []struct {
		name string
		tar  bool
		body []byte
		lim  Limits
	}{
		{"sparse tar expanding 4 GiB from 3 KB", true, sparseTar(t, "a.bin", 4<<30), Limits{MaxExtract: 8 << 30, MaxMembers: 10, MaxRatio: 200}},
		{"sparse tar whose claim fits the archive", true, sparseTar(t, "a.bin", 1024), Limits{MaxExtract: 8 << 30, MaxMembers: 10, MaxRatio: 200}},
		{"zip of zeros past the ratio", false, zipOf(t, member{name: "a.bin", body: make([]byte, 8<<20)}), Limits{MaxExtract: 8 << 30, MaxMembers: 10, MaxRatio: 200}},
		{"zip past the extract cap", false, func() []byte {
			b := make([]byte, 3<<20)
			for i := range b {
				b[i] = byte(i * 7919 >> 3) // compresses poorly: the ratio allows it, the cap does not
			}
			return zipOf(t, member{name: "a.bin", body: b})
		}(), Limits{MaxExtract: 1 << 20, MaxMembers: 10, MaxRatio: 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var err error
			if c.tar {
				err = extractTar(bytes.NewReader(c.body), int64(len(c.body)), dir, c.lim)
			} else {
				err = extractZip(bytes.NewReader(c.body), int64(len(c.body)), dir, c.lim)
			}
			if err == nil {
				t.Fatal("extracted")
			}
			if n := dirSize(dir); n > c.lim.MaxExtract || c.tar && n > int64(len(c.body)) {
				t.Errorf("wrote %d bytes from %d", n, len(c.body))
			}
		})
	}
	if !isSparse(&tar.Header{Typeflag: tar.TypeGNUSparse}) {
		t.Error("an old GNU sparse header is not recognized")
	}
}

// rawRequest starts a POST on its own connection from a chosen loopback
// address, sends the headers and the first body bytes, and returns the
// connection for the caller to trickle the rest.
func rawRequest(t testing.TB, addr, from, ctype string, length int, first []byte) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	fmt.Fprintf(c, "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, length)
	c.Write(first)
	return c
}

// needLoopbackAliases skips a test that tells clients apart by source
// address when 127.0.0.2 and 127.0.0.3 cannot be used (Linux routes all
// of 127/8 to the loopback; macOS needs aliases configured).
func needLoopbackAliases(t testing.TB) {
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("no loopback address %s: %v", ip, err)
		}
		l.Close()
	}
}

// readStatus reads the status code the server answers on c, or 0 if it
// closes the connection first.
func readStatus(c net.Conn, within time.Duration) int {
	c.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Slowloris bodies are cut off; a client sending nothing after its
// headers does not hold the connection past the idle limit.
func TestSlowBodies(t *testing.T) {
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, TempDir: privateTemp(t),
		Body: BodyLimits{Header: time.Second, Idle: time.Second, MinRate: 1000, Grace: time.Second}})
	addr := strings.TrimPrefix(url, "http://")
	body := byName("org/clean")
	cases := []struct {
		name    string
		ctype   string
		trickle time.Duration // between single bytes; 0: send nothing more
	}{
		{"json body one byte every 300 ms", "application/json", 300 * time.Millisecond},
		{"json body that stops after 5 bytes", "application/json", 0},
		{"tar upload one byte every 300 ms", "application/x-tar", 300 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := rawRequest(t, addr, "", c.ctype, 4096, body[:5])
			defer conn.Close()
			stop := make(chan struct{})
			defer close(stop)
			if c.trickle > 0 {
				go func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						case <-time.After(c.trickle):
							if _, err := conn.Write([]byte{' '}); err != nil {
								return
							}
						}
					}
				}()
			}
			start := time.Now()
			code := readStatus(conn, 10*time.Second)
			if code != http.StatusRequestTimeout {
				t.Errorf("status %d, want 408", code)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("cut off after %s", d)
			}
		})
	}
	t.Run("body to an endpoint that does not read it, never sent", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx")
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c) // the answer, then the server closes
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("connection held for %s", d)
		}
	})
	t.Run("headers that never end", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /v1/check HTTP/1.1\r\nHost: x\r\n")
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c) // until the server closes
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("connection held for %s", d)
		}
	})
}

// Two clients uploading slowly (within the pace limits) hold no check
// slot: a third client's check finishes while they are still sending.
func TestSlowClientsDoNotBlockOthers(t *testing.T) {
	needLoopbackAliases(t)
	f := newFixture(t)
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, TempDir: privateTemp(t), MaxConcurrent: 1,
		Body: BodyLimits{Idle: 5 * time.Second, MinRate: 1, Grace: time.Minute}})
	addr := strings.TrimPrefix(url, "http://")
	upload := tarOf(t, folderMembers(t, filepath.Join(f.root, "org", "clean"))...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, from := range []string{"127.0.0.2", "127.0.0.3"} {
		conn := rawRequest(t, addr, from, "application/x-tar", len(upload), upload[:512])
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			for j := 512; j < len(upload); j++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := conn.Write(upload[j : j+1]); err != nil {
					t.Errorf("slow client %d: %v", i, err)
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // both uploads are being received
	start := time.Now()
	a := post(t, url, "application/json", byName("org/clean"))
	if a.code != 200 || a.rep.Verdict != policy.Admitted {
		t.Errorf("third client: %d %.300s", a.code, a.raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("third client waited %s behind two slow uploads", d)
	}
	if m := get(t, url+"/metrics"); !strings.Contains(m, "modelvet_uploads_in_progress 2") {
		t.Errorf("the two slow uploads are not in progress:\n%s", m)
	}
	close(stop)
	wg.Wait()
}

// 1,100 connections sending slow JSON bodies from one address take at
// most the per-client share of connections: the service keeps its file
// descriptors, and another client is answered.
func TestConnectionFlood(t *testing.T) {
	needLoopbackAliases(t)
	f := newFixture(t)
	url, s := startServer(t, Config{Gate: realGate(f.policy), Root: f.root,
		Conns: ConnLimits{Max: 256, PerClient: 64}, Body: BodyLimits{Idle: 20 * time.Second, Grace: time.Minute, MinRate: 1}})
	addr := strings.TrimPrefix(url, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1100 {
		conns = append(conns, rawRequest(t, addr, "127.0.0.2", "application/json", 64, []byte(`{"mo`)))
	}
	var peak atomic.Int64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && s.m.connsRefused.Load() < 1100-64 {
		peak.Store(max(peak.Load(), s.m.connsOpen.Load()))
		time.Sleep(10 * time.Millisecond)
	}
	peak.Store(max(peak.Load(), s.m.connsOpen.Load()))
	if p := peak.Load(); p > 64 {
		t.Errorf("%d connections from one address open at once, cap 64", p)
	}
	if r := s.m.connsRefused.Load(); r < 1100-64 {
		t.Errorf("only %d connections refused", r)
	}
	fromOther := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}).DialContext}}
	resp, err := fromOther.Post(url+"/v1/check", "application/json", bytes.NewReader(byName("org/clean")))
	if err != nil {
		t.Fatalf("another client during the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("another client during the flood: %d", resp.StatusCode)
	}
}

// A folder swapped for a link out of the root while requests name it:
// no answer may carry the outside model's files. The real dir and the
// link take turns at the name through atomic renames.
func TestNameSwapRace(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(filepath.Join(f.outside, "outside-only.json"), []byte(`{"secret": true}`), 0o644)
	org := filepath.Join(f.root, "org")
	copyModel(t, filepath.Join(org, "clean"), filepath.Join(org, "race-real"), "config.json", "model.safetensors")
	if err := os.Symlink(f.outside, filepath.Join(org, "race-link")); err != nil {
		t.Fatal(err)
	}
	url, _ := startServer(t, Config{Gate: realGate(f.policy), Root: f.root, MaxConcurrent: 2, Clients: ClientLimits{Concurrent: 64, Rate: 1e6}})
	ctx, cancel := context.WithCancel(context.Background())
	var swaps atomic.Int64
	// The swapper must have stopped before the test returns: a rename
	// after that races TempDir's removal ("directory not empty").
	swapped := make(chan struct{})
	defer func() { cancel(); <-swapped }()
	go func() {
		defer close(swapped)
		at := filepath.Join(org, "race")
		for ctx.Err() == nil {
			os.Rename(filepath.Join(org, "race-real"), at)
			time.Sleep(200 * time.Microsecond) // long enough for some requests to find it
			os.Rename(at, filepath.Join(org, "race-real"))
			os.Rename(filepath.Join(org, "race-link"), at)
			os.Rename(at, filepath.Join(org, "race-link"))
			swaps.Add(1)
		}
	}()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				a := post(t, url, "application/json", byName("org/race"))
				if bytes.Contains(a.raw, []byte("outside-only")) || bytes.Contains(a.raw, []byte("secret")) {
					t.Errorf("an answer shows the outside model: %.400s", a.raw)
				}
				mu.Lock()
				codes[a.code]++
				if a.code == 500 && codes[500] <= 3 {
					t.Logf("500: %s", a.err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cancel()
	<-swapped
	t.Logf("400 requests during %d swaps: %v", swaps.Load(), codes)
	for c := range codes {
		if c != 200 && c != 403 && c != 404 && c != 409 {
			t.Errorf("unexpected status %d", c)
		}
	}
	if codes[200] == 0 {
		t.Error("no request found the real folder: the race was not exercised")
	}
}

// Deterministic: the folder is swapped for a link after it was resolved
// and before the check reads it; the check still reads the folder that
// was resolved.
func TestPinnedFolderSurvivesSwap(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(filepath.Join(f.outside, "outside-only.json"), []byte(`{}`), 0o644)
	mr, err := openModelRoot(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if mr.pin == nil {
		t.Skip("no descriptor pinning on this system (the after-check comparison covers it)")
	}
	m, err := mr.open("org/clean", false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	org := filepath.Join(f.root, "org")
	if err := os.Rename(filepath.Join(org, "clean"), filepath.Join(org, "clean.moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.outside, filepath.Join(org, "clean")); err != nil {
		t.Fatal(err)
	}
	g := realGate(f.policy)
	g.DisplayRoot = "org/clean"
	rep, err := g.Check(context.Background(), m.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range rep.Files {
		if strings.Contains(fr.Path, "outside-only") {
			t.Errorf("the check read the swapped-in folder: %s", fr.Path)
		}
	}
	if rep.Verdict != policy.Admitted {
		t.Errorf("the pinned clean model: %s %+v", rep.Verdict, rep.Reasons)
	}
}

// The fallback resolution (no /proc) refuses an answer about a folder
// that was replaced during the check.
func TestPathFallbackDetectsSwap(t *testing.T) {
	f := newFixture(t)
	mr, err := openModelRoot(f.root)
	if err != nil {
		t.Fatal(err)
	}
	comps, _ := mr.components("org/clean")
	m, err := mr.openByPath("org/clean", comps, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.unchanged("org/clean"); err != nil {
		t.Fatalf("unchanged folder reported changed: %v", err)
	}
	org := filepath.Join(f.root, "org")
	os.Rename(filepath.Join(org, "clean"), filepath.Join(org, "clean.moved"))
	os.Symlink(f.outside, filepath.Join(org, "clean"))
	if err := m.unchanged("org/clean"); err == nil {
		t.Error("a folder swapped for a link was not noticed")
	}
}

// The pacing is per read: an upload that keeps arriving is not cut off by
// the server's default read deadline, however long it takes in total.
func TestSteadyUploadOutlivesReadTimeout(t *testing.T) {
	f := newFixture(t)
	// Idle is 20 gaps: a loaded machine (CI on 2 cores) may wake the
	// writer late, and a gap longer than Idle is a legitimate cut-off.
	// The upload lasts twice the read deadline (Header + Idle) in all.
	lim := BodyLimits{Header: 200 * time.Millisecond, Idle: time.Second, MinRate: 1, Grace: time.Minute}
	const gap = 50 * time.Millisecond
	readDeadline := lim.Header + lim.Idle
	url, _ := startServer(t, Config{Gate: realGate(f.policy), TempDir: privateTemp(t), Body: lim})
	upload := tarOf(t, folderMembers(t, filepath.Join(f.root, "org", "clean"))...)
	conn := rawRequest(t, strings.TrimPrefix(url, "http://"), "", "application/x-tar", len(upload), nil)
	defer conn.Close()
	start := time.Now()
	chunk := len(upload)/int(2*readDeadline/gap) + 1
	for off := 0; off < len(upload); off += chunk {
		time.Sleep(gap)
		if _, err := conn.Write(upload[off:min(off+chunk, len(upload))]); err != nil {
			t.Fatalf("cut off after %d bytes, %s into the upload: %v", off, time.Since(start), err)
		}
	}
	if took := time.Since(start); took < readDeadline {
		t.Fatalf("the upload took %s, less than the read deadline %s: nothing was shown", took, readDeadline)
	}
	if code := readStatus(conn, 10*time.Second); code != 200 {
		t.Errorf("status %d, want 200", code)
	}
}
