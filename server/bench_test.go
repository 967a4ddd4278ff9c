package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkUploadArchivePath measures what an upload costs before its
// check: the archive read with formats/archive, then the capped
// extraction, on a 16 MiB tar of four members.
func BenchmarkUploadArchivePath(b *testing.B) {
	f := newFixture(b)
	s, err := New(Config{Gate: realGate(f.policy), TempDir: filepath.Join(b.TempDir(), "tmp")})
	if err != nil {
		b.Fatal(err)
	}
	var ms []member
	for i := range 4 {
		body := bytes.Repeat([]byte{byte(i), 1, 2, 3}, 1<<20)
		ms = append(ms, member{name: "shard-" + string(rune('a'+i)) + ".bin", body: body})
	}
	data := tarOf(b, ms...)
	spool := filepath.Join(s.tmp, "upload.tar")
	if err := os.WriteFile(spool, data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if rep, err := s.checkArchive(spool, "tar", int64(len(data)), ""); rep != nil || err != nil {
			b.Fatalf("%v %v", rep, err)
		}
		dir := filepath.Join(s.tmp, "model")
		os.RemoveAll(dir)
		os.Mkdir(dir, 0o700)
		fh, _ := os.Open(spool)
		if err := extractTar(fh, int64(len(data)), dir, s.cfg.Limits); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
}
