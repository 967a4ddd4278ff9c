package pytorch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Formats that put several pickles and raw bytes in one stream (the
// legacy torch.save layout, the storages member of the old tar layout)
// need each pickle's exact end, because what follows a pickle is read by
// torch as raw bytes, never as opcodes. frame walks one pickle's opcodes
// by their argument lengths only, to its STOP, without building values;
// the security scan of the same bytes is pickle.Scan's job. It also keeps
// the few literals the layouts need (strings, small ints, GLOBAL names).

// frameInfo is what frame saw of one pickle.
type frameInfo struct {
	End     int64    // offset just past STOP, relative to the start
	Strings []string // SHORT_BINUNICODE / BINUNICODE / UNICODE literals, in order (capped)
	Ints    []int64  // BININT*, INT literals, in order (capped)
	Globals []string // "module.name" of GLOBAL opcodes
	Simple  bool     // only opcodes that build lists/tuples of literals
}

const (
	maxKeptStrings = 1 << 16
	maxLine        = 1 << 16
	maxStrKept     = 4096
)

var errNoStop = errors.New("no STOP opcode before the end of the data")

// frame reads one pickle from r[0:size].
func frame(r io.ReaderAt, size int64) (*frameInfo, error) {
	sr := io.NewSectionReader(r, 0, size)
	br := bufio.NewReaderSize(sr, 32<<10)
	pos := int64(0)
	fi := &frameInfo{Simple: true}
	skip := func(n uint64) error {
		if n > uint64(size-pos) {
			return fmt.Errorf("an argument of %d bytes at offset %d runs past the end (%d bytes remain)", n, pos, size-pos)
		}
		// Discard seeks nothing, but bufio.Discard on a section reader
		// only reads what it discards; large skips re-seat the reader.
		if n > 64<<10 {
			pos += int64(n)
			sr.Seek(pos, io.SeekStart)
			br.Reset(sr)
			return nil
		}
		if _, err := br.Discard(int(n)); err != nil {
			return fmt.Errorf("truncated argument at offset %d", pos)
		}
		pos += int64(n)
		return nil
	}
	read := func(n int) ([]byte, error) {
		if int64(n) > size-pos {
			return nil, fmt.Errorf("an argument of %d bytes at offset %d runs past the end", n, pos)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("truncated argument at offset %d", pos)
		}
		pos += int64(n)
		return b, nil
	}
	line := func() (string, error) {
		var out []byte
		for {
			if pos >= size {
				return "", fmt.Errorf("an unterminated line argument at offset %d", pos)
			}
			c, err := br.ReadByte()
			if err != nil {
				return "", fmt.Errorf("truncated line argument at offset %d", pos)
			}
			pos++
			if c == '\n' {
				return string(out), nil
			}
			if len(out) >= maxLine {
				return "", fmt.Errorf("a line argument at offset %d is longer than %d bytes", pos, maxLine)
			}
			out = append(out, c)
		}
	}
	// Ints and Globals are capped like Strings: a pickle of nothing but
	// BININT1 opcodes would otherwise grow them by 8 bytes for every 2 it
	// is long, and memory must stay flat however large the file.
	keepInt := func(v int64) {
		if len(fi.Ints) < maxKeptStrings {
			fi.Ints = append(fi.Ints, v)
		}
	}
	keepStr := func(b []byte) {
		if len(fi.Strings) < maxKeptStrings && len(b) <= maxStrKept {
			fi.Strings = append(fi.Strings, string(b))
		}
	}
	// readLen reads a 1-, 4- or 8-byte little-endian length argument.
	readLen := func(width int) (uint64, error) {
		b, err := read(width)
		if err != nil {
			return 0, err
		}
		switch width {
		case 1:
			return uint64(b[0]), nil
		case 4:
			return uint64(binary.LittleEndian.Uint32(b)), nil
		}
		return binary.LittleEndian.Uint64(b), nil
	}
	lenStr := func(width int) error {
		n, err := readLen(width)
		if err != nil {
			return err
		}
		if n <= maxStrKept {
			s, err := read(int(n))
			if err != nil {
				return err
			}
			keepStr(s)
			return nil
		}
		return skip(n)
	}
	lenSkip := func(width int) error {
		n, err := readLen(width)
		if err != nil {
			return err
		}
		return skip(n)
	}
	for {
		if pos >= size {
			return fi, errNoStop
		}
		op, err := br.ReadByte()
		if err != nil {
			return fi, errNoStop
		}
		opOff := pos
		pos++
		switch op {
		case '.': // STOP
			fi.End = pos
			return fi, nil
		case '(', '0', '1', '2', 'N', 'a', 'e', 'l', ']', ')', 't', 'd', '}', 's', 'u',
			0x85, 0x86, 0x87, 0x88, 0x89, 0x94:
			// structural opcodes with no argument
		case 'Q', 'R', 'b', 'o', 0x81, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x97, 0x98:
			fi.Simple = false
		case 'F', 'L', 'S', 'g', 'p':
			if _, err := line(); err != nil {
				return fi, err
			}
		case 'I':
			l, err := line()
			if err != nil {
				return fi, err
			}
			var v int64
			if _, err := fmt.Sscan(l, &v); err == nil {
				keepInt(v)
			}
		case 'V':
			l, err := line()
			if err != nil {
				return fi, err
			}
			keepStr([]byte(l))
		case 'P':
			fi.Simple = false
			if _, err := line(); err != nil {
				return fi, err
			}
		case 'c', 'i':
			fi.Simple = false
			mod, err := line()
			if err != nil {
				return fi, err
			}
			name, err := line()
			if err != nil {
				return fi, err
			}
			if len(fi.Globals) < maxKeptStrings {
				fi.Globals = append(fi.Globals, mod+"."+name)
			}
		case 'J':
			b, err := read(4)
			if err != nil {
				return fi, err
			}
			keepInt(int64(int32(binary.LittleEndian.Uint32(b))))
		case 'K':
			b, err := read(1)
			if err != nil {
				return fi, err
			}
			keepInt(int64(b[0]))
		case 'M':
			b, err := read(2)
			if err != nil {
				return fi, err
			}
			keepInt(int64(binary.LittleEndian.Uint16(b)))
		case 'h', 'q', 0x80, 0x82: // BINGET, BINPUT, PROTO, EXT1
			if op == 0x82 {
				fi.Simple = false
			}
			if err := skip(1); err != nil {
				return fi, err
			}
		case 'j', 'r', 0x84: // LONG_BINGET, LONG_BINPUT, EXT4
			if op == 0x84 {
				fi.Simple = false
			}
			if err := skip(4); err != nil {
				return fi, err
			}
		case 0x83: // EXT2
			fi.Simple = false
			if err := skip(2); err != nil {
				return fi, err
			}
		case 'G': // BINFLOAT
			if err := skip(8); err != nil {
				return fi, err
			}
		case 0x95: // FRAME: a length hint; the opcodes inside are walked
			if err := skip(8); err != nil {
				return fi, err
			}
		case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
			w := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op]
			if err := lenStr(w); err != nil {
				return fi, err
			}
		case 'U', 'C', 0x8a: // SHORT_BINSTRING, SHORT_BINBYTES, LONG1
			if err := lenSkip(1); err != nil {
				return fi, err
			}
		case 'T', 'B', 0x8b: // BINSTRING, BINBYTES, LONG4
			if err := lenSkip(4); err != nil {
				return fi, err
			}
		case 0x8e, 0x96: // BINBYTES8, BYTEARRAY8
			if err := lenSkip(8); err != nil {
				return fi, err
			}
		default:
			return fi, fmt.Errorf("unknown pickle opcode %#02x at offset %d", op, opOff)
		}
	}
}
