//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRSSChild is the child process of TestMemoryFlat: it runs the
// command line in MODELVET_RSS_ARGS and exits with its status, so the
// parent reads the child's peak RSS alone (getrusage of the child).
func TestRSSChild(t *testing.T) {
	args := os.Getenv("MODELVET_RSS_ARGS")
	if args == "" {
		t.Skip("the child of TestMemoryFlat; runs only when it sets MODELVET_RSS_ARGS")
	}
	os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

// TestMemoryFlat: memory stays flat as files grow. A model is scanned
// (headers only) and checked (every byte read once through the one pass
// and hashed) at 1 GiB and at 4 GiB, in a child process each; the peak
// RSS (getrusage) of the 4 GiB run must be about that of the 1 GiB run.
// A reader that buffered a file, or a tensor, or kept what it hashed,
// would grow by gigabytes. The files are sparse (zeros that take no disk),
// which safetensors and GGUF tensor data allow.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 5 GiB; not run with -short")
	}
	cases := []struct {
		name  string
		file  string
		write func(t *testing.T, path string, size int64)
		cmd   []string
	}{
		{"safetensors scan", "model.safetensors", sparseSafetensors, []string{"scan", "--format", "text"}},
		{"safetensors check, hashed (json report)", "model.safetensors", sparseSafetensors, []string{"check", "--policy", "default", "--format", "json"}},
		{"gguf scan", "model.gguf", sparseGGUF, []string{"scan", "--format", "text"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rss [2]int64
			for i, size := range []int64{1 << 30, 4 << 30} {
				dir := t.TempDir()
				p := filepath.Join(dir, c.file)
				c.write(t, p, size)
				args := append(append([]string(nil), c.cmd...), p)
				if c.cmd[0] == "check" {
					args = append(c.cmd[:1:1], append([]string{p}, c.cmd[1:]...)...)
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$")
				cmd.Env = append(os.Environ(), "MODELVET_RSS_ARGS="+strings.Join(args, "\x1f"))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v at %d GiB: %v\n%s", args, size>>30, err, out)
				}
				rss[i] = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
				os.Remove(p)
			}
			t.Logf("peak RSS: 1 GiB %d MiB, 4 GiB %d MiB", rss[0]>>20, rss[1]>>20)
			if rss[1] > rss[0]+rss[0]/4+(16<<20) {
				t.Errorf("peak RSS grew with the file: 1 GiB %d MiB, 4 GiB %d MiB", rss[0]>>20, rss[1]>>20)
			}
		})
	}
}

// sparseSafetensors writes a safetensors file of size bytes: a header
// naming one U8 tensor over the rest, whose bytes are a hole.
func sparseSafetensors(t *testing.T, path string, size int64) {
	var h string
	for n := int64(0); ; {
		h = fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, n, n)
		for len(h)%8 != 0 {
			h += " "
		}
		if want := size - 8 - int64(len(h)); n != want {
			n = want
			continue
		}
		break
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	writeSparse(t, path, append(b, h...), size)
}

// sparseGGUF writes a GGUF v3 file of size bytes: one I8 tensor over the
// rest (after the 32-byte alignment), whose bytes are a hole.
func sparseGGUF(t *testing.T, path string, size int64) {
	str := func(b []byte, s string) []byte {
		return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
	}
	build := func(n int64) []byte {
		b := []byte("GGUF")
		b = binary.LittleEndian.AppendUint32(b, 3)
		b = binary.LittleEndian.AppendUint64(b, 1) // tensors
		b = binary.LittleEndian.AppendUint64(b, 1) // metadata
		b = str(b, "general.architecture")
		b = binary.LittleEndian.AppendUint32(b, 8) // string
		b = str(b, "llama")
		b = str(b, "w")
		b = binary.LittleEndian.AppendUint32(b, 1) // dims
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
		b = binary.LittleEndian.AppendUint32(b, 24) // I8
		b = binary.LittleEndian.AppendUint64(b, 0)  // offset
		for len(b)%32 != 0 {
			b = append(b, 0)
		}
		return b
	}
	head := build(size)
	writeSparse(t, path, build(size-int64(len(head))), size)
}

func writeSparse(t *testing.T, path string, head []byte, size int64) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}
