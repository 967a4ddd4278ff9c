package flatbuf

import (
	"errors"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

// budget bounds the reads of one model file's walk (real models need a
// few per operator and buffer; a forged one would loop).
const budget = 5_000_000

// Open starts the walk every model analyzer makes: the FlatBuffer in
// r[0:size] under the read budget, and its root table, whose field 0 is
// the schema version in both TFLite's Model and ExecuTorch's Program
// (recorded as the detail schema_version).
func Open(s *formats.Scope, r io.ReaderAt, size int64) (*Buf, Table, error) {
	b := &Buf{R: r, Size: size, Budget: budget}
	root, err := b.Root()
	if err != nil {
		return b, root, err
	}
	if v, err := root.Uint32(0, 0); err == nil {
		s.Detail("schema_version", strconv.FormatUint(uint64(v), 10))
	}
	return b, root, nil
}

// At is the offset a malformed finding points at: where err (an *Error)
// says the buffer breaks, else formats.NoOffset.
func At(err error) int64 {
	var e *Error
	if errors.As(err, &e) {
		return e.Off
	}
	return formats.NoOffset
}
