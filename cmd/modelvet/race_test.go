package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// swapModel builds the time-of-check attack of issue 11: the publisher
// signed a malicious pytorch_model.bin; the folder shows the scanner a
// clean one of the same size. A check that scans one and hashes the other
// admits the malicious bytes. It returns the model folder, the policy,
// and the clean and malicious contents.
func swapModel(t *testing.T, signClean bool) (model, pol string, clean, evil []byte) {
	t.Helper()
	ex := filepath.Join("..", "..", "testdata", "examples")
	var err error
	if clean, err = os.ReadFile(filepath.Join(ex, "clean-model", "pytorch_model.bin")); err != nil {
		t.Fatal(err)
	}
	if evil, err = os.ReadFile(filepath.Join(ex, "malicious-model", "pytorch_model.bin")); err != nil {
		t.Fatal(err)
	}
	if len(evil) > len(clean) {
		t.Fatal("fixture sizes changed: the malicious file must fit in the clean one's size")
	}
	// Same size: only the content can tell the two apart.
	evil = append(evil, make([]byte, len(clean)-len(evil))...)
	dir := t.TempDir()
	model = filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	cfg, _ := os.ReadFile(filepath.Join(ex, "clean-model", "config.json"))
	os.WriteFile(filepath.Join(model, "config.json"), cfg, 0o644)
	signed := evil
	if signClean {
		signed = clean
	}
	w := filepath.Join(model, "pytorch_model.bin")
	os.WriteFile(w, signed, 0o644)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := verify.Sign(model, verify.SignOptions{Key: key}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	os.WriteFile(w, clean, 0o644)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "publisher.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	pol = filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("version: 1\nfail_on: high\nsignature:\n  required: true\n  keys: [publisher.pub]\n"), 0o644)
	return model, pol, clean, evil
}

func gateFor(t *testing.T, pol string) *policy.Gate {
	t.Helper()
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	return newGate(p)
}

func hasReason(rep *report.Report, rule string) bool {
	for _, r := range rep.Reasons {
		if r.Rule == rule {
			return true
		}
	}
	return false
}

// TestSwapBetweenScanAndHashNeverAdmits drives the swap deterministically
// through the pass's hook, after the scan read the clean file and before
// the hashing pass: by rename and by rewriting the same inode in place
// with the modification time put back.
func TestSwapBetweenScanAndHashNeverAdmits(t *testing.T) {
	rename := func(p string, evil []byte) error {
		os.WriteFile(p+".tmp", evil, 0o644)
		return os.Rename(p+".tmp", p)
	}
	inPlace := func(p string, evil []byte) error {
		fi, _ := os.Stat(p)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		f.WriteAt(evil, 0)
		f.Close()
		return os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}
	for _, c := range []struct {
		name string
		swap func(p string, evil []byte) error
	}{{"rename swap", rename}, {"in-place rewrite, mtime restored", inPlace}} {
		t.Run(c.name, func(t *testing.T) {
			model, pol, _, evil := swapModel(t, false)
			g := gateFor(t, pol)
			swapped := false
			var swapErr error
			g.PassHooks = onepass.Options{BeforeHash: func(p string) {
				if filepath.Base(p) == "pytorch_model.bin" {
					swapErr = c.swap(p, evil)
					swapped = true
				}
			}}
			rep, err := g.Check(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			if swapErr != nil {
				t.Skipf("this OS refuses the swap while the file is open (%v)", swapErr)
			}
			if !swapped {
				t.Fatal("the hook never ran: the check did not hash pytorch_model.bin")
			}
			if rep.Verdict == policy.Admitted {
				t.Fatal("admitted the signed malicious bytes the scan never saw")
			}
			if !hasReason(rep, policy.RuleFileChanged) {
				t.Errorf("rejected, but not for %s: %+v", policy.RuleFileChanged, rep.Reasons)
			}
			for _, f := range rep.Files {
				if f.SHA256 == sha(evil) {
					t.Errorf("the report gives %s the malicious file's sha256", f.Path)
				}
			}
		})
	}
	// Controls, so the rejections above are about the swap: the same
	// setup with the clean file signed is admitted, and the malicious
	// file shown to the scanner is rejected by the scan.
	t.Run("control: clean file signed, no swap", func(t *testing.T) {
		model, pol, _, _ := swapModel(t, true)
		rep, err := gateFor(t, pol).Check(context.Background(), model)
		if err != nil || rep.Verdict != policy.Admitted {
			t.Fatalf("%v %+v", err, rep.Reasons)
		}
		if rep.Files[0].SHA256 == "" {
			t.Error("no sha256 in the report")
		}
	})
	t.Run("control: malicious file in place, no swap", func(t *testing.T) {
		model, pol, _, evil := swapModel(t, false)
		os.WriteFile(filepath.Join(model, "pytorch_model.bin"), evil, 0o644)
		rep, err := gateFor(t, pol).Check(context.Background(), model)
		if err != nil || rep.Verdict == policy.Admitted || !hasReason(rep, "pickle/dangerous-import") {
			t.Fatalf("%v %+v", err, rep.Reasons)
		}
	})
}

// TestRenameLoopNeverAdmits races a real writer: a goroutine renames the
// clean and the signed malicious file over pytorch_model.bin as fast as
// it can while checks run, for a bounded time. No check may admit.
func TestRenameLoopNeverAdmits(t *testing.T) {
	model, pol, clean, evil := swapModel(t, false)
	g := gateFor(t, pol)
	w := filepath.Join(model, "pytorch_model.bin")
	a, b := filepath.Join(model, "..", "a.tmp"), filepath.Join(model, "..", "b.tmp")
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			src, data := a, clean
			if i%2 == 1 {
				src, data = b, evil
			}
			os.WriteFile(src, data, 0o644)
			os.Rename(src, w)
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	runs, changed, errs := 0, 0, 0
	for time.Now().Before(deadline) || runs < 5 {
		rep, err := g.Check(context.Background(), model)
		runs++
		if err != nil {
			errs++ // no verdict at all (exit 2): never an admission
			continue
		}
		if rep.Verdict == policy.Admitted {
			stop.Store(true)
			<-done
			t.Fatalf("run %d admitted the model while it was being swapped", runs)
		}
		if hasReason(rep, policy.RuleFileChanged) {
			changed++
		}
	}
	stop.Store(true)
	<-done
	if errs > runs/2 {
		t.Fatalf("%d of %d checks ended in an error: the race was not exercised", errs, runs)
	}
	t.Logf("%d checks under a rename loop, none admitted, %d refused as %s, %d without a verdict", runs, changed, policy.RuleFileChanged, errs)
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// countOpens makes g count the OS opens of each file (by base name) its
// checks make; read the map after Check returns.
func countOpens(g *policy.Gate) map[string]int {
	var mu sync.Mutex
	opens := map[string]int{}
	g.PassHooks = onepass.Options{OpenHook: func(p string) error {
		mu.Lock()
		opens[filepath.Base(p)]++
		mu.Unlock()
		return nil
	}}
	return opens
}

// wantOpenedOnce fails for each named file not opened exactly once.
func wantOpenedOnce(t *testing.T, opens map[string]int, names ...string) {
	t.Helper()
	for _, n := range names {
		if opens[n] != 1 {
			t.Errorf("%s opened %d times, want once", n, opens[n])
		}
	}
}
