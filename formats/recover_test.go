package formats

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The panicking test analyzer reacts only to content and names no real
// file has, so the other tests of this package are not disturbed.
const (
	panicInSniff   = "MODELVET-TEST-PANIC-IN-SNIFF"
	panicInAnalyze = "MODELVET-TEST-PANIC-IN-ANALYZE"
	panicDirName   = "modelvet-test-panic-in-dircheck"
)

func init() {
	Register(&Analyzer{
		Name:     "panicky-test",
		Priority: 1000,
		Sniff: func(p *Probe) bool {
			if bytes.HasPrefix(p.Head, []byte(panicInSniff)) {
				var m map[string]bool
				m["x"] = true // the ONNX companion crash: assignment to entry in nil map
			}
			return bytes.HasPrefix(p.Head, []byte(panicInAnalyze))
		},
		Analyze: func(s *Scope, r io.ReaderAt, size int64) {
			var b []byte
			_ = b[size] // index out of range
		},
	})
	RegisterDir(&DirCheck{Name: "panicky-test", Check: func(dir string, files []string, _ *Options, _ func(string, Finding)) {
		if filepath.Base(dir) == panicDirName {
			panic("folder check bug")
		}
	}})
}

// No panic may escape an analyzer entry point: each one, whether in the
// sniffer (which also runs companion-file lookups), the analyzer or a
// folder check, becomes a high finding naming the analyzer and the file,
// with the stack in the details, and the rest of the scan goes on.
func TestPanicInEveryEntryPointIsAFinding(t *testing.T) {
	dir := filepath.Join(t.TempDir(), panicDirName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"sniff.bin":   panicInSniff,
		"analyze.bin": panicInAnalyze,
		"notes.txt":   "a plain file the scan must still report",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Scan(context.Background(), []string{dir}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*FileResult{}
	for _, f := range res.Files {
		byName[filepath.Base(f.Path)] = f
	}
	for _, c := range []struct {
		name, entry string
	}{
		{"sniff.bin", "sniffer"},
		{"analyze.bin", "analyzer"},
		{panicDirName, "folder check"},
	} {
		r := byName[c.name]
		if r == nil {
			t.Errorf("%s: no result (the scan lost it)", c.name)
			continue
		}
		found := false
		for _, f := range r.Findings {
			if f.Rule == "formats/analyzer-failure" && f.Severity == High &&
				strings.Contains(f.Message, "panicky-test "+c.entry) && strings.Contains(f.Message, c.name) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no high analyzer-failure naming the %s: %+v", c.name, c.entry, r.Findings)
		}
		if st := r.Details["panic:"+c.entry+":panicky-test"]; !strings.Contains(st, "goroutine") && !strings.Contains(st, ".go:") {
			t.Errorf("%s: stack not in details: %q", c.name, st)
		}
	}
	if byName["notes.txt"] == nil {
		t.Error("the other file of the folder was not scanned")
	}
	// In-memory scans (the service's uploads) go through the same guard.
	r := ScanReader("upload.bin", strings.NewReader(panicInSniff), int64(len(panicInSniff)), &Options{Limits: DefaultOptions().Limits})
	if m, _ := r.Max(); m < High {
		t.Errorf("upload with a sniffer panic: %+v", r.Findings)
	}
}
