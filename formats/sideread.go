package formats

import (
	"fmt"
	"io"
	"io/fs"
	"sync"
)

// Reads of files other than the one an analyzer was given (external data,
// manifests beside weights, side files, cache blobs) go through the scan's
// opener, never os.Open/os.Stat: under a check the opener is the one pass
// (internal/onepass), which shares the open with the file's own scan,
// records what was read and proves it equal to the bytes hashed, and
// refuses a file whose path was renamed over meanwhile. A size or content
// learnt by path outside it would be a second view of the file that the
// verdict could rest on while the signature covers other bytes. The
// methods accept a nil *Options (a probe outside any scan): then they open
// with OpenRegular, which never blocks on a FIFO.
// TestNoDirectFileReads (sideread_test.go) keeps analyzers on them.

// StatFile returns what the scan's opener sees of path: it is opened (a
// FIFO or device is refused, never waited on) and its open file examined,
// so the size an analyzer checks is the size of the file the check hashes.
func (o *Options) StatFile(path string) (fs.FileInfo, error) {
	h, err := o.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Stat()
}

// ReadSmallFile reads all of path, at most limit bytes, through the scan's
// opener. A larger file is an error (no partial content to judge).
func (o *Options) ReadSmallFile(path string, limit int64) ([]byte, error) {
	h, err := o.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	fi, err := h.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d read", path, fi.Size(), limit)
	}
	b := make([]byte, fi.Size())
	if n, err := h.ReadAt(b, 0); n < len(b) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Memo returns the value compute gives for key, computed once per scan
// (concurrent askers wait for the first). Analyzers use it for what a
// folder's files share (which external data the ONNX models of a folder
// name): computed from this scan's reads, never from an earlier scan's,
// whose files may since have changed. Outside Scan (a nil receiver or
// options not from Scan) nothing is kept and compute runs every time.
func (o *Options) Memo(key string, compute func() any) any {
	if o == nil || o.memo == nil {
		return compute()
	}
	m := o.memo
	m.mu.Lock()
	e := m.vals[key]
	if e == nil {
		if len(m.vals) >= maxMemo {
			m.mu.Unlock()
			return compute()
		}
		e = &memoEntry{}
		m.vals[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v = compute() })
	return e.v
}

// maxMemo bounds the values one scan keeps (one per folder at most, and a
// scan visits at most Limits.MaxFiles files).
const maxMemo = 1 << 16

type memoTable struct {
	mu   sync.Mutex
	vals map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
}

func newMemo() *memoTable { return &memoTable{vals: map[string]*memoEntry{}} }
