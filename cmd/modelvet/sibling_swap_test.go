package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
)

// TestSiblingSwapRefused: a file an analyzer reads besides the one it
// was given (ONNX external data, a Hugging Face cache blob verified
// against its name) is read through the check's one pass, so when it is
// swapped after that read and before the hashing pass the check refuses
// it (check/file-changed). Reading such files by path, outside the pass,
// let the verdict rest on a file the signature and digests never covered.
func TestSiblingSwapRefused(t *testing.T) {
	cases := []struct {
		name string
		// setup builds the model and returns the folder to check, the
		// file whose hashing pass triggers the swap, and the swap.
		setup func(t *testing.T) (model, trigger string, swap func(t *testing.T))
		hash  bool
	}{
		{name: "ONNX external data renamed over after the model's analyzer measured it", hash: true, setup: onnxExternalSwap},
		{name: "ONNX external data renamed over, text check (no hashing)", hash: false, setup: onnxExternalSwap},
		{name: "HF cache blob rewritten in place (size and mtime kept) after it was verified against its name", hash: true, setup: hfBlobRewrite},
		{name: "HF cache blob renamed over after it was verified against its name", hash: true, setup: hfBlobRename},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model, trigger, swap := c.setup(t)
			// Unswapped, the model is admitted: the refusal below is the swap's.
			g := newGate(policy.Default())
			g.Hash = c.hash
			rep, err := g.Check(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != policy.Admitted {
				t.Fatalf("the unswapped model is not admitted: %s %+v", rep.Verdict, rep.Reasons)
			}
			g = newGate(policy.Default())
			g.Hash = c.hash
			swapped := false
			g.PassHooks = onepass.Options{BeforeHash: func(p string) {
				if !swapped && filepath.Base(p) == trigger {
					swapped = true
					swap(t)
				}
			}}
			rep, err = g.Check(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			if !swapped {
				t.Fatal("the swap never ran")
			}
			if rep.Verdict == policy.Admitted || !hasReason(rep, policy.RuleFileChanged) {
				t.Fatalf("swapped sibling admitted: %s %+v\n%s", rep.Verdict, rep.Reasons, describeFiles(rep))
			}
		})
	}
}

func describeFiles(rep *report.Report) string {
	s := ""
	for _, f := range rep.Files {
		s += f.Path + " " + f.Format + "\n"
		for _, x := range f.Findings {
			s += "  " + x.Rule + " " + x.Message + "\n"
		}
	}
	return s
}

// onnxExternalSwap: model.onnx names weights.bin as external data; the
// swap, when model.onnx is hashed (after its analyzer checked the data's
// size), renames a same-size file of zeros over weights.bin.
func onnxExternalSwap(t *testing.T) (string, string, func(*testing.T)) {
	src := filepath.Join("..", "..", "formats", "onnx", "testdata", "external_ok")
	model := filepath.Join(t.TempDir(), "m")
	os.MkdirAll(model, 0o755)
	var size int
	for _, n := range []string{"model.onnx", "weights.bin"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		size = len(b)
		os.WriteFile(filepath.Join(model, n), b, 0o644)
	}
	w := filepath.Join(model, "weights.bin")
	return model, "model.onnx", func(t *testing.T) {
		os.WriteFile(w+".tmp", make([]byte, size), 0o644)
		if err := os.Rename(w+".tmp", w); err != nil {
			t.Skipf("this OS refuses to rename over an open file (%v)", err)
		}
	}
}

// hfCache builds models--org--m with one safetensors blob named by its
// SHA-256 and a snapshot linking to it; it returns the snapshot folder and
// the blob's path and content.
func hfCache(t *testing.T) (snap, blob string, data []byte) {
	h := `{"w":{"dtype":"F32","shape":[16384],"data_offsets":[0,65536]}}`
	for len(h)%8 != 0 {
		h += " "
	}
	data = binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	data = append(append(data, h...), make([]byte, 65536)...) // past the 4 KiB the sniffers read
	sum := sha256.Sum256(data)
	repo := filepath.Join(t.TempDir(), "models--org--m")
	snap = filepath.Join(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567")
	os.MkdirAll(filepath.Join(repo, "blobs"), 0o755)
	os.MkdirAll(snap, 0o755)
	blob = filepath.Join(repo, "blobs", hex.EncodeToString(sum[:]))
	os.WriteFile(blob, data, 0o644)
	if err := os.Symlink(filepath.Join("..", "..", "blobs", filepath.Base(blob)), filepath.Join(snap, "model.safetensors")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	return snap, blob, data
}

// hfBlobRewrite changes one tensor byte of the blob in place, after the
// folder check hashed it and the scan read its header, and puts its
// modification time back: only the bytes tell.
func hfBlobRewrite(t *testing.T) (string, string, func(*testing.T)) {
	snap, blob, data := hfCache(t)
	return snap, "model.safetensors", func(t *testing.T) {
		fi, _ := os.Stat(blob)
		f, err := os.OpenFile(blob, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{0x7f}, int64(len(data)-1))
		f.Close()
		os.Chtimes(blob, fi.ModTime(), fi.ModTime())
	}
}

// hfBlobRename renames another file (one tensor byte differs) over the
// blob the snapshot links to.
func hfBlobRename(t *testing.T) (string, string, func(*testing.T)) {
	snap, blob, data := hfCache(t)
	return snap, "model.safetensors", func(t *testing.T) {
		evil := append([]byte(nil), data...)
		evil[len(evil)-1] = 0x7f
		os.WriteFile(blob+".tmp", evil, 0o644)
		if err := os.Rename(blob+".tmp", blob); err != nil {
			t.Skipf("this OS refuses to rename over an open file (%v)", err)
		}
	}
}
