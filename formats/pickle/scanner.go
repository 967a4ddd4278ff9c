package pickle

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

const (
	maxNestedDepth = 4   // pickles inside pickles inside pickles...
	maxNestedScans = 256 // nested pickles followed per top-level stream
	maxPersistent  = 1 << 16
	maxGlobals     = 4096
	maxFindings    = 1000 // distinct findings listed per stream
	maxTrials      = 4096 // data literals trial-parsed as pickles per stream
)

// Severities, for brevity.
const (
	Info     = formats.Info
	Low      = formats.Low
	Medium   = formats.Medium
	High     = formats.High
	Critical = formats.Critical
)

// pending is a finding being collected: repeated findings about the same
// import are reported once, at their first offset, with a count.
type pending struct {
	f     formats.Finding
	count int
	by    string // which loaders run it, when set by the reader views (readers.go)
}

// shared is what a stream and the pickles nested in it spend together.
type shared struct {
	nested int
}

// scanner scans one stream (a file or a nested pickle).
type scanner struct {
	s     *formats.Scope
	opts  *formats.Options
	ra    io.ReaderAt
	size  int64
	res   *Result
	depth int
	sh    *shared
	quiet bool

	keptBytes, keptItems int64

	found    map[string]*pending
	order    []*pending
	globals  map[string]bool
	blobs    []*blob         // candidate nested pickles, scanned at the end
	blobAt   map[int64]*blob // by literal offset
	joblib   bool            // a joblib NumpyArrayWrapper was seen
	skipped  [][2]int64      // stream ranges read as joblib array data, not opcodes
	straddle bool
	noHook   bool // read joblib array data as opcodes (the shadow pass)
	// torchScript: the stream is read by TorchScript's C++ unpickler,
	// which resolves its own names without Python (torchscript.go).
	torchScript bool
	// criticalPastCap: a critical finding was kept after maxFindings.
	criticalPastCap bool
	// loaders: who reads the stream (readers.go); nil = any loader.
	loaders  *Loaders
	plainSaw map[string]bool // findings the plain view made too (readers.go)
	sideSeen map[string]bool // legacy joblib side files checked (sidefile.go)
	// unreadFrom: from this stream offset on no loader reads the
	// stream (-1: all of it is read); unreadWhy says why (readers.go).
	unreadFrom int64
	unreadWhy  string
}

func newScanner(s *formats.Scope, ra io.ReaderAt, size int64, depth int, sh *shared) *scanner {
	var opts *formats.Options
	if s != nil {
		opts = s.Options()
	}
	if opts == nil {
		o := formats.DefaultOptions()
		opts = &o
	}
	return &scanner{s: s, opts: opts, ra: ra, size: size, res: &Result{}, depth: depth, sh: sh,
		found: map[string]*pending{}, globals: map[string]bool{}, blobAt: map[int64]*blob{}, unreadFrom: -1}
}

// add records a finding; the same rule about the same import (or, without
// an import, the same rule) is reported once with a count.
func (sc *scanner) add(rule string, sev formats.Severity, off int64, imp, msg string) {
	if sc.quiet {
		return
	}
	if sev > High && sc.unread(off) {
		// No loader runs it: it cannot execute on load, but it is
		// content hidden from the loader, which a gate must not pass.
		sev = High
	}
	// One finding per rule, import and severity: the first offset and
	// message stand for the rest, which are counted.
	key := rule + "\x00" + imp + "\x00" + sev.String()
	if p, ok := sc.found[key]; ok {
		p.count++
		return
	}
	if len(sc.order) >= maxFindings {
		// Thousands of distinct imports: the first ones say enough, and
		// keeping them all would let a file grow the report without bound.
		if len(sc.order) == maxFindings {
			sc.order = append(sc.order, &pending{f: formats.Finding{Rule: "pickle/limit-exceeded", Severity: High, Offset: off,
				Message: fmt.Sprintf("more than %d distinct findings; the rest (from offset %d on) are not listed", maxFindings, off)}, count: 1})
		}
		// The cap must not hide the worst: a thousand harmless unknown
		// imports padded in front of os.system would otherwise leave the
		// file at High and pass a --fail-on critical gate. One critical
		// past the cap is kept (later ones are counted against it).
		if sev < Critical || sc.criticalPastCap {
			return
		}
		sc.criticalPastCap = true
	}
	p := &pending{f: formats.Finding{Rule: rule, Severity: sev, Offset: off, Import: imp, Message: msg}, count: 1}
	sc.found[key] = p
	sc.order = append(sc.order, p)
}

// flush reports the collected findings to the scope.
func (sc *scanner) flush() {
	if sc.s == nil {
		return
	}
	for _, p := range sc.order {
		f := p.f
		if p.count > 1 {
			f.Message += fmt.Sprintf(" (seen %d times; first at offset %d)", p.count, f.Offset)
		}
		f.Message += " [" + sc.loaderLabel(p) + "]"
		sc.s.Report(f)
	}
	sc.order = nil
}

// global resolves and judges an import.
func (m *machine) global(mod, name string, literal bool) value {
	sc := m.sc
	if identPath(mod) && identPath(name) {
		m.imports++ // a plausible import: the sniff's evidence of a pickle
	}
	v := Classify(mod, name, sc.opts)
	if sc.torchScript && torchScriptSafe(mod, name) {
		v = Safe
	}
	imp := mod + "." + name
	shown := imp
	if mm, nn := mapPy2(mod, name); mm != mod || nn != name {
		shown = fmt.Sprintf("%s (Python 2 name of %s.%s)", imp, mm, nn)
	}
	if !m.quiet {
		if !sc.globals[imp] && len(sc.res.Globals) < maxGlobals {
			sc.globals[imp] = true
			sc.res.Globals = append(sc.res.Globals, Global{Module: mod, Name: name, Offset: m.opStart, Verdict: v})
		}
		switch v {
		case Dangerous:
			capab := capabilityOf(mod, name)
			if mm, nn := mapPy2(mod, name); capab == "" {
				capab = capabilityOf(mm, nn)
			}
			sc.add("pickle/dangerous-import", Critical, m.opStart, imp,
				fmt.Sprintf("imports %s at offset %d%s: loading this pickle can run code, touch files or the network", shown, m.opStart, capab))
		case Unknown:
			sev, what := High, "the strict profile accepts only known-safe imports (as torch.load(weights_only=True) would); allow it with --allow if you trust it"
			if sc.opts.Profile == formats.Permissive {
				sev, what = Medium, "loading it imports and may call code modelvet does not know"
			}
			sc.add("pickle/unknown-import", sev, m.opStart, imp,
				fmt.Sprintf("imports %s at offset %d, which is not known to be safe: %s", shown, m.opStart, what))
		}
	}
	return value{k: kGlobal, off: m.opStart, x: &ext{mod: mod, name: name, verdict: v, literal: literal, taint: tainting(imp)}}
}

// identPath reports whether s looks like a dotted Python name.
func identPath(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	prevDot := true
	for _, c := range s {
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 0x7f:
		case c >= '0' && c <= '9':
			if prevDot {
				return false
			}
		default:
			return false
		}
		prevDot = false
	}
	return !prevDot
}

// build executes BUILD on inst with state.
func (m *machine) build(inst *value, state value) error {
	if m.quiet {
		return nil
	}
	switch inst.k {
	case kGlobal:
		// BUILD on a class or function sets its attributes: the pickle
		// rewrites code that is already loaded (torch._utils, a class's
		// __reduce__), a classic way to smuggle a callable past an allow list.
		m.sc.add("pickle/build-on-global", Critical, m.opStart, inst.global(),
			fmt.Sprintf("BUILD at offset %d sets attributes of the imported %s itself, not of an instance: loading this rewrites loaded code", m.opStart, inst.global()))
	case kObj:
		m.setState(inst, state)
		if hookable(inst.callee()) {
			return m.joblibArray(inst, &state)
		}
	case kUnknown:
		m.sc.add("pickle/opaque-call", High, m.opStart, "",
			fmt.Sprintf("BUILD at offset %d calls __setstate__ of an object modelvet cannot know", m.opStart))
	}
	// An instance attribute named __setstate__ (or __reduce__) is found
	// by the next BUILD or pickling: the state smuggles a callable in.
	for _, st := range []value{state} {
		if st.k == kTuple && st.x != nil && len(st.x.items) == 2 {
			st = st.x.items[1] // (state, slotstate)
		}
		for _, key := range []string{"__setstate__", "__reduce__", "__reduce_ex__", "__getattr__", "__getattribute__", "__class__", "__dict__"} {
			if _, ok := st.dictGet(key); ok {
				m.sc.add("pickle/setstate-override", High, m.opStart, "",
					fmt.Sprintf("BUILD at offset %d sets an attribute named %s on an object: a later BUILD or load calls it, a known way to run a smuggled callable", m.opStart, key))
			}
		}
	}
	return nil
}

// setState judges state given to an object's __setstate__ (or set as
// its attributes): by BUILD, or by an apply function that sets its
// state argument on what it made (torch._tensor._rebuild_from_type_v2
// calls ret.__setstate__(state)). Every check of state on a safe-listed
// class runs here, whichever opcode or function delivers it (class: state
// checks bypassed through another setter).
func (m *machine) setState(inst *value, state value) {
	m.dtypeReuse(inst)
	inst.x.builds++
	inst.x.state = &state
	if state.tainted() {
		inst.x.taint = true
	}
	m.tensorStateHooks(inst, &state)
	m.dtypeFlags(inst, &state)
	m.dtypeLayout(inst, &state)
	m.freezeFields(inst, &state)
	m.rngState(inst, &state)
	m.arrayListState(inst, &state)
}

// persistent records a persistent id.
func (sc *scanner) persistent(pid *value, off int64) {
	if sc.quiet {
		return
	}
	if len(sc.res.PersistentIDs) < maxPersistent {
		sc.res.PersistentIDs = append(sc.res.PersistentIDs, PersistentID{Offset: off, Value: pid.literal(0)})
	}
}

func (sc *scanner) frameStraddle(op, at int64) {
	if sc.straddle || sc.quiet {
		return
	}
	sc.straddle = true
	sc.add("pickle/frame-mismatch", High, op, "",
		fmt.Sprintf("the opcode at offset %d reads across the end of its FRAME (read starting at offset %d): CPython's C unpickler reads through, pickle.py's refuses, so two loaders see different pickles", op, at))
}

func (sc *scanner) frameNested(off, end int64) {
	if sc.quiet {
		return
	}
	sc.add("pickle/frame-mismatch", High, off, "",
		fmt.Sprintf("a FRAME starts at offset %d before the previous frame ends (offset %d): pure-Python unpicklers refuse this, the C unpickler does not, so two loaders see different pickles", off, end))
}

// bytesSource is bytes a value stands for: in memory or a range of the
// stream.
type bytesSource struct {
	mem      []byte
	off, n   int64
	inStream bool
}

// bytesOf follows what a value is as bytes: a literal, or a literal passed
// through an encoder or decoder (latin1 encode, base64, hex).
func (sc *scanner) bytesOf(v *value, depth int) (bytesSource, bool) {
	if depth > 4 {
		return bytesSource{}, false
	}
	switch v.k {
	case kBytes:
		if v.fl&flKept != 0 {
			return bytesSource{mem: []byte(v.s)}, true
		}
		if v.fl&flRegion != 0 {
			return bytesSource{off: v.d, n: v.i, inStream: true}, true
		}
	case kStr:
		if v.fl&flKept == 0 {
			if v.fl&flRegion != 0 && v.fl&flRaw != 0 {
				return bytesSource{off: v.d, n: v.i, inStream: true}, true
			}
			return bytesSource{}, false
		}
		if v.fl&flRaw != 0 {
			return bytesSource{mem: []byte(v.s)}, true
		}
		if b, ok := latin1(v.s); ok {
			return bytesSource{mem: b}, true
		}
		return bytesSource{mem: []byte(v.s)}, true
	case kObj:
		how, ok := bytesMakers[v.callee()]
		if !ok || len(v.x.args) == 0 {
			return bytesSource{}, false
		}
		src, ok := sc.bytesOf(&v.x.args[0], depth+1)
		if !ok || src.inStream {
			return src, ok && how == "latin1"
		}
		if how == "codec" && len(v.x.args) > 1 {
			if c, ok := v.x.args[1].str(); ok {
				how = strings.ToLower(c)
			}
		}
		switch how {
		case "latin1", "latin-1", "utf-8", "utf8", "ascii":
			return src, true
		case "base64", "base_64", "base64url":
			if d, ok := decodeBase64(src.mem); ok {
				return bytesSource{mem: d}, true
			}
		case "hex", "hex_codec":
			if d, err := hex.DecodeString(strings.TrimSpace(string(src.mem))); err == nil {
				return bytesSource{mem: d}, true
			}
		}
	}
	return bytesSource{}, false
}

func decodeBase64(b []byte) ([]byte, bool) {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' {
			return -1
		}
		return r
	}, string(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(s); err == nil {
			return d, true
		}
	}
	return nil, false
}

// blob is bytes found in the stream that may be a pickle: a literal that
// starts like one, or what a loader (pickle.loads, torch's
// _load_from_bytes) is given. Blobs are scanned when the stream is done,
// once it is known whether a loader takes them.
type blob struct {
	src     bytesSource
	litOff  int64  // offset of the literal (or of the value built from it)
	callOff int64  // offset of the loader call, when there is one
	loader  string // the loader, "" for a plain data literal
}

// followLoader records the bytes a loader is given, to be scanned.
func (sc *scanner) followLoader(loader string, arg *value, off int64) {
	src, ok := sc.bytesOf(arg, 0)
	if !ok {
		if arg.k != kNone {
			sc.add("pickle/nested-pickle", High, off, loader,
				fmt.Sprintf("%s at offset %d unpickles data built at load time (%s); what that data holds cannot be scanned", loader, off, describe(arg)))
		}
		return
	}
	if b, ok := sc.blobAt[arg.off]; ok {
		if b.loader == "" {
			b.loader, b.callOff, b.src = loader, off, src
		}
		return
	}
	if len(sc.blobs) >= maxTrials {
		sc.add("pickle/nested-limit", High, off, "", fmt.Sprintf("%s at offset %d unpickles embedded data, past the limit of embedded pickles followed; it is not scanned", loader, off))
		return
	}
	b := &blob{src: src, litOff: arg.off, callOff: off, loader: loader}
	sc.blobs = append(sc.blobs, b)
	sc.blobAt[arg.off] = b
}

// dataBlob records a str/bytes literal that looks like a pickle (raw,
// base64 or hex): a program that later unpickles it runs what it holds,
// and scanners that skip data are a known blind spot.
func (sc *scanner) dataBlob(v *value) {
	if sc.quiet || v.i < 8 || len(sc.blobs) >= maxTrials {
		return
	}
	var head []byte
	switch {
	case v.fl&flKept != 0:
		head = []byte(v.s[:min(len(v.s), 16)])
	case v.fl&flRegion != 0:
		head = make([]byte, 2)
		if n, _ := sc.ra.ReadAt(head, v.d); n < 2 {
			return
		}
	default:
		return
	}
	var src bytesSource
	switch {
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= highestProto:
		if v.fl&flKept != 0 {
			src = bytesSource{mem: []byte(v.s)}
		} else {
			src = bytesSource{off: v.d, n: v.i, inStream: true}
		}
	case v.fl&flKept != 0 && len(head) >= 4 && head[0] == 'g' && head[1] == 'A' && strings.ContainsRune("IJKLMNOPQRSTUVWX", rune(head[2])):
		d, ok := decodeBase64([]byte(v.s))
		if !ok || len(d) < 2 || d[0] != 0x80 {
			return
		}
		src = bytesSource{mem: d}
	case v.fl&flKept != 0 && len(head) >= 4 && (string(head[:3]) == "800" || string(head[:3]) == "\\x8"):
		d, err := hex.DecodeString(strings.TrimSpace(strings.ReplaceAll(v.s, "\\x", "")))
		if err != nil || len(d) < 2 || d[0] != 0x80 {
			return
		}
		src = bytesSource{mem: d}
	default:
		return
	}
	b := &blob{src: src, litOff: v.off}
	sc.blobs = append(sc.blobs, b)
	sc.blobAt[v.off] = b
}

// scanBlobs scans the recorded blobs in child scopes. What a loader takes
// is dispatched by content (torch's _load_from_bytes takes a whole
// torch.save stream, which the PyTorch analyzer reads) and always
// reported; a data literal only when it parses as a pickle through STOP,
// so array bytes that merely start with 80 03 raise nothing.
func (sc *scanner) scanBlobs() {
	blobs := sc.blobs
	sc.blobs = nil
	for _, b := range blobs {
		var ra io.ReaderAt
		var n int64
		if b.src.inStream {
			ra, n = io.NewSectionReader(sc.ra, b.src.off, b.src.n), b.src.n
		} else {
			ra, n = bytes.NewReader(b.src.mem), int64(len(b.src.mem))
		}
		name := fmt.Sprintf("nested pickle @%d", b.litOff)
		if b.loader == "" && !parsesClean(ra, n) {
			continue
		}
		if sc.depth >= maxNestedDepth || sc.sh.nested >= maxNestedScans {
			sc.add("pickle/nested-limit", High, b.litOff, "",
				fmt.Sprintf("an embedded pickle at offset %d is nested too deep or there are too many; it is not scanned", b.litOff))
			continue
		}
		sc.sh.nested++
		if b.loader != "" {
			// Medium: what the loader gets is scanned in full and its
			// findings stand on their own (the loader import is judged too).
			sc.add("pickle/nested-pickle", Medium, b.callOff, b.loader,
				fmt.Sprintf("%s at offset %d unpickles embedded data; its content is scanned as member %q", b.loader, b.callOff, name))
		} else {
			sc.add("pickle/nested-pickle", Medium, b.litOff, "",
				fmt.Sprintf("a string literal at offset %d holds a pickle; a program that unpickles it runs it. Its content is scanned as member %q", b.litOff, name))
		}
		if sc.s == nil {
			continue
		}
		if b.loader != "" && sc.s.Depth()+1 <= sc.opts.Limits.MaxDepth {
			if sc.s.ScanMember(name, ra, n) != nil {
				continue
			}
			// Nothing recognized it: it is still read as a pickle.
		}
		child := sc.s.Child(name)
		if child == nil {
			continue
		}
		sub := newScanner(child, ra, n, sc.depth+1, sc.sh)
		sub.nestedBy(b.loader)
		if sc.unread(b.litOff) {
			sub.unreadFrom, sub.unreadWhy = 0, fmt.Sprintf("it is embedded at offset %d of a stream no loader reads there (%s)", b.litOff, sc.unreadWhy)
		}
		sub.stream(0, false)
		sub.flush()
	}
}

// parsesClean runs the machine quietly over ra and reports whether it
// reaches a STOP without an error.
func parsesClean(ra io.ReaderAt, n int64) bool {
	sc := newScanner(nil, ra, n, 0, &shared{nested: maxNestedScans})
	sc.quiet = true
	m := newMachine(sc, newReader(ra, 0, n))
	m.quiet = true
	return m.run() == nil
}

// stream scans pickles from start: one (single) or as many as follow each
// other, as repeated pickle.load calls read them.
func (sc *scanner) stream(start int64, single bool) {
	r := newReader(sc.ra, start, sc.size)
	m := newMachine(sc, r)
	m.quiet = sc.quiet
	for n := 0; ; n++ {
		begin, ops0 := r.pos, m.ops
		err := m.run()
		if err == nil {
			sc.res.Pickles++
			sc.res.End = r.pos
			if n == 0 {
				sc.res.FirstEnd = r.pos
				sc.firstDone(r.pos)
			}
			if single || r.remaining() == 0 {
				break
			}
			continue
		}
		var pe *pickleError
		if !errors.As(err, &pe) {
			pe = &pickleError{rule: "pickle/malformed", off: m.opStart, msg: err.Error()}
		}
		if n > 0 && !looksLikePickleStart(sc.ra, begin, sc.size) && m.ops-ops0 < 64 && pe.rule != "pickle/limit-exceeded" {
			sc.add("pickle/junk-after-stop", Medium, begin, "",
				fmt.Sprintf("%d bytes follow the last STOP at offset %d and are not a pickle (%s); a loader reading on would fail or see data no scanner vouched for", sc.size-begin, begin, pe.msg))
			sc.polyglotZip(begin)
		} else {
			sev := High
			msg := pe.msg
			if n > 0 {
				msg = fmt.Sprintf("pickle #%d (starting at offset %d): %s", n+1, begin, msg)
			}
			if !sc.quiet {
				msg += "; everything before this point was scanned and is reported, nothing after it is"
			}
			sc.add(pe.rule, sev, pe.off, "", msg)
			if n > 0 {
				sc.polyglotZip(begin)
			}
		}
		break
	}
	sc.res.Ops += m.ops
	if !sc.quiet && sc.joblib { // the hook fired: the views may part (readers.go)
		sc.shadow(start)
	}
	if !sc.quiet {
		sc.scanBlobs()
	}
}

// looksLikePickleStart reports whether the bytes at off begin like a pickle
// (a PROTO opcode), so a broken tail is a broken pickle, not junk.
func looksLikePickleStart(ra io.ReaderAt, off, size int64) bool {
	if size-off < 2 {
		return false
	}
	b := make([]byte, 2)
	if n, _ := ra.ReadAt(b, off); n < 2 {
		return false
	}
	return b[0] == 0x80 && b[1] <= highestProto
}

// scan is Scan.
func scan(s *formats.Scope, r io.ReaderAt, size int64) *Result {
	return ScanFrom(s, r, 0, size, false)
}

// ScanFrom scans the pickle stream in r[start:size]. With single, it stops
// after the first complete pickle (Result.End says where), for formats
// that put other data after it (PyTorch's legacy format); otherwise it
// reads on as repeated pickle.load calls would, and reports what follows.
func ScanFrom(s *formats.Scope, r io.ReaderAt, start, size int64, single bool) *Result {
	sc := newScanner(s, r, size, 0, &shared{})
	sc.stream(start, single)
	sc.markJoblib()
	sc.flush()
	sort.SliceStable(sc.res.Globals, func(i, j int) bool { return sc.res.Globals[i].Offset < sc.res.Globals[j].Offset })
	return sc.res
}
