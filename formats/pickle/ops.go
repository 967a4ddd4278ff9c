package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// opNames are pickletools' names of every opcode, protocols 0 to 5.
var opNames = map[byte]string{
	'(': "MARK", '.': "STOP", '0': "POP", '1': "POP_MARK", '2': "DUP", 'F': "FLOAT", 'I': "INT",
	'J': "BININT", 'K': "BININT1", 'L': "LONG", 'M': "BININT2", 'N': "NONE", 'P': "PERSID",
	'Q': "BINPERSID", 'R': "REDUCE", 'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
	'V': "UNICODE", 'X': "BINUNICODE", 'a': "APPEND", 'b': "BUILD", 'c': "GLOBAL", 'd': "DICT",
	'}': "EMPTY_DICT", 'e': "APPENDS", 'g': "GET", 'h': "BINGET", 'i': "INST", 'j': "LONG_BINGET",
	'l': "LIST", ']': "EMPTY_LIST", 'o': "OBJ", 'p': "PUT", 'q': "BINPUT", 'r': "LONG_BINPUT",
	's': "SETITEM", 't': "TUPLE", ')': "EMPTY_TUPLE", 'u': "SETITEMS", 'G': "BINFLOAT",
	0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
	0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8",
	0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
	0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER",
}

func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", op)
}

// step executes one opcode. It returns done at STOP.
func (m *machine) step(op byte) (bool, error) {
	r := m.r
	switch op {
	case 'G': // BINFLOAT: the hot path of tensors pickled as lists
		b, err := m.read(8, "BINFLOAT")
		if err != nil {
			return false, err
		}
		return false, m.push(value{k: kFloat, off: m.opStart, i: int64(binary.BigEndian.Uint64(b))})
	case 'K':
		b, err := m.read(1, "BININT1")
		if err != nil {
			return false, err
		}
		return false, m.push(value{k: kInt, off: m.opStart, i: int64(b[0])})
	case 'M':
		b, err := m.read(2, "BININT2")
		if err != nil {
			return false, err
		}
		return false, m.push(value{k: kInt, off: m.opStart, i: int64(binary.LittleEndian.Uint16(b))})
	case 'J':
		b, err := m.read(4, "BININT")
		if err != nil {
			return false, err
		}
		return false, m.push(value{k: kInt, off: m.opStart, i: int64(int32(binary.LittleEndian.Uint32(b)))})
	case 0x8a, 0x8b: // LONG1, LONG4
		n, signed := 1, false
		if op == 0x8b {
			n, signed = 4, true
		}
		l, err := m.length(n, signed, opName(op))
		if err != nil {
			return false, err
		}
		if l > 8 {
			if err := r.skip(l); err != nil {
				return false, m.trunc(opName(op))
			}
			return false, m.push(value{k: kBigInt, off: m.opStart})
		}
		b, err := m.read(int(l), opName(op))
		if err != nil {
			return false, err
		}
		v := decodeLong(b)
		v.off = m.opStart
		return false, m.push(v)
	case 'I', 'L': // INT, LONG (text)
		b, _, err := m.textLine(opName(op))
		if err != nil {
			return false, err
		}
		if op == 'I' && (string(b) == "00" || string(b) == "01") {
			return false, m.push(value{k: kBool, off: m.opStart, i: int64(b[1] - '0')})
		}
		if op == 'L' && len(b) > 0 && b[len(b)-1] == 'L' {
			b = b[:len(b)-1]
		}
		v, ok := parseIntLine(b)
		if !ok {
			return false, m.fail("pickle/malformed", "%s at offset %d has a non-integer argument %.40q", opName(op), m.opStart, b)
		}
		v.off = m.opStart
		return false, m.push(v)
	case 'F':
		b, _, err := m.textLine("FLOAT")
		if err != nil {
			return false, err
		}
		s := strings.ReplaceAll(strings.TrimSpace(string(b)), "_", "")
		f, perr := strconv.ParseFloat(s, 64)
		if perr != nil && !strings.Contains(perr.Error(), "range") {
			return false, m.fail("pickle/malformed", "FLOAT at offset %d has a non-float argument %.40q", m.opStart, b)
		}
		return false, m.push(value{k: kFloat, off: m.opStart, i: int64(math.Float64bits(f))})
	case 'N':
		return false, m.push(value{k: kNone, off: m.opStart})
	case 0x88, 0x89:
		return false, m.push(value{k: kBool, off: m.opStart, i: int64(0x89 - op)})

	case 'S': // STRING: a quoted, escaped line
		b, total, err := m.textLine("STRING")
		if err != nil {
			return false, err
		}
		if total > int64(len(b)) {
			return false, m.push(value{k: kStr, off: m.opStart, i: total})
		}
		if len(b) < 2 || b[0] != b[len(b)-1] || (b[0] != '\'' && b[0] != '"') {
			return false, m.fail("pickle/malformed", "STRING at offset %d is not quoted (%.40q); CPython refuses it", m.opStart, b)
		}
		d, ok := decodeStringEscape(b[1 : len(b)-1])
		if !ok {
			return false, m.fail("pickle/malformed", "STRING at offset %d has a bad escape; CPython refuses it", m.opStart)
		}
		v := m.strValue(string(d), true)
		m.sc.dataBlob(&v)
		return false, m.push(v)
	case 'V': // UNICODE: raw-unicode-escape line
		b, total, err := m.textLine("UNICODE")
		if err != nil {
			return false, err
		}
		if total > int64(len(b)) {
			return false, m.push(value{k: kStr, off: m.opStart, i: total})
		}
		s, ok := decodeRawUnicodeEscape(b)
		if !ok {
			return false, m.fail("pickle/malformed", "UNICODE at offset %d has a bad \\u escape; CPython refuses it", m.opStart)
		}
		v := m.strValue(s, false)
		m.sc.dataBlob(&v)
		return false, m.push(v)
	case 'T', 'U', 'B', 'C', 0x8e, 0x96, 'X', 0x8c, 0x8d:
		var n int
		signed := false
		k, text := kBytes, false
		switch op {
		case 'T':
			n, signed, k = 4, true, kStr
		case 'U':
			n, k = 1, kStr
		case 'B':
			n = 4
		case 'C':
			n = 1
		case 0x8e, 0x96:
			n = 8
		case 'X':
			n, k, text = 4, kStr, true
		case 0x8c:
			n, k, text = 1, kStr, true
		case 0x8d:
			n, k, text = 8, kStr, true
		}
		l, err := m.length(n, signed, opName(op))
		if err != nil {
			return false, err
		}
		v, err := m.literal(k, l, text, opName(op))
		if err != nil {
			return false, err
		}
		if k == kStr && !text {
			v.fl |= flRaw // Python 2 str: bytes decoded by the loader's encoding
		}
		return false, m.push(v)

	case ')':
		return false, m.push(value{k: kTuple, off: m.opStart, x: &ext{}})
	case ']':
		return false, m.push(value{k: kList, off: m.opStart, x: &ext{}})
	case '}':
		return false, m.push(value{k: kDict, off: m.opStart, x: &ext{}})
	case 0x8f:
		return false, m.push(value{k: kSet, off: m.opStart, x: &ext{}})
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(m.stack)-m.fence() < n {
			return false, m.fail("pickle/malformed", "stack underflow at offset %d (%s)", m.opStart, opName(op))
		}
		items := m.stack[len(m.stack)-n:]
		v := m.container(kTuple, items)
		m.stack = m.stack[:len(m.stack)-n]
		return false, m.push(v)
	case 't', 'l', 0x91: // TUPLE, LIST, FROZENSET
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		k := map[byte]kind{'t': kTuple, 'l': kList, 0x91: kFrozenSet}[op]
		return false, m.push(m.container(k, items))
	case 'd':
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		if len(items)%2 != 0 {
			return false, m.fail("pickle/malformed", "DICT at offset %d has an odd number of items", m.opStart)
		}
		return false, m.push(m.container(kDict, items))
	case 'a': // APPEND
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		t, err := m.top()
		if err != nil {
			return false, err
		}
		m.addItems(t, []value{v})
		return false, nil
	case 'e', 'u', 0x90: // APPENDS, SETITEMS, ADDITEMS
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		if op == 'u' && len(items)%2 != 0 {
			return false, m.fail("pickle/malformed", "SETITEMS at offset %d has an odd number of items", m.opStart)
		}
		t, err := m.top()
		if err != nil {
			return false, err
		}
		m.addItems(t, items)
		return false, nil
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		k, err := m.pop()
		if err != nil {
			return false, err
		}
		t, err := m.top()
		if err != nil {
			return false, err
		}
		m.addItems(t, []value{k, v})
		return false, nil

	case '(':
		if len(m.marks) >= maxMarks {
			return false, m.fail("pickle/limit-exceeded", "more than %d MARKs are open at offset %d", maxMarks, m.opStart)
		}
		m.marks = append(m.marks, len(m.stack))
		return false, nil
	case '0': // POP: pops a MARK when one sits on top, as CPython's load_pop
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			m.marks = m.marks[:len(m.marks)-1]
			return false, nil
		}
		_, err := m.pop()
		return false, err
	case '1':
		_, err := m.popMark()
		return false, err
	case '2':
		t, err := m.top()
		if err != nil {
			return false, err
		}
		return false, m.push(*t)

	case 'g':
		b, _, err := m.textLine("GET")
		if err != nil {
			return false, err
		}
		idx, ok := parsePyIndex(b)
		if !ok {
			return false, m.fail("pickle/malformed", "GET at offset %d has a bad index %.40q", m.opStart, b)
		}
		return false, m.memoGet(idx)
	case 'h':
		b, err := m.read(1, "BINGET")
		if err != nil {
			return false, err
		}
		return false, m.memoGet(uint64(b[0]))
	case 'j':
		b, err := m.read(4, "LONG_BINGET")
		if err != nil {
			return false, err
		}
		return false, m.memoGet(uint64(binary.LittleEndian.Uint32(b)))
	case 'p':
		b, _, err := m.textLine("PUT")
		if err != nil {
			return false, err
		}
		idx, ok := parsePyIndex(b)
		if !ok {
			return false, m.fail("pickle/malformed", "PUT at offset %d has a bad index %.40q", m.opStart, b)
		}
		return false, m.memoPut(idx)
	case 'q':
		b, err := m.read(1, "BINPUT")
		if err != nil {
			return false, err
		}
		return false, m.memoPut(uint64(b[0]))
	case 'r':
		b, err := m.read(4, "LONG_BINPUT")
		if err != nil {
			return false, err
		}
		return false, m.memoPut(uint64(binary.LittleEndian.Uint32(b)))
	case 0x94: // MEMOIZE stores at len(memo), which counts distinct keys
		return false, m.memoPut(uint64(len(m.memo)))

	case 0x80:
		b, err := m.read(1, "PROTO")
		if err != nil {
			return false, err
		}
		if int(b[0]) > highestProto {
			return false, m.fail("pickle/malformed", "PROTO at offset %d asks for protocol %d; CPython knows up to %d", m.opStart, b[0], highestProto)
		}
		m.proto = int(b[0])
		m.sawProto = true
		if m.proto > m.sc.res.Protocol {
			m.sc.res.Protocol = m.proto
		}
		return false, nil
	case 0x95: // FRAME
		b, err := m.read(8, "FRAME")
		if err != nil {
			return false, err
		}
		n := binary.LittleEndian.Uint64(b)
		if r.frameEnd >= 0 && r.frameEnd > r.pos {
			// pickle.py refuses a frame that starts before the current
			// one is used up; _pickle.c reads on.
			m.sc.frameNested(m.opStart, r.frameEnd)
		}
		if n > uint64(r.remaining()) {
			if m.quiet {
				return false, m.trunc("FRAME")
			}
			// CPython stops here, before anything in the frame runs; the
			// frame's bytes are still read so what they hold is reported.
			m.sc.add("pickle/truncated", High, m.opStart, "", fmt.Sprintf(
				"FRAME at offset %d declares %d bytes but only %d remain; CPython refuses the pickle here (truncated or forged length). Its content is still scanned and reported", m.opStart, n, r.remaining()))
			n = uint64(r.remaining())
		}
		r.frameEnd = r.pos + int64(n)
		return false, nil
	case '.':
		if _, err := m.pop(); err != nil {
			return false, err
		}
		return true, nil

	case 'c', 'i': // GLOBAL, INST: module and name lines
		mod, err := m.nameLine(opName(op) + " module")
		if err != nil {
			return false, err
		}
		name, err := m.nameLine(opName(op) + " name")
		if err != nil {
			return false, err
		}
		g := m.global(mod, name, true)
		if op == 'c' {
			return false, m.push(g)
		}
		args, err := m.popMark()
		if err != nil {
			return false, err
		}
		return false, m.push(m.call(g, argList{items: args, n: int64(len(args)), taint: anyTainted(args)}, "INST"))
	case 0x93: // STACK_GLOBAL
		name, err := m.pop()
		if err != nil {
			return false, err
		}
		mod, err := m.pop()
		if err != nil {
			return false, err
		}
		ms, ok1 := mod.str()
		ns, ok2 := name.str()
		if !ok1 || !ok2 {
			if (mod.k == kStr || mod.k == kObj || mod.k == kUnknown) && (name.k == kStr || name.k == kObj || name.k == kUnknown) {
				// A module or name computed at load time (a call's result)
				// can be anything: fail closed.
				m.sc.add("pickle/nonliteral-global", High, m.opStart, "",
					fmt.Sprintf("STACK_GLOBAL at offset %d imports a module/name computed at load time (%s, %s); what it imports cannot be known", m.opStart, describe(&mod), describe(&name)))
				return false, m.push(value{k: kGlobal, off: m.opStart, x: &ext{mod: "?", name: "?", verdict: Unknown, taint: true}})
			}
			return false, m.fail("pickle/malformed", "STACK_GLOBAL at offset %d needs two strings, got %s and %s; CPython refuses it", m.opStart, mod.k, name.k)
		}
		return false, m.push(m.global(ms, ns, true))
	case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
		n := map[byte]int{0x82: 1, 0x83: 2, 0x84: 4}[op]
		b, err := m.read(n, opName(op))
		if err != nil {
			return false, err
		}
		code := int64(le(b))
		if n == 4 {
			code = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		if code <= 0 {
			return false, m.fail("pickle/malformed", "%s at offset %d has code %d; CPython refuses codes <= 0", opName(op), m.opStart, code)
		}
		m.sc.add("pickle/ext-code", High, m.opStart, "",
			fmt.Sprintf("%s at offset %d imports through extension code %d: CPython's extension registry is empty unless the loading program fills it (copyreg.add_extension), so what this imports cannot be known and a plain load fails", opName(op), m.opStart, code))
		return false, m.push(value{k: kGlobal, off: m.opStart, x: &ext{mod: "copyreg.extension", name: strconv.FormatInt(code, 10), verdict: Unknown, taint: true}})

	case 'R': // REDUCE
		return false, m.callTop("REDUCE")
	case 0x81: // NEWOBJ
		return false, m.callTop("NEWOBJ")
	case 0x92: // NEWOBJ_EX
		kwargs, err := m.pop()
		if err != nil {
			return false, err
		}
		args, err := m.pop()
		if err != nil {
			return false, err
		}
		cls, err := m.top()
		if err != nil {
			return false, err
		}
		a := tupleArgs(&args)
		a.taint = a.taint || kwargs.tainted()
		a.kw = &kwargs
		*cls = m.call(*cls, a, "NEWOBJ_EX")
		return false, nil
	case 'o': // OBJ
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		if len(items) < 1 {
			return false, m.fail("pickle/malformed", "OBJ at offset %d has no class", m.opStart)
		}
		cls := items[0]
		args := append([]value(nil), items[1:min(len(items), 1+maxItemsPer)]...)
		return false, m.push(m.call(cls, argList{items: args, n: int64(len(items) - 1), taint: anyTainted(items[1:])}, "OBJ"))
	case 'b': // BUILD
		state, err := m.pop()
		if err != nil {
			return false, err
		}
		inst, err := m.top()
		if err != nil {
			return false, err
		}
		return false, m.build(inst, state)

	case 'P': // PERSID
		b, _, err := m.textLine("PERSID")
		if err != nil {
			return false, err
		}
		for _, c := range b {
			if c >= 0x80 {
				return false, m.fail("pickle/malformed", "PERSID at offset %d is not ASCII; CPython refuses it", m.opStart)
			}
		}
		pid := m.strValue(string(b), false)
		m.sc.persistent(&pid, m.opStart)
		return false, m.push(value{k: kObj, off: m.opStart, x: &ext{fn: &value{k: kGlobal, x: &ext{mod: "persistent_load", name: "", verdict: Safe}}, args: []value{pid}}})
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return false, err
		}
		m.sc.persistent(&pid, m.opStart)
		return false, m.push(value{k: kObj, off: m.opStart, x: &ext{fn: &value{k: kGlobal, x: &ext{mod: "persistent_load", name: "", verdict: Safe}}, args: []value{pid}}})

	case 0x97: // NEXT_BUFFER
		m.sc.add("pickle/out-of-band-buffer", Medium, m.opStart, "",
			fmt.Sprintf("NEXT_BUFFER at offset %d takes data passed beside the pickle (protocol 5 out-of-band buffers); a plain load fails and that data was not scanned", m.opStart))
		return false, m.push(value{k: kBytes, off: m.opStart})
	case 0x98: // READONLY_BUFFER
		_, err := m.top()
		return false, err
	}
	return false, m.fail("pickle/malformed", "unknown opcode 0x%02x at offset %d; CPython stops here", op, m.opStart)
}

// parsePyIndex reads a protocol 0 GET/PUT index as CPython does
// (PyLong_FromString(s, NULL, 10) in _pickle.c, int() in pickle.py):
// surrounding whitespace, a sign, and single underscores between digits
// are allowed ("+1_0" is 10). Reading it any other way lets a file give
// CPython one memo entry and a scanner another, or none (class: parser
// differential on memo indexes). A negative index is refused by both.
func parsePyIndex(b []byte) (uint64, bool) {
	s := strings.Trim(string(b), " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			continue
		}
		if c < '0' || c > '9' || v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg && v != 0 {
		return 0, false
	}
	return v, true
}

// nameLine reads a GLOBAL/INST line, which CPython decodes as UTF-8.
func (m *machine) nameLine(what string) (string, error) {
	b, total, err := m.textLine(what)
	if err != nil {
		return "", err
	}
	if total > int64(len(b)) {
		return "", m.fail("pickle/malformed", "%s at offset %d is %d bytes long; no importable name is", what, m.opStart, total)
	}
	if !utf8.Valid(b) {
		return "", m.fail("pickle/malformed", "%s at offset %d is not UTF-8; CPython refuses it", what, m.opStart)
	}
	return string(b), nil
}

func describe(v *value) string {
	switch v.k {
	case kObj:
		if c := v.callee(); c != "" {
			return fmt.Sprintf("the result of %s (called at offset %d)", c, v.off)
		}
		if v.x != nil && v.x.fn == nil {
			return fmt.Sprintf("the result of a call it could not judge (offset %d)", v.off)
		}
		return "a computed object"
	case kStr:
		if s, ok := v.str(); ok {
			return strconv.Quote(s)
		}
		return fmt.Sprintf("a %d-byte string", v.i)
	}
	return v.k.String()
}

// callTop pops an argument tuple and applies the callable (REDUCE) or
// class (NEWOBJ) beneath it, as the unpickler does, leaving the result in
// its place.
func (m *machine) callTop(op string) error {
	args, err := m.pop()
	if err != nil {
		return err
	}
	fn, err := m.top()
	if err != nil {
		return err
	}
	*fn = m.call(*fn, tupleArgs(&args), op)
	return nil
}

// IsOpcode reports whether b is a pickle opcode of any protocol. Content
// whose first byte is not one makes every unpickler (CPython's C and pure
// Python ones alike) raise before it does anything else.
func IsOpcode(b byte) bool {
	_, ok := opNames[b]
	return ok
}
