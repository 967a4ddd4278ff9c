package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// TestSignatureSectionNamesFilesHiddenBySigner: a signature whose
// ignore_paths cover a folder verifies (as with the reference tool) even
// after a weights file is dropped there, but the policy's signature
// section must say that file is not covered, by name.
func TestSignatureSectionNamesFilesHiddenBySigner(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("w"), 0o644)
	k, pub := keyPair(t)
	os.WriteFile(filepath.Join(dir, "k.pub"), pub, 0o644)
	if _, _, err := verify.Sign(model, verify.SignOptions{Key: k, Hash: verify.HashOptions{IgnorePaths: []string{"extra"}}}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(model, "extra"), 0o755)
	os.WriteFile(filepath.Join(model, "extra", "pytorch_model.bin"), []byte("pickle"), 0o644)
	p := parse(t, dir, "signature:\n  required: true\n  keys: [k.pub]\n")
	o, err := Signature(context.Background(), model, p)
	if err != nil || !o.OK {
		t.Fatalf("signature: %+v %v", o, err)
	}
	text := strings.Join(o.Section.Lines, "\n")
	if !strings.Contains(text, "NOT covered") || !strings.Contains(text, "extra") {
		t.Errorf("section does not name the uncovered folder:\n%s", text)
	}
}
