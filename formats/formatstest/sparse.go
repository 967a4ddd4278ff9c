package formatstest

import "io"

// Sparse is a large file made of a head followed by zeros, for benchmarks
// that show an analyzer reads headers only: a "2 GB model" costs the head's
// memory, and reading the zeros would show up as time.
type Sparse struct {
	Head []byte
	Size int64
}

// ReadAt implements io.ReaderAt.
func (s *Sparse) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.Size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.Size-off)
	clear(p[:n])
	if off < int64(len(s.Head)) {
		copy(p[:n], s.Head[off:])
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}
