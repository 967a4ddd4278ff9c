package pytorch

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

// stream walks a byte range holding pickles and raw blocks one after the
// other, as torch.load reads it: each pickle is found by its opcodes, given
// exactly its bytes to the pickle scanner, and raw blocks are skipped by
// their declared lengths, each checked against what remains.
type stream struct {
	s    *formats.Scope
	r    io.ReaderAt
	size int64
	off  int64
	n    int // pickles read
}

// next reads the pickle at the current offset. On a framing error it
// reports, scans the rest as pickle opcodes anyway (so what was there is
// still judged) and returns ok=false: nothing after it can be located.
func (st *stream) next(what string) (*frameInfo, *pickle.Result, bool) {
	start := st.off
	fi, err := frame(io.NewSectionReader(st.r, start, st.size-start), st.size-start)
	st.n++
	c := st.s.Child(fmt.Sprintf("pickle %d (%s) @%d", st.n, what, start))
	if c == nil {
		return nil, nil, false
	}
	// Any loader reads the first pickle of a raw file (pickle.load,
	// numpy.load, joblib.load all stop after it); only torch.load reads
	// on, as plain pickle (formats/pickle/readers.go).
	l := pickle.AnyLoader
	if st.n > 1 {
		l = pickle.Loaders{Plain: "torch.load"}
	}
	if err != nil {
		st.s.Reportf("pytorch/malformed", formats.High, start,
			"the %s pickle at offset %d cannot be delimited (%v); torch.load would fail here, and what follows cannot be located", what, start, err)
		pickle.ScanWith(c, io.NewSectionReader(st.r, start, st.size-start), st.size-start, l)
		return fi, nil, false
	}
	res := pickle.ScanWith(c, io.NewSectionReader(st.r, start, fi.End), fi.End, l)
	if res != nil && res.Pickles > 0 && res.End != fi.End {
		// Two readers of the same bytes disagree on where the pickle ends.
		st.s.Reportf("pytorch/ambiguous-pickle", formats.High, start,
			"the %s pickle at offset %d ends at %d by its opcodes but the pickle scanner ended it at %d", what, start, start+fi.End, start+res.End)
	}
	st.off += fi.End
	return fi, res, true
}

// storage skips one raw storage: an 8-byte little-endian element count
// and count*elemSize bytes. It returns the count.
func (st *stream) storage(what string, elemSize int64) (int64, bool) {
	if st.size-st.off < 8 {
		st.s.Reportf("pytorch/truncated", formats.High, st.off, "the file ends where the element count of %s should be", what)
		return 0, false
	}
	var b [8]byte
	if _, err := st.r.ReadAt(b[:], st.off); err != nil {
		st.s.Reportf("formats/read-error", formats.High, st.off, "cannot read the element count of %s: %v", what, err)
		return 0, false
	}
	count := int64(binary.LittleEndian.Uint64(b[:]))
	n, ok := mul(count, elemSize)
	if !ok || n > st.size-st.off-8 {
		st.s.Reportf("pytorch/truncated", formats.High, st.off,
			"%s declares %d elements of %d bytes but only %d bytes remain in the file", what, uint64(count), elemSize, st.size-st.off-8)
		return 0, false
	}
	st.off += 8 + n
	return count, true
}

// raw skips n bytes of fixed-layout data.
func (st *stream) raw(what string, n int64) ([]byte, bool) {
	if n < 0 || n > st.size-st.off {
		st.s.Reportf("pytorch/truncated", formats.High, st.off, "the file ends inside %s", what)
		return nil, false
	}
	b := make([]byte, n)
	if _, err := st.r.ReadAt(b, st.off); err != nil && !(err == io.EOF && n == 0) {
		st.s.Reportf("formats/read-error", formats.High, st.off, "cannot read %s: %v", what, err)
		return nil, false
	}
	st.off += n
	return b, true
}

// trailing reports bytes after the last block: no loader reads them.
func (st *stream) trailing(where string) {
	if st.off < st.size {
		st.s.Reportf("pytorch/trailing-data", formats.Medium, st.off,
			"%d bytes follow the last record of %s; torch.load ignores them, so nothing accounts for them", st.size-st.off, where)
	}
}
