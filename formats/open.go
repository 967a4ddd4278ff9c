package formats

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// Handle is an open file as the walk hands it to an analyzer. *os.File is
// one; the gate's recording reader (internal/onepass) is another, so that
// the bytes an analyzer saw can later be proven to be the bytes hashed.
type Handle interface {
	io.ReaderAt
	Stat() (fs.FileInfo, error)
	Close() error
}

// Opener opens one file of a scan. Options.Open nil means OpenRegular.
type Opener func(path string) (Handle, error)

// ErrNotRegular is returned by OpenRegular for a FIFO, socket or device.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path for reading and refuses anything but a regular
// file. The walk lists a file as regular, but the name can be replaced by
// a FIFO before it is opened: a plain open of a FIFO with no writer blocks
// forever (a hung scan, a stalled admission service), so the open never
// blocks (O_NONBLOCK on Unix) and the type is checked on the open file.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is %s: %w", path, describeMode(fi.Mode()), ErrNotRegular)
	}
	return f, fi, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return "a special file (" + m.Type().String() + ")"
}

func (o *Options) open(path string) (Handle, error) {
	if o == nil {
		f, _, err := OpenRegular(path)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	if o.Open != nil {
		return o.Open(path)
	}
	f, _, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenFile opens a file an analyzer or folder check reads besides the one
// it was given (a shard an index names, a sibling). Use it instead of
// os.Open: it never blocks on a FIFO, and under a check its reads are
// tied to the bytes that are hashed.
func (o *Options) OpenFile(path string) (Handle, error) {
	if o != nil && o.OpenOther != nil {
		return o.OpenOther(path)
	}
	return o.open(path)
}

// HashBufSize is the read size used to hash whole files.
const HashBufSize = 1 << 20

// hashBufs pools hashing buffers: a folder of 20,000 small files must not
// allocate (and zero) a megabyte per file.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, HashBufSize); return &b }}

// GetHashBuf returns a pooled HashBufSize buffer; PutHashBuf gives it back.
func GetHashBuf() *[]byte { return hashBufs.Get().(*[]byte) }

// PutHashBuf returns a buffer from GetHashBuf to the pool.
func PutHashBuf(b *[]byte) { hashBufs.Put(b) }
