package joblib

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zstd"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

// compressor is one single-stream compression format joblib writes
// (joblib/compressor.py: the magic numbers are its _*_PREFIX constants).
type compressor struct {
	name  string
	exts  []string
	sniff func(h []byte) bool
	open  func(r io.Reader) (io.Reader, error)
	skip  int64 // header bytes before the compressed stream (joblib's "ZF")
	// strict: a reader that picks this format by name (gzip.open,
	// bz2.open, lzma.open, lz4.frame.open) checks a multi-byte magic and
	// refuses other content. joblib itself picks by magic, never by name
	// (_detect_compressor in joblib/numpy_pickle_utils.py), which is why
	// its tests keep zlib and "ZF" files named .gz.
	strict bool
}

// maxDict caps the LZMA dictionary a header may ask for: the decoder
// allocates it up front, so a forged 2 GiB dictionary would be a memory
// bomb in 13 bytes. xz -9 and joblib's presets use at most 64 MiB.
const maxDict = 64 << 20

var compressors = []compressor{
	{name: "zlib", exts: []string{".z", ".zlib"}, sniff: isZlibStream,
		open: func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }},
	{name: "gzip", strict: true, exts: []string{".gz", ".gzip"}, sniff: func(h []byte) bool { return len(h) >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8 },
		open: func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
	{name: "bz2", strict: true, exts: []string{".bz2"}, sniff: func(h []byte) bool {
		return len(h) >= 10 && string(h[:3]) == "BZh" && h[3] >= '1' && h[3] <= '9' &&
			(bytes.Equal(h[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || bytes.Equal(h[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90}))
	}, open: func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }},
	{name: "xz", strict: true, exts: []string{".xz"}, sniff: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) },
		open: func(r io.Reader) (io.Reader, error) { return xz.ReaderConfig{DictCap: maxDict}.NewReader(r) }},
	{name: "lzma", exts: []string{".lzma"}, sniff: isLzmaStream,
		open: func(r io.Reader) (io.Reader, error) { return lzma.ReaderConfig{DictCap: maxDict}.NewReader(r) }},
	// zstd: model hubs and tooling ship .zst files (zstandard.open checks
	// the 4-byte magic, so strict); the window is capped so a frame header
	// cannot ask for gigabytes.
	{name: "zstd", strict: true, exts: []string{".zst", ".zstd"}, sniff: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x28, 0xb5, 0x2f, 0xfd}) },
		open: func(r io.Reader) (io.Reader, error) {
			d, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
			if err != nil {
				return nil, err
			}
			return d.IOReadCloser(), nil
		}},
	{name: "lz4", strict: true, exts: []string{".lz4"}, sniff: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x04, 0x22, 0x4d, 0x18}) },
		open: func(r io.Reader) (io.Reader, error) { return lz4.NewReader(r), nil }},
	// joblib < 0.9.3: "ZF" + the length in hex padded to 19 characters
	// (an extra space with Python 2 joblib <= 0.8.4), then zlib.
	{name: "joblib-zfile", exts: []string{".z"}, sniff: isZFile, skip: 21,
		open: func(r io.Reader) (io.Reader, error) {
			br := &peekReader{r: r}
			if b, err := br.peek(); err == nil && b == ' ' {
				br.drop()
			}
			return zlib.NewReader(br)
		}},
}

// isZlib checks a zlib header: deflate, a window of at most 32 KiB and the
// header checksum, so text starting with 'x' is not taken for zlib.
func isZlib(h []byte) bool {
	return len(h) >= 2 && h[0]&0x0f == 8 && h[0]>>4 <= 7 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 && h[1]&0x20 == 0
}

// isZlibStream is isZlib plus a trial inflation of the head: the two-byte
// header check passes for 1 in 31 byte pairs, and "(S" -- MARK then STRING,
// how every protocol-0 pickle of a tuple or list starting with a str
// begins -- is one of them. Taking such a pickle for zlib would hide its
// imports behind a "corrupt stream" finding; a real zlib head inflates.
func isZlibStream(h []byte) bool {
	if !isZlib(h) {
		return false
	}
	fr := flate.NewReader(bytes.NewReader(h[2:]))
	defer fr.Close()
	n, err := io.ReadFull(fr, make([]byte, 512))
	switch {
	case n > 0 || err == nil:
		// Output came out: zlib, even if it breaks off later (that is
		// reported as a corrupt stream, with what came out scanned).
		return true
	case pickle.Sniff(&formats.Probe{Head: h, Size: int64(len(h))}):
		// Nothing inflates and the bytes run as a pickle (a protocol-1
		// str of 9 or 71 characters starts "X\x09" / "X\x47", which
		// also passes the header check): it is the pickle.
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The stream ended (an empty payload) or the head ran out
		// before any output: the head is all there is to judge by.
		return len(h) < formats.HeadSize
	}
	// Corrupt: only a stream whose very first block header is invalid
	// (as "(S'" is: block type 3) is not zlib; one that breaks later is a
	// corrupt zlib stream and reported as such.
	var ce flate.CorruptInputError
	return errors.As(err, &ce) && int64(ce) > 4
}

// isLzmaAlone checks an LZMA "alone" header: properties byte, a dictionary
// size that is 2^n or 2^n+2^(n-1), and an unknown (-1) or plausible size.
func isLzmaAlone(h []byte) bool {
	if len(h) < 13 || h[0] >= 9*5*5 {
		return false
	}
	dict := uint32(h[1]) | uint32(h[2])<<8 | uint32(h[3])<<16 | uint32(h[4])<<24
	ok := false
	for n := uint(12); n < 32; n++ {
		if dict == 1<<n || dict == 1<<n|1<<(n-1) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	size := uint64(0)
	for i := 12; i >= 5; i-- {
		size = size<<8 | uint64(h[i])
	}
	return size == ^uint64(0) || size < 1<<48
}

// isLzmaStream is isLzmaAlone plus a trial decode of the head. The header
// alone is 13 bytes of weak checks that ordinary binary data passes (a
// MATLAB v4 file starts 00 00 00 00 01 ...): taking such data for LZMA
// turns an unremarkable file into a "corrupt stream" finding. A real
// stream yields output at once. The trial runs with a 4 KiB dictionary so
// that sniffing never allocates what the header asks for: the first bytes
// of a stream cannot refer further back than what was already decoded.
func isLzmaStream(h []byte) bool {
	if !isLzmaAlone(h) {
		return false
	}
	trial := append([]byte(nil), h...)
	binary.LittleEndian.PutUint32(trial[1:5], lzma.MinDictCap)
	r, err := lzma.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(bytes.NewReader(trial))
	if err != nil {
		return false
	}
	n, err := io.ReadFull(r, make([]byte, 256))
	switch {
	case n > 0 || err == nil:
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return len(h) < formats.HeadSize // the head is all there is
	}
	return false
}

func isZFile(h []byte) bool {
	if len(h) < 23 || string(h[:2]) != "ZF" {
		return false
	}
	l := strings.TrimSpace(string(h[2:21]))
	if !strings.HasPrefix(l, "0x") || len(l) < 3 {
		return false
	}
	for _, c := range strings.TrimSuffix(l[2:], "L") {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

type peekReader struct {
	r    io.Reader
	b    [1]byte
	have bool
}

func (p *peekReader) peek() (byte, error) {
	if !p.have {
		if _, err := io.ReadFull(p.r, p.b[:]); err != nil {
			return 0, err
		}
		p.have = true
	}
	return p.b[0], nil
}

func (p *peekReader) drop() { p.have = false }

func (p *peekReader) Read(b []byte) (int, error) {
	if p.have && len(b) > 0 {
		b[0] = p.b[0]
		p.have = false
		return 1, nil
	}
	return p.r.Read(b)
}

func init() {
	for i := range compressors {
		c := compressors[i]
		formats.Register(&formats.Analyzer{
			Name: c.name,
			// joblib.dump(obj, "model.joblib", compress=3) keeps the
			// model's name on compressed content.
			Extensions: append(append([]string(nil), c.exts...), ".joblib", ".pkl", ".pickle"),
			Priority:   15,
			Sniff:      func(p *formats.Probe) bool { return c.sniff(p.Head) },
			Analyze:    func(s *formats.Scope, r io.ReaderAt, size int64) { inflate(s, &c, r, size) },
			Strict:     strictExts(&c),
		})
	}
}

// strictExts are the compressor's own suffixes when its magic is strict;
// ".joblib" and ".pkl" stay ambiguous names.
func strictExts(c *compressor) []string {
	if !c.strict {
		return nil
	}
	return c.exts
}

// memLimit is the most inflated bytes held in memory; more spills to a
// temporary file (removed afterwards).
const memLimit = 64 << 20

// inflate decompresses the stream within the scan's expansion budget and a
// compression-ratio cap, then scans what came out as a member. A stream
// that breaks off is reported, and what came out before the break is
// scanned too.
func inflate(s *formats.Scope, c *compressor, r io.ReaderAt, size int64) {
	if size <= c.skip {
		s.Reportf("compressed/truncated", formats.High, 0, "the %s stream is empty", c.name)
		return
	}
	// The decoders read through a bufio.Reader they are handed (flate
	// reads byte by byte from an io.ByteReader), so what they consumed
	// is known when the stream ends: counted minus still buffered.
	cnt := &countingReader{r: io.NewSectionReader(r, c.skip, size-c.skip)}
	src := bufio.NewReader(cnt)
	dec, err := c.open(src)
	if err != nil {
		s.Reportf("compressed/corrupt", formats.High, 0, "the %s header cannot be read (%v); the content cannot be scanned", c.name, err)
		return
	}
	ratio := s.Options().Limits.MaxRatio
	if ratio <= 0 {
		ratio = 200
	}
	maxOut := size*ratio + 1<<20 // small streams of zeros legitimately compress well
	var mem bytes.Buffer
	var tmp *os.File
	defer func() {
		if tmp != nil {
			name := tmp.Name()
			tmp.Close()
			os.Remove(name)
		}
	}()
	var total int64
	buf := make([]byte, 256<<10)
	complete := false
	// zero counts consecutive reads that return nothing and no error: a
	// decoder may do that now and then (io.Reader allows it), so only a
	// long run of them, with no progress in between, is a stall.
	zero := 0
	for {
		n, rerr := dec.Read(buf)
		if n == 0 && rerr == nil {
			if zero++; zero >= 100 {
				// Fail closed: a stream that stops yielding bytes without
				// ending is not known to hold only what came out so far.
				s.Reportf("compressed/corrupt", formats.High, 0,
					"the %s decoder stopped producing output after %d inflated bytes without reaching the end of the stream; what came out is scanned, the rest cannot be shown safe", c.name, total)
				break
			}
			continue
		}
		zero = 0
		if n > 0 {
			if total+int64(n) > maxOut {
				s.Reportf("compressed/ratio-exceeded", formats.High, 0,
					"the %s stream inflates past %d times its %d bytes (a decompression bomb or an oversized payload); only the first %d bytes were scanned", c.name, ratio, size, total)
				break
			}
			if !s.Expand(int64(n), 0) {
				break
			}
			if tmp == nil && total+int64(n) > memLimit {
				f, err := os.CreateTemp("", "modelvet-inflate-*")
				if err != nil {
					s.Reportf("compressed/spill-failed", formats.High, 0, "cannot create a temporary file for the inflated %s content (%v); it was not scanned past %d bytes", c.name, err, total)
					break
				}
				tmp = f
				if _, err := tmp.Write(mem.Bytes()); err != nil {
					s.Reportf("compressed/spill-failed", formats.High, 0, "writing the inflated content to a temporary file failed (%v)", err)
					break
				}
				mem = bytes.Buffer{}
			}
			if tmp != nil {
				if _, err := tmp.Write(buf[:n]); err != nil {
					s.Reportf("compressed/spill-failed", formats.High, 0, "writing the inflated content to a temporary file failed (%v)", err)
					break
				}
			} else {
				mem.Write(buf[:n])
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			complete = true
			break
		}
		if rerr != nil {
			rule := "compressed/corrupt"
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				rule = "compressed/truncated"
			}
			s.Reportf(rule, formats.High, 0, "the %s stream breaks off after %d inflated bytes (%v); what came out before the break is scanned", c.name, total, rerr)
			break
		}
	}
	if used := c.skip + cnt.n - int64(src.Buffered()); complete && used < size && c.name == "zlib" {
		// joblib's zlib reader stops at the end of the first stream (its
		// decompressor is not restarted): what follows is content no
		// loader reads and no scanner vouched for.
		s.Reportf("compressed/trailing-data", formats.Medium, used,
			"%d bytes follow the end of the %s stream at offset %d; joblib ignores them", size-used, c.name, used)
	}
	if complete && total == 0 {
		s.Reportf("compressed/empty", formats.Medium, 0, "the %s stream inflates to nothing", c.name)
	}
	s.Detail("inflated."+c.name, fmt.Sprint(total))
	var content io.ReaderAt = bytes.NewReader(mem.Bytes())
	if tmp != nil {
		content = tmp
	}
	if c.name == "joblib-zfile" && total > 0 {
		// What reads a zfile's inflated bytes: joblib.load unpickles them
		// (load_compatibility), and ZNDArrayWrapper.read takes them as an
		// array's raw buffer; nothing reads them as the file its name
		// names (a side file "a.pkl_01.npy.z" is no .npy inside). Bytes
		// that do not start with a pickle opcode stop every unpickler at
		// the first byte, so raw array data is not a model to fail closed
		// on; anything else is scanned as before.
		var first [1]byte
		if _, err := content.ReadAt(first[:], 0); err == nil && !pickle.IsOpcode(first[0]) {
			s.Detail("inflated.content", fmt.Sprintf("raw data (starts with 0x%02x, no pickle opcode: joblib.load stops there; a ZNDArrayWrapper reads it as an array buffer)", first[0]))
			return
		}
	}
	s.ScanMember(innerName(s, c), content, total)
}

// innerName names the inflated content: the file's name without the
// compression suffix ("model.pkl.gz" -> "model.pkl").
func innerName(s *formats.Scope, c *compressor) string {
	base := s.Path()
	if m := s.Member(); m != "" {
		base = m[strings.LastIndex(m, "!")+1:]
	}
	base = path.Base(strings.ReplaceAll(base, "\\", "/"))
	ext := strings.ToLower(path.Ext(base))
	for _, e := range c.exts {
		if ext == e {
			return strings.TrimSuffix(base, path.Ext(base))
		}
	}
	return base
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
