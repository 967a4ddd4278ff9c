package formats

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestScanNegativeSize: a container that hands ScanMember a negative
// length (a misread index) used to panic in make() before the analyzer's
// recover, killing every scan in the process; it must be a finding.
func TestScanNegativeSize(t *testing.T) {
	opts := DefaultOptions()
	res := ScanReader("weights.bin", bytes.NewReader(nil), -1, &opts)
	if len(res.Findings) != 1 || res.Findings[0].Rule != "formats/read-error" || res.Findings[0].Severity < High {
		t.Fatalf("want one high formats/read-error, got %+v", res.Findings)
	}
	s := NewScope("outer.zip", &opts, &FileResult{})
	if a := s.ScanMember("inner.pt", bytes.NewReader(nil), -5); a != nil {
		t.Fatalf("a member of negative size was given to %s", a.Name)
	}
}

// TestScanCancelled: a scan whose context is cancelled (a request that
// timed out) must not report the files it did not read as clean.
func TestScanCancelled(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.bin"), []byte("anything"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := DefaultOptions()
	res, err := Scan(ctx, []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range res.Files {
		for _, x := range f.Findings {
			if x.Rule == "fs/not-scanned" && x.Severity >= High {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("cancelled scan reported no fs/not-scanned finding: %+v", res.Files)
	}
	// A file handed to ScanFile after the cancel is not read either.
	fr := ScanFile(ctx, filepath.Join(dir, "model.bin"), "model.bin", &opts)
	if len(fr.Findings) != 1 || fr.Findings[0].Rule != "fs/not-scanned" || fr.Findings[0].Severity < High {
		t.Fatalf("ScanFile after cancel: want one high fs/not-scanned, got %+v", fr.Findings)
	}
}
