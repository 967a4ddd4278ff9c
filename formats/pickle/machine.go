package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what one stream may make the machine hold. They keep memory
// flat whatever the input: values past a bound are counted, not kept.
const (
	maxKeptString = 64 << 10 // longest str/bytes literal kept as text
	maxKeptBytes  = 32 << 20 // all kept literals of one scan together
	maxKeptItems  = 1 << 19  // container elements kept, all containers together
	maxItemsPer   = 256      // elements kept per container
	maxStack      = 1 << 20  // stack entries
	maxMarks      = 1 << 16  // open MARKs
	maxMemo       = 1 << 20  // memo entries
	maxLine       = 1 << 20  // protocol 0 text argument kept (longer ones are skipped)
	highestProto  = 5
)

// pickleError is why the machine stopped: CPython's unpickler would raise
// at the same opcode.
type pickleError struct {
	rule string // pickle/malformed, pickle/truncated, pickle/limit-exceeded
	off  int64
	msg  string
}

func (e *pickleError) Error() string { return e.msg }

// machine executes one stream's opcodes symbolically.
type machine struct {
	sc    *scanner
	r     *reader
	stack []value
	marks []int
	memo  map[uint64]value
	proto int

	opStart  int64 // offset of the opcode being executed
	ops      int64 // opcodes executed
	lastOp   byte
	imports  int
	sawProto bool
	// applyDepth bounds the inner calls judged through apply functions.
	applyDepth int
	// objDtype: a numpy dtype that may hold Python objects was made in
	// this pickle (dtypeflags.go); until then no unkept field can be one.
	objDtype bool
	// fieldEnd is the furthest end of any numpy dtype field pair built so
	// far, fieldEndUnknown whether one could not be sized (dtypelayout.go).
	fieldEnd        int64
	fieldEndUnknown bool
	// applied caches what an apply function's inner call returned, by
	// callee and (immutable) argument tuple: a pickle that repeats one
	// nested apply from the memo costs one evaluation, not one per call.
	applied map[[2]*ext]value
	quiet   bool // sniff mode: no findings, no nested scans
	noHook  bool // a plain pickle.load inside a joblib stream: no array hook
}

func newMachine(sc *scanner, r *reader) *machine {
	return &machine{sc: sc, r: r, memo: map[uint64]value{}, stack: make([]value, 0, 64)}
}

func (m *machine) fail(rule, format string, args ...any) error {
	return &pickleError{rule: rule, off: m.opStart, msg: fmt.Sprintf(format, args...)}
}

func (m *machine) trunc(what string) error {
	return &pickleError{rule: "pickle/truncated", off: m.opStart,
		msg: fmt.Sprintf("the data ends inside %s (opcode at offset %d); the pickle is truncated", what, m.opStart)}
}

// read returns n argument bytes of the current opcode.
func (m *machine) read(n int, what string) ([]byte, error) {
	b, err := m.r.next(n)
	if err != nil {
		if errors.Is(err, errTruncated) {
			return nil, m.trunc(what)
		}
		return nil, m.fail("pickle/read-error", "%v", err)
	}
	return b, nil
}

func (m *machine) push(v value) error {
	if len(m.stack) >= maxStack {
		return m.fail("pickle/limit-exceeded", "the stack holds more than %d values; the rest is not scanned", maxStack)
	}
	m.stack = append(m.stack, v)
	return nil
}

// fence is the lowest stack index the current mark lets opcodes pop.
func (m *machine) fence() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) pop() (value, error) {
	if len(m.stack) <= m.fence() {
		return value{}, m.fail("pickle/malformed", "stack underflow at offset %d (opcode %s)", m.opStart, opName(m.lastOp))
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (*value, error) {
	if len(m.stack) <= m.fence() {
		return nil, m.fail("pickle/malformed", "stack underflow at offset %d (opcode %s)", m.opStart, opName(m.lastOp))
	}
	return &m.stack[len(m.stack)-1], nil
}

// popMark returns the values above the last MARK and removes them with the
// mark. The slice aliases the stack and is valid until the next push.
func (m *machine) popMark() ([]value, error) {
	if len(m.marks) == 0 {
		return nil, m.fail("pickle/malformed", "opcode %s at offset %d needs a MARK and there is none", opName(m.lastOp), m.opStart)
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[k:]
	m.stack = m.stack[:k]
	return items, nil
}

// container makes a kept container from items, within the budgets.
func (m *machine) container(k kind, items []value) value {
	if k == kTuple && (len(items) == 2 || len(items) == 3) {
		m.noteField(items)
	}
	x := &ext{n: int64(len(items)), taint: anyTainted(items)}
	markUsed(items)
	m.keep(x, items)
	return value{k: k, off: m.opStart, x: x}
}

// keep appends what the budgets allow of items to a container.
func (m *machine) keep(x *ext, items []value) {
	room := maxItemsPer - len(x.items)
	if room <= 0 || m.sc.keptItems >= maxKeptItems {
		return
	}
	if len(items) < room {
		room = len(items)
	}
	x.items = append(x.items, items[:room]...)
	m.sc.keptItems += int64(room)
}

// markUsed records that objects were placed somewhere (a container, a
// call's arguments): from then on something holds them as they are.
func markUsed(items []value) {
	for i := range items {
		if items[i].k == kObj && items[i].x != nil {
			items[i].x.used = true
		}
	}
}

// addItems adds items to a container on the stack (APPENDS, SETITEMS,
// ADDITEMS): plain containers keep some, objects only count.
func (m *machine) addItems(target *value, items []value) {
	m.mutateCheck(target)
	markUsed(items)
	if target.x == nil {
		return
	}
	if target.x.frozen && !m.quiet {
		m.fieldsMutated()
	}
	target.x.n += int64(len(items))
	if !target.x.taint && anyTainted(items) {
		target.x.taint = true
	}
	switch target.k {
	case kList, kDict, kSet:
		m.keep(target.x, items)
	}
}

// run executes one pickle, from the current position through STOP.
func (m *machine) run() error {
	m.stack = m.stack[:0]
	m.marks = m.marks[:0]
	r := m.r
	for {
		m.opStart = r.pos
		if r.pos >= r.end {
			return m.trunc("the pickle: no STOP opcode before the end")
		}
		op, err := r.byte1()
		if err != nil {
			return m.trunc("an opcode")
		}
		m.lastOp = op
		m.ops++
		if err := m.refused(op); err != nil { // readers.go
			return err
		}
		done, err := m.step(op)
		if err != nil {
			return err
		}
		if r.straddle >= 0 {
			m.sc.frameStraddle(m.opStart, r.straddle)
			r.straddle = -2 // reported once per stream
		}
		if done {
			return nil
		}
	}
}

func le(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// length reads an n-byte little-endian length and checks it against what
// remains before anything is allocated.
func (m *machine) length(n int, signed bool, what string) (int64, error) {
	b, err := m.read(n, what+" length")
	if err != nil {
		return 0, err
	}
	var l int64
	switch {
	case n == 4 && signed:
		l = int64(int32(binary.LittleEndian.Uint32(b)))
	case n == 8:
		u := binary.LittleEndian.Uint64(b)
		if u > math.MaxInt64 {
			return 0, m.fail("pickle/malformed", "%s at offset %d declares %d bytes, more than any file holds", what, m.opStart, u)
		}
		l = int64(u)
	default:
		l = int64(le(b))
	}
	if l < 0 {
		return 0, m.fail("pickle/malformed", "%s at offset %d has a negative length %d", what, m.opStart, l)
	}
	if l > m.r.remaining() {
		return 0, &pickleError{rule: "pickle/truncated", off: m.opStart, msg: fmt.Sprintf(
			"%s at offset %d declares %d bytes but only %d remain; the pickle is truncated or its length forged", what, m.opStart, l, m.r.remaining())}
	}
	return l, nil
}

// literal reads an l-byte str or bytes payload: kept when short, skipped
// (and remembered by position) otherwise.
func (m *machine) literal(k kind, l int64, text bool, what string) (value, error) {
	v := value{k: k, off: m.opStart, i: l, d: m.r.pos, fl: flRegion}
	if l <= maxKeptString && m.sc.keptBytes+l <= maxKeptBytes {
		b, err := m.read(int(l), what)
		if err != nil {
			return v, err
		}
		if text && !utf8.Valid(b) && !validSurrogatePass(b) {
			return v, m.fail("pickle/malformed", "%s at offset %d is not valid UTF-8; CPython refuses it", what, m.opStart)
		}
		v.s = string(b)
		v.fl |= flKept
		m.sc.keptBytes += l
	} else if err := m.r.skip(l); err != nil {
		return v, m.trunc(what)
	}
	if !m.quiet {
		m.sc.dataBlob(&v)
	}
	return v, nil
}

// validSurrogatePass accepts the surrogate code points CPython's
// 'surrogatepass' error handler lets through in BINUNICODE.
func validSurrogatePass(b []byte) bool {
	for len(b) > 0 {
		if b[0] == 0xed && len(b) >= 3 && b[1] >= 0xa0 && b[1] <= 0xbf && b[2] >= 0x80 && b[2] <= 0xbf {
			b = b[3:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		b = b[n:]
	}
	return true
}

// textLine reads a protocol 0 line argument.
func (m *machine) textLine(what string) ([]byte, int64, error) {
	b, total, err := m.r.line(maxLine)
	if err != nil {
		if errors.Is(err, errTruncated) {
			return nil, 0, m.trunc(what + " (no newline)")
		}
		return nil, 0, m.fail("pickle/read-error", "%v", err)
	}
	return b, total, nil
}

func (m *machine) memoGet(idx uint64) error {
	v, ok := m.memo[idx]
	if !ok {
		return m.fail("pickle/malformed", "memo entry %d is read at offset %d but was never stored; CPython stops here", idx, m.opStart)
	}
	return m.push(v)
}

func (m *machine) memoPut(idx uint64) error {
	t, err := m.top()
	if err != nil {
		return err
	}
	if _, ok := m.memo[idx]; !ok && len(m.memo) >= maxMemo {
		return m.fail("pickle/limit-exceeded", "the memo holds more than %d entries; the rest is not scanned", maxMemo)
	}
	m.memo[idx] = *t
	return nil
}

func parseIntLine(b []byte) (value, bool) {
	s := strings.TrimSpace(string(b))
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return value{k: kInt, i: v}, true
	}
	t := strings.TrimLeft(s, "+-")
	if t == "" {
		return value{}, false
	}
	for _, c := range t {
		if (c < '0' || c > '9') && c != '_' {
			// hex/octal/binary big numbers
			if _, ok := bigPrefixed(t); !ok {
				return value{}, false
			}
			break
		}
	}
	return value{k: kBigInt}, true
}

func bigPrefixed(t string) (bool, bool) {
	if len(t) < 3 || t[0] != '0' {
		return false, false
	}
	digits := t[2:]
	var ok func(c rune) bool
	switch t[1] {
	case 'x', 'X':
		ok = func(c rune) bool { return strings.ContainsRune("0123456789abcdefABCDEF_", c) }
	case 'o', 'O':
		ok = func(c rune) bool { return strings.ContainsRune("01234567_", c) }
	case 'b', 'B':
		ok = func(c rune) bool { return c == '0' || c == '1' || c == '_' }
	default:
		return false, false
	}
	for _, c := range digits {
		if !ok(c) {
			return false, false
		}
	}
	return true, true
}

// decodeStringEscape is Python's codecs.escape_decode, which protocol 0
// STRING arguments go through.
func decodeStringEscape(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, false // trailing backslash: "\ at end of string"
		}
		switch e := b[i]; e {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, 10)
		case 'r':
			out = append(out, 13)
		case 't':
			out = append(out, 9)
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(b) {
				return nil, false
			}
			h, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, false
			}
			out = append(out, byte(h))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for n := 0; n < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; n++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, byte(v))
		default:
			out = append(out, '\\', e)
		}
	}
	return out, true
}

// decodeRawUnicodeEscape is Python's raw-unicode-escape codec, which
// protocol 0 UNICODE arguments go through: bytes are Latin-1 code points
// except \uXXXX and \UXXXXXXXX.
func decodeRawUnicodeEscape(b []byte) (string, bool) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			// An odd run of backslashes escapes; an even run does not.
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(b) {
				return "", false
			}
			v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32)
			if err != nil || v > 0x10ffff {
				return "", false
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String(), true
}

// strValue makes a kept text value from decoded protocol 0 data.
func (m *machine) strValue(s string, raw bool) value {
	v := value{k: kStr, off: m.opStart, i: int64(len(s))}
	if int64(len(s)) <= maxKeptString && m.sc.keptBytes+int64(len(s)) <= maxKeptBytes {
		v.s = s
		v.fl = flKept
		if raw {
			v.fl |= flRaw
		}
		m.sc.keptBytes += int64(len(s))
	}
	return v
}

// decodeLong is pickle.decode_long for small values (two's complement,
// little-endian); longer ones are kBigInt.
func decodeLong(b []byte) value {
	if len(b) == 0 {
		return value{k: kInt}
	}
	if len(b) > 8 {
		return value{k: kBigInt}
	}
	u := le(b)
	if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
		u |= ^uint64(0) << (8 * uint(len(b)))
	}
	return value{k: kInt, i: int64(u)}
}
