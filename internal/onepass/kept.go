package onepass

import (
	"bytes"
	"io/fs"
	"slices"
)

// Bounds of the bytes kept for late readers: small files only (manifests,
// configs), and a fixed total, so memory does not grow with the model.
const (
	keptFileMax = 1 << 20
	keptMax     = 64 << 20
)

// keptFile serves a late read of a small file whose pass is done: the
// bytes are those hashed, so what the reader sees is what the digests and
// the verdict are about, and the file is neither opened nor hashed again.
type keptFile struct {
	r    *bytes.Reader
	info fs.FileInfo
}

func (k *keptFile) ReadAt(p []byte, off int64) (int, error) { return k.r.ReadAt(p, off) }
func (k *keptFile) Stat() (fs.FileInfo, error)              { return k.info, nil }
func (k *keptFile) Close() error                            { return nil }

// reserveKeep returns a buffer for a file of size bytes when it is small
// enough to keep and the session's budget allows it, else nil.
func (s *Session) reserveKeep(size int64) []byte {
	if size > keptFileMax {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keptBytes+size > keptMax {
		return nil
	}
	s.keptBytes += size
	return make([]byte, 0, size)
}

// keep files the bytes of a pass that found the file unchanged, under
// every name it was opened by; otherwise it gives the budget back.
func (s *Session) keep(e *entry, f *File, b []byte) {
	if b == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Changed != nil || f.Err != nil || int64(len(b)) != f.Size {
		s.keptBytes -= int64(cap(b))
		return
	}
	k := &keptFile{r: bytes.NewReader(b), info: e.info}
	for _, p := range slices.Clone(e.paths) {
		s.kept[p] = k
	}
}
