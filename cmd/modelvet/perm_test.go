package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPermissionDeniedExit2 runs the binary as an unprivileged user on a
// signed model with one file it may not read: verify, hash and check all
// exit 2 (an unreadable path), never 1 ("did not verify", "rejected").
// It needs root (to drop to nobody) and setpriv.
func TestPermissionDeniedExit2(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the binary as another user (a non-root tester cannot make a file unreadable to itself reliably)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed")
	}
	if testing.Short() {
		t.Skip("-short: skipping the binary build")
	}
	bin := filepath.Join(t.TempDir(), "modelvet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	model, pol, _, _ := swapModel(t, true)
	dir := filepath.Dir(model)
	// Everything readable by others except the weights.
	for _, p := range []string{filepath.Dir(bin), filepath.Dir(dir), dir, model} {
		os.Chmod(p, 0o755)
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chmod(p, 0o644)
		}
		return nil
	})
	os.Chmod(bin, 0o755)
	os.Chmod(filepath.Join(model, "pytorch_model.bin"), 0)
	for _, args := range [][]string{
		{"verify", model, "--key", filepath.Join(dir, "publisher.pub")},
		{"hash", model},
		{"check", model, "--policy", pol},
		{"check", model, "--policy", "default"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		code := cmd.ProcessState.ExitCode()
		if code != 2 || !strings.Contains(stderr.String(), "permission denied") {
			t.Errorf("%s: exit %d (%v), want 2 naming the unreadable file; stderr: %s", args[0], code, err, stderr.String())
		}
	}
}
