// Package numpy reads NumPy .npy arrays and .npz archives of them. The
// header is parsed as a literal, never evaluated; the data of an object
// array is a pickle and goes to the pickle scanner.
package numpy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

const magic = "\x93NUMPY"

// maxHeader bounds the header dict. numpy itself refuses headers over
// 10000 bytes unless told otherwise; large structured dtypes can pass that,
// so a wider but still small cap applies.
const maxHeader = 1 << 20

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "numpy",
		Extensions: []string{".npy"},
		Priority:   150,
		Sniff:      func(p *formats.Probe) bool { return bytes.HasPrefix(p.Head, []byte(magic)) },
		Analyze:    func(s *formats.Scope, r io.ReaderAt, size int64) { AnalyzeNpy(s, r, size) },
	})
}

// Header is what a .npy header declares.
type Header struct {
	Major, Minor int
	DataOffset   int64
	Descr        any
	Fortran      bool
	Shape        []int64
	Count        uint64 // elements
	ItemSize     uint64
	Object       bool
}

// AnalyzeNpy checks one .npy array and reports to s.
func AnalyzeNpy(s *formats.Scope, r io.ReaderAt, size int64) *Header {
	h, err := readHeader(r, size)
	var no *refusedError
	if errors.As(err, &no) {
		// numpy.load raises on this descr before it reads the data, so
		// nothing in the file runs under it. Still malformed (another
		// .npy reader, or a later numpy, may read it some other way), and
		// a pickle in the data is still scanned, but as read by no loader:
		// at most High, not Critical.
		s.Reportf("numpy/malformed-header", formats.High, 0, "%v; numpy.load refuses this header and reads nothing after it, but the array cannot be shown safe for other readers", err)
		scanDataAsPickle(s, r, size, pickle.Loaders{Unread: "numpy.load refuses the header in front of it (" + err.Error() + ")"})
		return nil
	}
	if err != nil {
		s.Reportf("numpy/malformed-header", formats.High, 0, "%v; numpy would refuse or misread the array, and it cannot be shown safe", err)
		scanDataAsPickle(s, r, size, npyLoader)
		return nil
	}
	if s.TopLevel() { // members of an npz would overwrite each other's
		s.Detail("npy_version", fmt.Sprintf("%d.%d", h.Major, h.Minor))
		s.Detail("shape", fmt.Sprint(h.Shape))
		s.Detail("dtype", fmt.Sprint(h.Descr))
	}
	remain := uint64(size - h.DataOffset)
	if h.Object {
		// np.load unpickles the data when allow_pickle=True: every
		// import the pickle makes must be checked.
		s.Reportf("numpy/object-array", formats.Info, h.DataOffset,
			"the array holds Python objects stored as a pickle at offset %d; np.load needs allow_pickle=True to read it", h.DataOffset)
		c := s.Child("object-data")
		if c == nil {
			return h
		}
		// Only numpy.load reads this pickle: joblib's inline-array skip
		// does not apply (formats/pickle/readers.go).
		res := pickle.ScanWith(c, io.NewSectionReader(r, h.DataOffset, int64(remain)), int64(remain), npyLoader)
		// np.load reads one pickle: a second one after its STOP is
		// ignored like any other trailing bytes (and scanned above).
		if res != nil && res.Pickles > 0 && uint64(res.FirstEnd) < remain {
			s.Reportf("numpy/trailing-data", formats.Medium, h.DataOffset+res.FirstEnd,
				"%d bytes follow the object array's pickle; np.load reads that one pickle and ignores them, so they are content no reader accounts for", remain-uint64(res.FirstEnd))
		}
		return h
	}
	hi, want := bits.Mul64(h.Count, h.ItemSize)
	if hi != 0 || want != remain {
		s.Reportf("numpy/size-mismatch", formats.High, h.DataOffset,
			"the header declares %v elements of %d bytes (%s) but %d bytes of data follow the header; the file is truncated or carries hidden data", h.Shape, h.ItemSize, sizeText(hi, want), remain)
	}
	return h
}

func sizeText(hi, lo uint64) string {
	if hi != 0 {
		return "more than 2^64 bytes"
	}
	return fmt.Sprintf("%d bytes", lo)
}

func readHeader(r io.ReaderAt, size int64) (*Header, error) {
	var pre [12]byte
	if size < 10 {
		return nil, fmt.Errorf("the file is %d bytes, too short for an .npy preamble", size)
	}
	n := min(int64(len(pre)), size)
	if _, err := r.ReadAt(pre[:n], 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("cannot read the .npy preamble: %v", err)
	}
	if string(pre[:6]) != magic {
		return nil, fmt.Errorf("the file does not start with the .npy magic")
	}
	h := &Header{Major: int(pre[6]), Minor: int(pre[7])}
	var hlen uint64
	switch h.Major {
	case 1:
		hlen, h.DataOffset = uint64(binary.LittleEndian.Uint16(pre[8:])), 10
	case 2, 3:
		if size < 12 {
			return nil, fmt.Errorf("the file is too short for a version %d preamble", h.Major)
		}
		hlen, h.DataOffset = uint64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		return nil, fmt.Errorf("unknown .npy format version %d.%d", h.Major, h.Minor)
	}
	if h.Minor != 0 {
		return nil, fmt.Errorf("unknown .npy format version %d.%d", h.Major, h.Minor)
	}
	if hlen > maxHeader {
		return nil, fmt.Errorf("the header is %d bytes, more than the %d accepted", hlen, maxHeader)
	}
	if hlen > uint64(size-h.DataOffset) {
		return nil, fmt.Errorf("the header claims %d bytes but only %d remain", hlen, size-h.DataOffset)
	}
	raw := make([]byte, hlen)
	if _, err := r.ReadAt(raw, h.DataOffset); err != nil && !(err == io.EOF && hlen == 0) {
		return nil, fmt.Errorf("cannot read the header: %v", err)
	}
	h.DataOffset += int64(hlen)
	var text string
	if h.Major == 3 {
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("the version 3 header is not valid UTF-8")
		}
		text = string(raw)
	} else {
		// latin-1: every byte is one rune
		rs := make([]rune, len(raw))
		for i, c := range raw {
			rs[i] = rune(c)
		}
		text = string(rs)
	}
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("the header does not end with a newline")
	}
	v, err := parseLiteral(strings.TrimRight(text, " \n\x00"))
	if err != nil {
		return nil, fmt.Errorf("the header is not a plain literal: %v", err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the header is not a dict")
	}
	var keys []string
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "descr,fortran_order,shape" {
		return nil, fmt.Errorf("the header keys are %q, not exactly descr, fortran_order and shape", keys)
	}
	if h.Fortran, ok = d["fortran_order"].(bool); !ok {
		return nil, fmt.Errorf("fortran_order is %v, not a boolean", d["fortran_order"])
	}
	shape, ok := d["shape"].(tuple)
	if !ok {
		return nil, fmt.Errorf("shape is %v, not a tuple", d["shape"])
	}
	if len(shape) > 64 {
		return nil, fmt.Errorf("shape has %d dimensions, more than numpy's 64", len(shape))
	}
	if h.Count, err = product(shape); err != nil {
		return nil, err
	}
	for _, x := range shape {
		v, _ := x.(int64)
		if x == true {
			v = 1
		}
		h.Shape = append(h.Shape, v)
	}
	dt, err := parseDescr(d["descr"], 0)
	if err != nil {
		return nil, err
	}
	h.Descr, h.ItemSize, h.Object = d["descr"], dt.itemsize, dt.object
	return h, nil
}

// scanDataAsPickle reads what follows a header modelvet could not parse
// as a pickle when it starts like one. numpy parses headers with
// ast.literal_eval, which accepts more than this reader does (a repeated
// key, where the last one wins; comments; implicit string concatenation),
// so a header refused here may still declare an object array to numpy,
// whose data np.load(allow_pickle=True) unpickles: the payload is
// reported for what it is, not only as a malformed header.
func scanDataAsPickle(s *formats.Scope, r io.ReaderAt, size int64, l pickle.Loaders) {
	var pre [12]byte
	if size < 12 {
		return
	}
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return
	}
	var start int64
	switch pre[6] {
	case 1:
		start = 10 + int64(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		start = 12 + int64(binary.LittleEndian.Uint32(pre[8:]))
	default:
		return
	}
	if start+2 > size {
		return
	}
	var b [2]byte
	if _, err := r.ReadAt(b[:], start); err != nil || b[0] != 0x80 || b[1] < 2 || b[1] > 5 {
		return
	}
	if c := s.Child("object-data"); c != nil {
		pickle.ScanWith(c, io.NewSectionReader(r, start, size-start), size-start, l)
	}
}

// npyLoader is who unpickles an .npy object array: read_array calls
// pickle.load once, so a second pickle after the first STOP runs under no
// loader (FirstOnly: still reported, at most High).
var npyLoader = pickle.Loaders{Plain: "numpy.load(allow_pickle=True)", FirstOnly: true}
