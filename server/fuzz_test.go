package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// Whatever the name, an accepted member name stays inside the upload.
func FuzzMemberName(f *testing.F) {
	for _, s := range []string{"model.safetensors", "a/b/../c", "../x", "/etc/passwd", `..\x`, "C:x", "NUL.bin", "a//b/", "./.", "com1", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rel, err := memberName(name)
		if err != nil || rel == "" {
			return
		}
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") || strings.ContainsAny(rel, "\\:\x00") {
			t.Fatalf("%q accepted as %q", name, rel)
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			t.Fatalf("%q accepted as %q, which is not local", name, rel)
		}
	})
}

// Any bytes sent as a tar: no panic, nothing written outside the upload
// folder, and the limits hold.
func FuzzExtractTar(f *testing.F) {
	f.Add(tarOf(f, member{name: "a.bin", body: []byte("x")}))
	f.Add(tarOf(f, member{name: "../x", body: []byte("x")}))
	f.Add(tarOf(f, member{name: "d/", typeflag: '5'}, member{name: "d/e.bin", body: bytes.Repeat([]byte("y"), 100)}))
	f.Add(tarOf(f, member{name: "l", typeflag: '2', link: "/etc"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dir := filepath.Join(base, "model")
		os.Mkdir(dir, 0o700)
		extractTar(bytes.NewReader(data), int64(len(data)), dir, Limits{MaxUpload: 1 << 20, MaxExtract: 4096, MaxMembers: 16, MaxRatio: 200})
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("extraction wrote beside the upload folder: %v", ents)
		}
		var total int64
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
			if err == nil && fi.Mode()&os.ModeSymlink != 0 {
				t.Errorf("a link was created: %s", p)
			}
			return nil
		})
		if total > 4096 {
			t.Fatalf("extracted %d bytes past the 4096 cap", total)
		}
		if total > int64(len(data)) {
			t.Fatalf("a %d-byte tar extracted to %d bytes", len(data), total)
		}
	})
}

// Whatever the body, parseRequest either refuses it or returns the one
// "model" string of a single-key object.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"model":"org/name"}`, `{"MODEL":"x"}`, `{"model":"a","model":"b"}`, `{"model":"a"}{}`, `{"mode\u017f":"x"}`, `["x"]`, "{\"model\":\"\xff\"}", `{"model":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := parseRequest(b)
		if err != nil {
			return
		}
		var v map[string]any
		if json.Unmarshal(b, &v) != nil || len(v) != 1 || v["model"] != name {
			t.Fatalf("accepted %q as %q", b, name)
		}
	})
}
