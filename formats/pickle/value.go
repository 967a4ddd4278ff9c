package pickle

import "unicode/utf8"

// kind is the type of a symbolic value on the machine's stack.
type kind uint8

const (
	kUnknown kind = iota // a value the scanner cannot know (out-of-band buffer, EXT object)
	kNone
	kBool
	kInt
	kBigInt // an integer too large for int64 (LONG, LONG1, LONG4)
	kFloat
	kStr
	kBytes
	kTuple
	kList
	kDict
	kSet
	kFrozenSet
	kGlobal // a class or callable named by GLOBAL, STACK_GLOBAL, INST, EXT
	kObj    // what calling or instantiating something returned
)

var kindNames = [...]string{"unknown", "None", "bool", "int", "int", "float", "str", "bytes", "tuple",
	"list", "dict", "set", "frozenset", "global", "object"}

func (k kind) String() string { return kindNames[k] }

// flags of a value.
const (
	flKept   uint8 = 1 << iota // s holds the whole literal
	flRegion                   // the literal's raw bytes are at [d, d+i) of the stream
	flRaw                      // s holds bytes (a protocol 0-2 STRING), not text
)

// value is one symbolic value. Scalars carry no allocation: a pickle of
// millions of floats pushes and pops values, nothing else. Containers and
// objects share an *ext so the memo and the stack see the same object, as
// in Python.
type value struct {
	k   kind
	fl  uint8
	off int64  // offset of the opcode that made the value
	i   int64  // int value, bool, float bits, or length of a str/bytes
	d   int64  // flRegion: stream offset of the literal's bytes
	s   string // flKept: the literal
	x   *ext
}

// ext holds what containers, globals and objects need beyond a scalar.
type ext struct {
	items []value // kept elements (dict: key, value, key, value...)
	n     int64   // total elements ever added
	// kGlobal
	mod, name string
	full      string // "mod.name", computed once
	verdict   Verdict
	literal   bool // module and name were literal strings
	// kObj
	fn    *value  // what was called or instantiated
	args  []value // kept arguments
	state *value  // the last BUILD state
	// used (kObj): the object was placed in a container or given to a
	// call; builds counts the BUILDs (or apply states) it was given. A
	// numpy dtype changed after either was judged with its old state
	// (dtypeflags.go).
	used   bool
	builds int32
	// frozen (kDict): the dict is a numpy dtype's fields, which numpy
	// keeps by reference: changing it later changes the checked dtype.
	frozen bool
	// taint: the value is, or holds (kept or not), something whose call
	// cannot be judged from its import alone: an opaque object, or a
	// safe-listed function whose effect depends on its arguments (an
	// apply, pass-through or import gadget). Set whatever the keep
	// budgets drop, so a value that was not kept is still known clean or
	// not (calls.go).
	taint bool
	// opaque (kObj): what the call returned cannot be known (an unknown
	// or dangerous callee, or a callee that was not an imported name).
	opaque bool
}

// tainted reports whether v is or holds a value whose call cannot be
// judged by its import alone.
func (v *value) tainted() bool {
	if v.k == kUnknown {
		return true
	}
	return v.x != nil && v.x.taint
}

// anyTainted reports whether any of vs is tainted.
func anyTainted(vs []value) bool {
	for i := range vs {
		if vs[i].k >= kTuple && vs[i].tainted() || vs[i].k == kUnknown {
			return true
		}
	}
	return false
}

// global returns "module.name" of a kGlobal, or "".
func (v *value) global() string {
	if v.k != kGlobal || v.x == nil {
		return ""
	}
	if v.x.full == "" {
		v.x.full = v.x.mod + "." + v.x.name
	}
	return v.x.full
}

// callee returns "module.name" of the global an object was made by.
func (v *value) callee() string {
	if v.k != kObj || v.x == nil || v.x.fn == nil {
		return ""
	}
	return v.x.fn.global()
}

// str returns the literal text of a kept str value.
func (v *value) str() (string, bool) {
	if v.k == kStr && v.fl&flKept != 0 {
		return v.s, true
	}
	return "", false
}

// dictGet returns the kept value of key in a kept dict.
func (v *value) dictGet(key string) (value, bool) {
	if v.k != kDict || v.x == nil {
		return value{}, false
	}
	for i := 0; i+1 < len(v.x.items); i += 2 {
		if s, ok := v.x.items[i].str(); ok && s == key {
			return v.x.items[i+1], true
		}
	}
	return value{}, false
}

// literal converts a value to the Go literal PersistentID documents.
func (v *value) literal(depth int) any {
	switch v.k {
	case kStr:
		if v.fl&flKept != 0 {
			return v.s
		}
	case kBytes:
		if v.fl&flKept != 0 {
			return []byte(v.s)
		}
	case kInt, kBool:
		return v.i
	case kTuple, kList:
		if v.x == nil || depth > 4 {
			return nil
		}
		out := make([]any, len(v.x.items))
		for i := range v.x.items {
			out[i] = v.x.items[i].literal(depth + 1)
		}
		return out
	case kGlobal:
		return Global{Module: v.x.mod, Name: v.x.name, Offset: v.off, Verdict: v.x.verdict}
	}
	return nil
}

// latin1 encodes text as Latin-1 bytes, as _codecs.encode(s, 'latin1').
func latin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff || r == utf8.RuneError {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}
