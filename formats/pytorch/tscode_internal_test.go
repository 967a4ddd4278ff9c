package pytorch

import (
	"path/filepath"
	"strings"
	"testing"

	"archive/zip"
	"io"
)

// realSources returns the code members of the committed benign TorchScript
// archives: the fuzz seeds and the benchmark input.
func realSources(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/torchscript/*.pt")
	var out []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "evil_") {
			continue
		}
		zr, err := zip.OpenReader(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range zr.File {
			if strings.HasSuffix(m.Name, ".py") {
				rc, _ := m.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				out = append(out, string(b))
			}
		}
		zr.Close()
	}
	if len(out) == 0 {
		t.Fatal("no TorchScript sources in testdata/torchscript")
	}
	return out
}

// FuzzTorchScriptCode: the tokenizer and the judgement never panic or
// hang on hostile source.
func FuzzTorchScriptCode(f *testing.F) {
	for _, s := range realSources(f) {
		f.Add(s)
	}
	f.Add("def f(x):\n  return getattr(x, '''a\n''') # )\n")
	f.Add("(((")
	f.Add("x = \"unterminated\n")
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := tokenize(src)
		if err != nil {
			return
		}
		p := newTSProgram()
		p.add("code/x.py", toks)
		_ = p.findings()
	})
}

func BenchmarkTorchScriptCode(b *testing.B) {
	src := strings.Join(realSources(b), "\n")
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		toks, err := tokenize(src)
		if err != nil {
			b.Fatal(err)
		}
		p := newTSProgram()
		p.add("code/x.py", toks)
		if len(p.findings()) > 0 {
			b.Fatal("real sources judged")
		}
	}
}

// bytecodes returns the bytecode.pkl members of the committed mobile
// archives.
func bytecodes(t testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/torchscript/*.ptl")
	var out [][]byte
	for _, f := range files {
		zr, err := zip.OpenReader(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range zr.File {
			if strings.HasSuffix(m.Name, "/bytecode.pkl") {
				rc, _ := m.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				out = append(out, b)
			}
		}
		zr.Close()
	}
	if len(out) == 0 {
		t.Fatal("no bytecode.pkl in testdata/torchscript/*.ptl")
	}
	return out
}

// FuzzBytecodeOps: the operator-name reader of mobile bytecode never
// panics and reads only within the buffer.
func FuzzBytecodeOps(f *testing.F) {
	for _, b := range bytecodes(f) {
		f.Add(b)
	}
	f.Add([]byte("X\x0f\x00\x00\x00aten::from_file\x8c\x0cmyns::run_it"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, _ := bytecodeOps(b)
		for _, op := range ops {
			if op.off < 0 || op.off >= len(b) {
				t.Fatalf("offset %d outside %d bytes", op.off, len(b))
			}
		}
	})
}

func BenchmarkBytecodeOps(b *testing.B) {
	var all []byte
	for _, c := range bytecodes(b) {
		all = append(all, c...)
	}
	b.SetBytes(int64(len(all)))
	for b.Loop() {
		if ops, _ := bytecodeOps(all); len(ops) == 0 {
			b.Fatal("no operators found in real bytecode")
		}
	}
}
