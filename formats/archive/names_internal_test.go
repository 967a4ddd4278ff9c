package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"testing"
)

func TestNameProblem(t *testing.T) {
	bad := []string{"", "../x", "a/../../x", "/abs", `\\server\share\x`, "//server/x", `a\b`, "C:x", "c:/x",
		"nul", "model/CON.txt", "com1", "LPT9.bin", "a\x00b", "a/..",
		"a/.../b.pkl", ".. /x", "a/.. ./x"} // Windows strips trailing dots and spaces
	good := []string{"archive/data.pkl", "a/b/c.npy", "..hidden", "x..y", "console.txt", "com0", "data/0", ".data/version", "dir/", "./a", "x.../y"}
	for _, n := range bad {
		if nameProblem(n) == "" {
			t.Errorf("%q not flagged", n)
		}
	}
	for _, n := range good {
		if p := nameProblem(n); p != "" {
			t.Errorf("%q flagged: %s", n, p)
		}
	}
	for _, c := range []struct {
		name, target string
		sym          bool
		escapes      bool
	}{
		{"a/link", "b", true, false}, {"a/link", "../b", true, false}, {"a/link", "../../b", true, true},
		{"link", "/etc/passwd", true, true}, {"h", "a/b", false, false}, {"h", "../b", false, true},
		// Windows reads ".. " and "..." as "..": a symlink climbing with
		// them escapes there, one climbing back inside does not.
		{"a/link", ".. /.. /secret", true, true}, {"link", "... /x", true, true}, {"a/link", ".. /b", true, false},
	} {
		if got := linkEscapes(c.name, c.target, c.sym) != ""; got != c.escapes {
			t.Errorf("link %s -> %s: escapes=%v, want %v", c.name, c.target, got, c.escapes)
		}
	}
}

// Old v7 tars have no ustar magic: only the checksum identifies them.
func TestSniffV7Tar(t *testing.T) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	w.WriteHeader(&tar.Header{Name: "sys_info", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
	w.Write([]byte("x"))
	w.Close()
	b := buf.Bytes()
	if !isTar(b) {
		t.Fatal("ustar not sniffed")
	}
	copy(b[257:265], make([]byte, 8)) // drop magic and version: a v7 header
	sum := 0
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	if !isTar(b) {
		t.Fatal("v7 tar with a valid checksum not sniffed")
	}
	b[148] = '7'
	if isTar(b) {
		t.Fatal("bad checksum sniffed as tar")
	}
	if isTar(bytes.Repeat([]byte("A"), 1024)) || isTar(make([]byte, 1024)) {
		t.Fatal("non-tar sniffed as tar")
	}
}
