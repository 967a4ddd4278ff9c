package archive

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// reparseBuffer builds what 7-Zip on Windows stores as a link member's
// content: a REPARSE_DATA_BUFFER for a symbolic link or mount point.
func reparseBuffer(tag uint32, target string) []byte {
	u := utf16.Encode([]rune(target))
	name := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(name[2*i:], c)
	}
	hdr := 16
	if tag == 0xA000000C {
		hdr = 20
	}
	b := make([]byte, hdr+len(name))
	binary.LittleEndian.PutUint32(b[0:], tag)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(b)-8))
	binary.LittleEndian.PutUint16(b[8:], 0)                  // substitute name offset
	binary.LittleEndian.PutUint16(b[10:], uint16(len(name))) // substitute name length
	copy(b[hdr:], name)
	return b
}

func TestReparseTargets(t *testing.T) {
	cases := []struct {
		name   string
		buf    []byte
		target string
		ok     bool
		escape bool
	}{
		{"symlink to a sibling", reparseBuffer(0xA000000C, "weights.bin"), "weights.bin", true, false},
		{"symlink climbing out", reparseBuffer(0xA000000C, `..\..\Users\me\.ssh\id_rsa`), `..\..\Users\me\.ssh\id_rsa`, true, true},
		{"junction to a drive", reparseBuffer(0xA0000003, `\??\C:\Windows\System32`), `C:\Windows\System32`, true, true},
		{"unknown reparse tag", reparseBuffer(0x80000017, "x"), "", false, false},
		{"truncated", []byte{0x0c, 0, 0, 0xa0}, "", false, false},
		{"name past the buffer", func() []byte { b := reparseBuffer(0xA000000C, "abc"); b[10] = 200; return b }(), "", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := reparseTarget(c.buf)
			if ok != c.ok || got != c.target {
				t.Fatalf("reparseTarget = %q, %v; want %q, %v", got, ok, c.target, c.ok)
			}
			if ok {
				if esc := linkEscapes("model/link", got, true) != ""; esc != c.escape {
					t.Errorf("link to %q: escape = %v, want %v", got, esc, c.escape)
				}
			}
		})
	}
}
