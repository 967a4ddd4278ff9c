package onepass

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/verify"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// scanLike reads the way analyzers do: a head, a header, a stretch in the
// middle, read in small sequential pieces (coalesced) and re-reads.
func scanLike(t *testing.T, h formats.Handle, size int64) {
	t.Helper()
	buf := make([]byte, 100)
	for _, off := range []int64{0, 0, 100, 200, size / 2, size/2 + 100, 10} {
		if off >= size {
			continue
		}
		n, err := h.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil && err != io.EOF || n == 0 {
			t.Fatalf("read at %d: %d %v", off, n, err)
		}
	}
}

func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestPassCatchesChanges(t *testing.T) {
	const small = 5000
	big := formats.HashBufSize*2 + 123 // the pass reads it in three chunks
	restore := func(t *testing.T, p string, fi os.FileInfo) {
		// An attacker resets the modification time: only content shows it.
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		size      int
		before    func(t *testing.T, p string) // BeforeHash
		during    func(t *testing.T, p string) // DuringHash
		changed   string                       // substring of Changed, "" for none
		hashedNew bool                         // the digest is of the rewritten bytes
		readAll   bool                         // the scan reads every byte (a cache blob verified against its name)
		shard     int64                        // ShardSize: shard digests too (the whole-file digest on its own goroutine)
		// shardsOnly: a signature alone needs digests (SignatureOnly):
		// no whole-file SHA-256 when it needs shards or another hash type;
		// shards are hashed by two workers.
		shardsOnly bool
		hashType   string // the signature's hash type ("" is sha256)
	}{
		{name: "untouched file", size: small},
		{name: "untouched large file", size: big},
		{name: "rename swap (clean file shown to the scan, signed malicious one renamed over)", size: small,
			before: func(t *testing.T, p string) {
				os.WriteFile(p+".evil", content(small, 9), 0o644)
				if err := os.Rename(p+".evil", p); err != nil {
					t.Skipf("this OS refuses to rename over an open file (%v): the swap cannot happen", err)
				}
			}, changed: "renamed over"},
		{name: "in-place rewrite of scanned bytes, same size, mtime restored", size: small,
			before: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), 0)
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "in-place rewrite of the middle while hashing", size: big,
			during: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), int64(big/2+50))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "in-place rewrite of bytes no analyzer read (tensor data), mtime restored", size: small,
			before: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("ZZZZ"), small-4)
				f.Close()
				restore(t, p, fi)
			}, hashedNew: true},
		{name: "whole file read (cache blob verification), untouched, with shard digests", size: big, readAll: true, shard: 1 << 20},
		{name: "whole file read (cache blob verification), last byte rewritten in place, mtime restored", size: big, readAll: true,
			before: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("Z"), int64(big-1))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "in-place rewrite of the middle while hashing, with shard digests", size: big, shard: 1 << 20,
			during: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), int64(big/2+50))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "shards only: untouched large file, shards hashed in parallel", size: big, shard: 1 << 20, shardsOnly: true},
		{name: "shards only: whole file read (one scan read crossing every shard), untouched", size: big, shard: 1 << 20, shardsOnly: true, readAll: true},
		{name: "shards only: whole file read, last byte rewritten in place, mtime restored", size: big, shard: 1 << 20, shardsOnly: true, readAll: true,
			before: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("Z"), int64(big-1))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "shards only: in-place rewrite of scanned bytes in the first shard while hashing", size: big, shard: 2 << 20, shardsOnly: true,
			during: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), int64(big/2+50))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "shards only: truncated while hashing", size: big, shard: 2 << 20, shardsOnly: true,
			during: func(t *testing.T, p string) { os.Truncate(p, small) }, changed: "shrank"},
		{name: "shards only: scan read past the hashed end (file shrank, then grew back), last shard", size: big, shard: 1 << 20, shardsOnly: true,
			before: func(t *testing.T, p string) { os.Truncate(p, int64(big-50)) }, changed: "shrank"},
		{name: "blake2b files signature only: untouched large file, no sha256", size: big, hashType: verify.HashBLAKE2b, shardsOnly: true},
		{name: "blake3 files signature and report sha256: untouched large file, both digests", size: big, hashType: verify.HashBLAKE3},
		{name: "blake3 files signature only: whole file read, untouched", size: big, hashType: verify.HashBLAKE3, shardsOnly: true, readAll: true},
		{name: "blake2b files signature only: rename swap", size: small, hashType: verify.HashBLAKE2b, shardsOnly: true,
			before: func(t *testing.T, p string) {
				os.WriteFile(p+".evil", content(small, 9), 0o644)
				if err := os.Rename(p+".evil", p); err != nil {
					t.Skipf("this OS refuses to rename over an open file (%v): the swap cannot happen", err)
				}
			}, changed: "renamed over"},
		{name: "blake3 files signature only: in-place rewrite of the middle while hashing", size: big, hashType: verify.HashBLAKE3, shardsOnly: true,
			during: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), int64(big/2+50))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "blake2b shards only: untouched large file, shards hashed in parallel", size: big, shard: 1 << 20, shardsOnly: true, hashType: verify.HashBLAKE2b},
		{name: "blake2b shards with report sha256: untouched large file", size: big, shard: 1 << 20, hashType: verify.HashBLAKE2b},
		{name: "blake2b shards only: in-place rewrite of scanned bytes while hashing", size: big, shard: 2 << 20, shardsOnly: true, hashType: verify.HashBLAKE2b,
			during: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY, 0)
				f.WriteAt([]byte("EVIL"), int64(big/2+50))
				f.Close()
				restore(t, p, fi)
			}, changed: "changed between the scan and the hashing pass"},
		{name: "truncated before hashing", size: small,
			before: func(t *testing.T, p string) { os.Truncate(p, small/2) }, changed: "shrank"},
		{name: "appended to before hashing, mtime restored", size: small,
			before: func(t *testing.T, p string) {
				fi, _ := os.Stat(p)
				f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
				f.Write([]byte("PK\x05\x06 new central directory"))
				f.Close()
				restore(t, p, fi)
			}, changed: "grew"},
		{name: "removed before hashing", size: small,
			before: func(t *testing.T, p string) {
				if err := os.Remove(p); err != nil {
					t.Skipf("this OS refuses to remove an open file (%v)", err)
				}
			}, changed: "no longer names a file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "pytorch_model.bin")
			orig := content(c.size, 1)
			os.WriteFile(p, orig, 0o644)
			o := Options{Root: dir, ShardSize: c.shard, SignatureOnly: c.shardsOnly, HashType: c.hashType}
			ht, newHash, err := verify.HashFactory(c.hashType)
			if err != nil {
				t.Fatal(err)
			}
			hsum := func(b []byte) string { h := newHash(); h.Write(b); return hex.EncodeToString(h.Sum(nil)) }
			if c.before != nil {
				o.BeforeHash = func(string) { c.before(t, p) }
			}
			if c.during != nil {
				o.DuringHash = func(string) { c.during(t, p) }
			}
			s := New(o)
			s.minShardWorkers = 2 // in parallel even under -cpu 1
			h, err := s.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if c.readAll {
				buf := make([]byte, 4096)
				for off := int64(0); off < int64(c.size); off += 4096 {
					h.ReadAt(buf, off)
				}
			} else {
				scanLike(t, h, int64(c.size))
			}
			h.Close()
			f, ok := s.Lookup(p)
			if !ok {
				t.Fatal("file not recorded")
			}
			switch {
			case c.changed == "" && f.Changed != nil:
				t.Fatalf("changed: %v", f.Changed)
			case c.changed != "" && (f.Changed == nil || !strings.Contains(f.Changed.Error(), c.changed)):
				t.Fatalf("Changed = %v, want %q", f.Changed, c.changed)
			case c.changed != "":
				if _, _, _, err := s.FileDigests(p, ht, c.shard); err == nil {
					t.Fatal("a changed file must have no digests for a manifest")
				}
				return
			}
			want := orig
			if c.hashedNew {
				want, _ = os.ReadFile(p)
			}
			switch {
			case c.shardsOnly && (c.shard > 0 || ht != verify.HashSHA256):
				if f.SHA256 != "" {
					t.Fatalf("a signature-only pass computed the whole-file SHA-256 %s it does not need", f.SHA256)
				}
				if _, _, _, err := s.FileDigests(p, verify.HashSHA256, 0); err == nil {
					t.Fatal("FileDigests for sha256 files must fail when only the signature's digests were hashed")
				}
			case f.SHA256 != sum(want) || f.Size != int64(len(want)):
				t.Fatalf("digest %s size %d, want %s %d", f.SHA256, f.Size, sum(want), len(want))
			}
			if c.shard == 0 {
				size, d, _, err := s.FileDigests(p, ht, 0)
				if err != nil || d != hsum(want) || size != int64(len(want)) || f.HashType != ht {
					t.Fatalf("%s files digest %s (%v), size %d, type %s; want %s %d", ht, d, err, size, f.HashType, hsum(want), len(want))
				}
				if other := verify.HashBLAKE2b; ht != other && ht != verify.HashSHA256 {
					if _, _, _, err := s.FileDigests(p, other, 0); err == nil {
						t.Fatalf("FileDigests gave %s digests of a pass that hashed %s", other, ht)
					}
				}
			}
			if c.shard > 0 {
				var shards []string
				for off := int64(0); off < int64(len(want)); off += c.shard {
					shards = append(shards, hsum(want[off:min(off+c.shard, int64(len(want)))]))
				}
				_, _, got, err := s.FileDigests(p, ht, c.shard)
				if err != nil || !slices.Equal(f.Shards, shards) || !slices.Equal(got, shards) {
					t.Fatalf("%s shard digests %v (%v), want %v", ht, f.Shards, err, shards)
				}
				if _, _, _, err := s.FileDigests(p, verify.HashBLAKE3, c.shard); err == nil {
					t.Fatalf("FileDigests gave blake3 shards of a pass that hashed %s", ht)
				}
			}
		})
	}
}

func TestSharedOpenAndReadFile(t *testing.T) {
	dir := t.TempDir()
	sig := filepath.Join(dir, "model.sig")
	os.WriteFile(sig, []byte(`{"signed":1}`), 0o644)
	opens := 0
	s := New(Options{Root: dir, OpenHook: func(string) error { opens++; return nil }})
	b, err := s.ReadFile(sig, 1<<20)
	if err != nil || string(b) != `{"signed":1}` {
		t.Fatalf("%q %v", b, err)
	}
	// The scan of the same file shares the open; the pass runs at Finish.
	h, err := s.Open(sig)
	if err != nil {
		t.Fatal(err)
	}
	scanLike(t, h, int64(len(b)))
	h.Close()
	if _, ok := s.Lookup(sig); ok {
		t.Fatal("hashed before the last handle closed")
	}
	s.Finish()
	f, ok := s.Lookup(sig)
	if !ok || f.Changed != nil || f.SHA256 != sum(b) || opens != 1 {
		t.Fatalf("%+v %v opens=%d", f, ok, opens)
	}
}

// TestConcurrentOpensOpenOnce: a file's own scan and another analyzer's
// side read (a folder check reading config.json) asking at the same
// moment share one OS open; before, both opened and the later one joined,
// so a file could be opened twice (seen as a flaky CI failure).
func TestConcurrentOpensOpenOnce(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	os.WriteFile(p, []byte(`{"a":1}`), 0o644)
	for round := 0; round < 50; round++ {
		var mu sync.Mutex
		opens := 0
		s := New(Options{Root: dir, OpenHook: func(string) error {
			mu.Lock()
			opens++
			mu.Unlock()
			time.Sleep(100 * time.Microsecond) // widen the window
			return nil
		}})
		var wg sync.WaitGroup
		handles := make([]formats.Handle, 8)
		for i := range handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i == 0 {
					handles[i], err = s.Open(p)
				} else {
					handles[i], err = s.OpenOther(p)
				}
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, h := range handles {
			if h != nil {
				scanLike(t, h, 7)
				h.Close()
			}
		}
		s.Finish()
		if opens != 1 {
			t.Fatalf("round %d: opened %d times, want once", round, opens)
		}
		if f, ok := s.Lookup(p); !ok || f.Changed != nil {
			t.Fatalf("round %d: %+v %v", round, f, ok)
		}
	}
}

func TestOpenedTwiceMustMatch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	os.WriteFile(p, []byte(`{"a":1}`), 0o644)
	s := New(Options{Root: dir})
	h, _ := s.Open(p)
	scanLike(t, h, 7)
	h.Close()
	os.WriteFile(p+".new", []byte(`{"b":2}`), 0o644)
	os.Rename(p+".new", p)
	h, _ = s.Open(p)
	scanLike(t, h, 7)
	h.Close()
	if f, _ := s.Lookup(p); f.Changed == nil {
		t.Fatal("a file read twice with different content must be Changed")
	}
}

func TestShardsAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(t.TempDir(), "snap")
	os.Mkdir(snap, 0o700)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	data := content(10_000, 3)
	p := filepath.Join(dir, "sub", "w.bin")
	os.WriteFile(p, data, 0o644)
	s := New(Options{Root: dir, SnapshotDir: snap, ShardSize: 4096})
	h, _ := s.Open(p)
	scanLike(t, h, int64(len(data)))
	h.Close()
	f, _ := s.Lookup(p)
	want := []string{sum(data[:4096]), sum(data[4096:8192]), sum(data[8192:])}
	if strings.Join(f.Shards, ",") != strings.Join(want, ",") {
		t.Errorf("shards %v, want %v", f.Shards, want)
	}
	got, err := os.ReadFile(filepath.Join(snap, "sub", "w.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("snapshot copy differs: %v", err)
	}
	if g, ok := s.Lookup(filepath.Join(snap, "sub", "w.bin")); !ok || g != f {
		t.Error("the copy's path does not find the file's digests")
	}
}

func TestSpanCapFailsClosed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.bin")
	os.WriteFile(p, content(1000, 0), 0o644)
	s := New(Options{Root: dir, MaxSpans: 4})
	h, _ := s.Open(p)
	b := make([]byte, 1)
	for off := int64(0); off < 1000; off += 10 { // scattered: no coalescing
		h.ReadAt(b, off)
	}
	h.Close()
	if f, _ := s.Lookup(p); f.Changed == nil {
		t.Fatal("past the span cap the file must be refused")
	}
}

func TestOpenErrorsAreKept(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.bin")
	os.WriteFile(p, []byte("x"), 0o644)
	s := New(Options{Root: dir, OpenHook: func(string) error { return os.ErrPermission }})
	if _, err := s.Open(p); !errors.Is(err, os.ErrPermission) {
		t.Fatal(err)
	}
	if len(s.OpenErrors()) != 1 {
		t.Fatal("open error not kept")
	}
}

// BenchmarkPass measures the hashing pass (with span checks) on a file
// the scan read a header of.
func BenchmarkPass(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "w.bin")
	data := content(64<<20, 5)
	os.WriteFile(p, data, 0o644)
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 4096)
	start := time.Now()
	for b.Loop() {
		s := New(Options{Root: dir})
		h, _ := s.Open(p)
		h.ReadAt(buf, 0)
		h.Close()
	}
	_ = start
}

// FuzzSpans reads an unchanging file in the order and sizes the input
// dictates: however the reads fall (overlapping, repeated, past the end),
// the pass must find the file unchanged and hash exactly its bytes.
func FuzzSpans(f *testing.F) {
	f.Add([]byte{0, 10, 0, 10, 5, 20, 200, 255})
	f.Add([]byte{1, 1, 2, 2, 3, 3, 250, 100})
	f.Fuzz(func(t *testing.T, ops []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		data := content(3000, 7)
		os.WriteFile(p, data, 0o644)
		s := New(Options{Root: dir, MaxSpans: 64})
		h, err := s.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(ops) && i < 100; i += 2 {
			off, n := int64(ops[i])*13, int(ops[i+1])*3
			h.ReadAt(make([]byte, n), off)
		}
		h.Close()
		got, _ := s.Lookup(p)
		if got.Changed != nil && !strings.Contains(got.Changed.Error(), "separate pieces") {
			t.Fatalf("unchanged file reported changed: %v", got.Changed)
		}
		if got.SHA256 != sum(data) {
			t.Fatal("wrong digest")
		}
	})
}

// flipKeepingTime rewrites the byte at off (was b) in place and puts the
// modification time back, as an attacker hiding the change would.
func flipKeepingTime(p string, off int64, b byte) {
	fi, _ := os.Stat(p)
	w, _ := os.OpenFile(p, os.O_WRONLY, 0)
	w.WriteAt([]byte{b ^ 0xff}, off)
	w.Close()
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
}

// FuzzSpansDetect reads as the input dictates, then rewrites one byte the
// reads returned (same size, modification time put back) before the
// hashing pass: whatever the read pattern, the pass must see it.
func FuzzSpansDetect(f *testing.F) {
	f.Add([]byte{0, 10, 0, 10, 5, 20, 200, 255}, uint16(3))
	f.Add([]byte{1, 1, 2, 2, 3, 3, 100, 100}, uint16(0))
	f.Fuzz(func(t *testing.T, ops []byte, pick uint16) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		data := content(3000, 7)
		os.WriteFile(p, data, 0o644)
		var read []int64
		s := New(Options{Root: dir, BeforeHash: func(string) {
			if len(read) == 0 {
				return
			}
			off := read[int(pick)%len(read)]
			flipKeepingTime(p, off, data[off])
		}})
		h, err := s.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(ops) && i < 100; i += 2 {
			off, n := int64(ops[i])*13, int(ops[i+1])*3
			k, _ := h.ReadAt(make([]byte, n), off)
			for j := 0; j < k; j++ {
				read = append(read, off+int64(j))
			}
		}
		h.Close()
		got, _ := s.Lookup(p)
		if len(read) > 0 && got.Changed == nil {
			t.Fatalf("a byte the scan read was rewritten and the pass did not notice (%d bytes read)", len(read))
		}
	})
}

// FuzzShardsDetect is FuzzSpansDetect for the shards-only pass, which
// hashes shards side by side and splits the recorded reads among them:
// reads anywhere (across shard ends too), any shard size; untouched, the
// shard digests are right; with one byte the scan read rewritten before
// the pass (mtime put back), the pass notices.
func FuzzShardsDetect(f *testing.F) {
	f.Add([]byte{0, 10, 0, 10, 5, 20, 200, 255}, uint16(3), uint16(500), false)
	f.Add([]byte{1, 1, 2, 2, 3, 3, 100, 100}, uint16(0), uint16(0), true)
	f.Add([]byte{127, 255, 128, 255}, uint16(1), uint16(9000), true)
	f.Fuzz(func(t *testing.T, ops []byte, pick, shardK uint16, mutate bool) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		size := formats.HashBufSize + 5000
		data := content(size, 7)
		os.WriteFile(p, data, 0o644)
		shard := int64(shardK)*97 + 4096
		var read []int64
		s := New(Options{Root: dir, ShardSize: shard, SignatureOnly: true, BeforeHash: func(string) {
			if !mutate || len(read) == 0 {
				return
			}
			off := read[int(pick)%len(read)]
			flipKeepingTime(p, off, data[off])
		}})
		s.minShardWorkers = 3
		h, err := s.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(ops) && i < 100; i += 2 {
			off, n := int64(ops[i])*int64(size/256), int(ops[i+1])*40
			k, _ := h.ReadAt(make([]byte, n), off)
			for j := 0; j < k; j++ {
				read = append(read, off+int64(j))
			}
		}
		h.Close()
		got, _ := s.Lookup(p)
		if mutate {
			if len(read) > 0 && got.Changed == nil {
				t.Fatalf("a byte the scan read was rewritten and the pass did not notice (%d bytes read)", len(read))
			}
			return
		}
		if got.Changed != nil || got.Err != nil {
			t.Fatalf("untouched file: changed %v, error %v", got.Changed, got.Err)
		}
		var want []string
		for off := int64(0); off < int64(size); off += shard {
			want = append(want, sum(data[off:min(off+shard, int64(size))]))
		}
		if !slices.Equal(got.Shards, want) {
			t.Fatalf("%d shard digests, want %d (or they differ)", len(got.Shards), len(want))
		}
	})
}
