package pytorch

import (
	"bufio"
	"encoding/binary"
	"io"
)

// maxDecodeLong is the longest integer literal (LONG text, LONG4 bytes)
// handed to gopickle. gopickle builds a LONG4 integer one byte at a time
// with a shift of the whole big.Int (quadratic) and parses LONG text in
// one call, all inside one opcode where no deadline check can run: a
// pickle modelvet rightly accepts (Python reads any length) could hold
// gopickle for hours. State dicts never hold such integers.
const maxDecodeLong = 64

// Argument layouts of the opcodes gopickle is allowed to see.
const (
	argNone = iota
	argFixed
	argLen  // little-endian length of n bytes, then that many bytes
	argLine // one newline-terminated line
	argTwoLines
	argFrame // FRAME: an 8-byte length of the opcodes that follow
)

type opArg struct{ kind, n int }

var decodeOps = func() map[byte]opArg {
	m := map[byte]opArg{}
	// MARK STOP POP POP_MARK DUP NONE REDUCE APPEND BUILD DICT APPENDS LIST
	// OBJ BINPERSID SETITEM TUPLE SETITEMS EMPTY_DICT EMPTY_LIST
	// EMPTY_TUPLE, then the protocol 2-5 ones.
	// (bytes, not runes: the high opcodes are not UTF-8.)
	for _, c := range []byte("(.012NRabdeloQstu}])\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98") {
		m[c] = opArg{argNone, 0}
	}
	for c, n := range map[byte]int{0x80: 1, 'J': 4, 'K': 1, 'M': 2, 'G': 8, 'h': 1, 'j': 4, 'q': 1, 'r': 4, 0x82: 1, 0x83: 2, 0x84: 4} {
		m[c] = opArg{argFixed, n}
	}
	for c, n := range map[byte]int{0x8a: 1, 0x8b: 4, 'T': 4, 'U': 1, 'B': 4, 'C': 1, 'X': 4, 0x8c: 1, 0x8d: 8, 0x8e: 8, 0x96: 8} {
		m[c] = opArg{argLen, n}
	}
	for _, c := range "ILFSVgpP" {
		m[byte(c)] = opArg{argLine, 0}
	}
	// gopickle allocates a FRAME's declared length before reading it
	// (a 9-byte pickle declaring a terabyte ran the fuzzer out of memory).
	m[0x95] = opArg{argFrame, 8}
	m['c'] = opArg{argTwoLines, 0}
	m['i'] = opArg{argTwoLines, 0}
	return m
}()

// decodable walks the opcodes of the pickle in r[0:size] up to its first
// STOP and says whether gopickle may be given them: every opcode known,
// every length inside the input, at most maxOps opcodes, and no integer
// literal longer than maxDecodeLong. It allocates nothing per opcode.
func decodable(r io.ReaderAt, size int64, maxOps int) bool {
	br := bufio.NewReader(io.NewSectionReader(r, 0, size))
	left := size
	skip := func(n int64) bool {
		if n < 0 || n > left {
			return false
		}
		k, err := br.Discard(int(n))
		left -= int64(k)
		return err == nil
	}
	line := func() (int64, bool) {
		var n int64
		for {
			c, err := br.ReadByte()
			if err != nil {
				return 0, false
			}
			left--
			n++
			if c == '\n' {
				return n, true
			}
		}
	}
	for ops := 0; ops < maxOps; ops++ {
		op, err := br.ReadByte()
		if err != nil {
			return false
		}
		left--
		if op == '.' {
			return true
		}
		a, ok := decodeOps[op]
		if !ok {
			return false
		}
		switch a.kind {
		case argFixed:
			if !skip(int64(a.n)) {
				return false
			}
		case argLen:
			var b [8]byte
			if int64(a.n) > left {
				return false
			}
			if _, err := io.ReadFull(br, b[:a.n]); err != nil {
				return false
			}
			left -= int64(a.n)
			n := int64(binary.LittleEndian.Uint64(b[:]))
			if a.n == 4 {
				n = int64(int32(binary.LittleEndian.Uint32(b[:4])))
			}
			if (op == 0x8b || op == 0x8a) && n > maxDecodeLong {
				return false
			}
			if !skip(n) {
				return false
			}
		case argFrame:
			// The frame holds the opcodes after it, which this loop
			// walks; its length must only fit in what is left.
			var b [8]byte
			if left < 8 {
				return false
			}
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return false
			}
			left -= 8
			if n := binary.LittleEndian.Uint64(b[:]); n > uint64(left) {
				return false
			}
		case argLine, argTwoLines:
			n, ok := line()
			if !ok || (op == 'L' && n > maxDecodeLong) {
				return false
			}
			if a.kind == argTwoLines {
				if _, ok := line(); !ok {
					return false
				}
			}
		}
	}
	return false
}
