package archive

import (
	"io"
	"os"
	"sync"
)

// tempFiles tracks the temporary files holding inflated members, so that
// Archive.Close removes every one even when a caller forgets a member.
type tempFiles struct {
	mu    sync.Mutex
	files []*tempFile
}

type tempFile struct {
	*os.File
	once sync.Once
}

// Close closes and deletes the file; calling it twice is harmless.
func (t *tempFile) Close() error {
	var err error
	t.once.Do(func() {
		err = t.File.Close()
		if rerr := os.Remove(t.File.Name()); err == nil {
			err = rerr
		}
	})
	return err
}

func (t *tempFiles) create() (*tempFile, error) {
	f, err := os.CreateTemp("", "modelvet-member-*")
	if err != nil {
		return nil, err
	}
	tf := &tempFile{File: f}
	t.mu.Lock()
	t.files = append(t.files, tf)
	t.mu.Unlock()
	return tf, nil
}

func (t *tempFiles) closeAll() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	files := t.files
	t.files = nil
	t.mu.Unlock()
	var first error
	for _, f := range files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Release frees what Open allocated for a member's content (a temporary
// file), once the caller is done with it. Other readers are left alone.
func Release(r io.ReaderAt) {
	if c, ok := r.(*tempFile); ok {
		c.Close()
	}
}
