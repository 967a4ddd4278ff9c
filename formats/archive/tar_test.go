package archive_test

import (
	"archive/tar"
	"os"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func TestTar(t *testing.T) {
	ok := buildTar(t, tarEntry{name: "model/", typ: tar.TypeDir}, tarEntry{name: "model/weights.txt", data: []byte("numbers")},
		tarEntry{name: "model/latest", link: "weights.txt", typ: tar.TypeSymlink})
	cases := []struct {
		name string
		data []byte
		want string
		min  formats.Severity
	}{
		{name: "tar with a folder, a file and an inside symlink", data: ok},
		{name: "tar member with .. traversal", data: buildTar(t, tarEntry{name: "../../home/u/.bashrc", data: []byte("x")}), want: "archive/path-escape"},
		{name: "tar absolute member", data: buildTar(t, tarEntry{name: "/etc/passwd", data: []byte("x")}), want: "archive/path-escape"},
		{name: "tar symlink escaping the root", data: buildTar(t, tarEntry{name: "model/link", link: "../../etc/shadow", typ: tar.TypeSymlink}), want: "archive/path-escape"},
		{name: "tar absolute symlink", data: buildTar(t, tarEntry{name: "pickle", link: "/etc/passwd", typ: tar.TypeSymlink}), want: "archive/path-escape"},
		{name: "tar hardlink outside the root", data: buildTar(t, tarEntry{name: "h", link: "../outside", typ: tar.TypeLink}), want: "archive/path-escape"},
		{name: "tar duplicate names (./ prefixed)", data: buildTar(t, tarEntry{name: "pickle", data: []byte("a")}, tarEntry{name: "./pickle", data: []byte("b")}), want: "archive/duplicate-name"},
		{name: "tar truncated in a member's data", data: buildTar(t, tarEntry{name: "big", data: make([]byte, 5000)})[:2048], want: "archive/truncated"},
		{name: "tar with a device node", data: buildTar(t, tarEntry{name: "dev", typ: tar.TypeChar}), want: "archive/special-member", min: formats.Medium},
		{name: "tar with a corrupt second header", data: func() []byte {
			b := buildTar(t, tarEntry{name: "a", data: []byte("x")}, tarEntry{name: "b", data: []byte("y")})
			b[1024+148] ^= 0x11 // second header's checksum
			return b
		}(), want: "archive/malformed"},
		// Readers that skip zero blocks (bsdtar --ignore-zeros) extract a
		// second tar glued behind the first one's end blocks.
		{name: "tar with a member after the end-of-archive blocks", data: append(buildTar(t, tarEntry{name: "config.json", data: []byte("{}")}),
			buildTar(t, tarEntry{name: "pytorch_model.bin", data: []byte("hidden")})...), want: "archive/data-after-end"},
		{name: "tar whose tail is one stray byte after the end", data: append(buildTar(t, tarEntry{name: "a", data: []byte("x")}), 1), want: "archive/data-after-end"},
		{name: "tar padded with zero blocks to a 10 KiB record", data: append(buildTar(t, tarEntry{name: "a", data: []byte("x")}), make([]byte, 8192)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, "test.tar", c.data, nil)
			if res.Format != "tar" {
				t.Fatalf("sniffed as %s", res.Format)
			}
			if c.want == "" {
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("want no finding, got %s", formatstest.Describe(res))
				}
				return
			}
			min := c.min
			if min == 0 {
				min = formats.High
			}
			if !has(res, c.want, min) {
				t.Fatalf("want %s, got %s", c.want, formatstest.Describe(res))
			}
		})
	}
}

// A tar inside a zip: members of every container are scanned, nested.
func TestTarInZip(t *testing.T) {
	inner := buildTar(t, tarEntry{name: "../escape", data: []byte("x")})
	res := scan(t, "outer.zip", buildZip(t, file{name: "inner.tar", data: inner}), nil)
	if !has(res, "archive/path-escape", formats.High) {
		t.Fatalf("nested tar not scanned: %s", formatstest.Describe(res))
	}
	for _, f := range res.Findings {
		if f.Rule == "archive/path-escape" && f.Member != "inner.tar!../escape" {
			t.Fatalf("finding not placed under the nested member: %q", f.Member)
		}
	}
}

func Test7z(t *testing.T) {
	// Fixtures from github.com/bodgit/sevenzip's testdata (BSD-3-Clause).
	cases := []struct {
		file, want string
	}{
		{"t0.7z", ""},
		{"t1.7z", ""},
		{"t2.7z", "archive/encrypted"}, // encrypted header
		{"t3.7z", "archive/encrypted"},
		{"t4.7z", "archive/encrypted"}, // plain header, encrypted members
		// Links written by 7-Zip -snl (testdata/make_7z_links.sh).
		{"link_inside.7z", ""},                      // a link to a sibling member
		{"link_escape.7z", "archive/path-escape"},   // tokenizer.model -> ../../../../etc/passwd
		{"link_absolute.7z", "archive/path-escape"}, // vocab.txt -> /etc/shadow
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			res := scan(t, c.file, b, nil)
			if res.Format != "7z" {
				t.Fatalf("sniffed as %s", res.Format)
			}
			if c.want == "" {
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("want no finding, got %s", formatstest.Describe(res))
				}
				return
			}
			if !has(res, c.want, formats.High) {
				t.Fatalf("want %s, got %s", c.want, formatstest.Describe(res))
			}
		})
	}
	// A 7z header of 64 bytes declaring billions of files: the reader
	// allocated ~28 GB before reading them and the process died of OOM
	// (found by Fuzz7z; third_party/sevenzip caps header counts). It must
	// come out as a finding, in bounded memory.
	huge := []byte("7z\xbc\xaf'\x1c006HR\xc5\x0f\x00\x00\x00\x00\x00\x00\x00Z\x00\x00\x00\x00\x00\x00\x00\x99\xae0+000000000000000\x01\x05\xee00000000")
	if res := scan(t, "huge-count.7z", huge, nil); !has(res, "archive/malformed", formats.High) {
		t.Fatalf("a 7z declaring billions of files: %s", formatstest.Describe(res))
	}
	// Encrypted or not, an unreadable 7z never passes: t5 (encrypted
	// members, plain header) must come out at High too.
	b, _ := os.ReadFile("testdata/t5.7z")
	if res := scan(t, "t5.7z", b, nil); len(formatstest.Rules(res, formats.High)) == 0 {
		t.Fatalf("t5.7z passed: %s", formatstest.Describe(res))
	}
}
