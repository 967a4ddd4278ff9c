package pickle

import (
	"fmt"
	"io"
	"sort"

	"github.com/modelvet/modelvet/formats"
)

// Reader differentials. The same bytes are read differently by different
// loaders: joblib.load skips the array data after each NumpyArrayWrapper
// (joblib.go), while pickle.load, torch.load (both ways) and
// numpy.load(allow_pickle=True) -- which falls back to pickle.load for a
// file that is neither .npy nor zip -- execute those bytes as opcodes.
// Each reader's skip applies only to that reader, so a stream is read once
// per plausible loader and every view is reported, each finding saying
// which loader runs it.

// Loaders says which loaders plausibly read a stream. Containers decide
// it by what the content is: a pickle inside a PyTorch zip is read by
// torch.load only, an .npy object array by numpy.load only; a raw pickle
// file by any of them, joblib.load included.
type Loaders struct {
	// Plain names the loaders that read the stream as plain pickle.
	Plain string
	// Joblib: joblib.load may read the stream too, skipping the inline
	// array data its wrappers announce.
	Joblib bool
	// FirstOnly: the loaders read one pickle and stop (torch.load's
	// data.pkl and numpy.load's object array are one Unpickler.load()).
	// Pickles after its STOP run under none of them; they are still
	// scanned and reported (a tool that reads on, such as pickletools or
	// a pickle.load loop, sees them: a place to hide from scanners), but
	// at most High and labelled as read by no loader.
	FirstOnly bool
	// Unread, when set, says why no loader reads the stream at all (numpy
	// refuses the header in front of it): findings are capped at High.
	Unread string
}

// AnyLoader is how a raw pickle file (or a pickle of unknown origin) is
// read: by every loader.
var AnyLoader = Loaders{Plain: "pickle.load, torch.load and numpy.load(allow_pickle=True)", Joblib: true}

const joblibLoader = "joblib.load"

// ScanWith is Scan for a stream whose loaders are known.
func ScanWith(s *formats.Scope, r io.ReaderAt, size int64, l Loaders) *Result {
	sc := newScanner(s, r, size, 0, &shared{})
	sc.loaders = &l
	sc.noHook = !l.Joblib
	if l.Unread != "" {
		sc.unreadFrom, sc.unreadWhy = 0, l.Unread
	}
	sc.stream(0, false)
	sc.markJoblib()
	sc.flush()
	sort.SliceStable(sc.res.Globals, func(i, j int) bool { return sc.res.Globals[i].Offset < sc.res.Globals[j].Offset })
	return sc.res
}

// markJoblib records that the stream is joblib's.
func (sc *scanner) markJoblib() {
	if !sc.joblib || sc.s == nil {
		return
	}
	if sc.s.TopLevel() {
		sc.s.SetFormat("joblib")
	} else {
		sc.s.Detail("format:"+sc.s.Member(), "joblib")
	}
}

// loaderLabel is what flush appends to a finding: who runs it.
func (sc *scanner) loaderLabel(p *pending) string {
	if p.by != "" {
		return p.by
	}
	if sc.unread(p.f.Offset) {
		return "read by no loader: " + sc.unreadWhy
	}
	l := sc.loaders
	if l == nil {
		l = &AnyLoader
	}
	if sc.joblib && len(sc.skipped) > 0 && p.f.Offset >= sc.skipped[0][0] && !sc.plainSaw[pendingKey(p)] {
		// Past the first skipped array only joblib.load reads the stream
		// this way (the plain view, reported separately, differs).
		return "read by " + joblibLoader
	}
	if l.Joblib {
		return "read by " + l.Plain + " and " + joblibLoader
	}
	return "read by " + l.Plain
}

func pendingKey(p *pending) string { return p.f.Rule + "\x00" + p.f.Import }

// structural rules describe how far a reader gets, not what it runs: in the
// plain view of a joblib stream the array data is expected to stop
// pickle.load, so these are not differentials.
var structural = map[string]bool{
	"pickle/malformed": true, "pickle/truncated": true, "pickle/read-error": true, "pickle/frame-mismatch": true,
	"pickle/junk-after-stop": true, "pickle/polyglot": true,
	// Not pickle/limit-exceeded: there the machine stops where CPython
	// reads on, so a plain-only payload past it would go unseen. An
	// unknown opcode is pickle/malformed (ops.go), listed above.
	// The plain loaders never pass out-of-band buffers and never fill
	// copyreg's extension registry: these opcodes stop them, nothing runs.
	"pickle/out-of-band-buffer": true, "pickle/ext-code": true,
}

// shadow re-reads the whole stream as plain pickle, as pickle.load,
// torch.load and numpy.load would, without joblib's skip, and reports
// everything that view executes and the joblib view does not -- anywhere
// in the stream, not only inside skipped bytes: opcodes in skipped bytes
// can change how later bytes read (a pushed name, a memo entry, an open
// MARK), so a finding outside them may be the plain view's alone.
func (sc *scanner) shadow(start int64) {
	sh := newScanner(nil, sc.ra, sc.size, sc.depth, &shared{nested: maxNestedScans})
	sh.opts = sc.opts
	sh.noHook = true
	sh.torchScript = sc.torchScript
	sh.stream(start, false)
	primary := map[string]bool{}
	for _, p := range sc.order {
		primary[pendingKey(p)] = true
	}
	plain := "pickle.load, torch.load and numpy.load(allow_pickle=True)"
	if sc.loaders != nil && sc.loaders.Plain != "" {
		plain = sc.loaders.Plain
	}
	// The plain loaders stop at the first EXT or NEXT_BUFFER (empty
	// registry, no buffers), where the machine reads on: nothing after it
	// runs under them.
	stopAt := int64(-1)
	for _, p := range sh.order {
		if (p.f.Rule == "pickle/ext-code" || p.f.Rule == "pickle/out-of-band-buffer") && (stopAt < 0 || p.f.Offset < stopAt) {
			stopAt = p.f.Offset
		}
	}
	sc.plainSaw = map[string]bool{}
	for _, p := range sh.order {
		k := pendingKey(p)
		sc.plainSaw[k] = true
		if structural[p.f.Rule] || primary[k] || stopAt >= 0 && p.f.Offset > stopAt {
			continue
		}
		sev := max(p.f.Severity, High)
		in := ""
		for _, rg := range sc.skipped {
			if p.f.Offset >= rg[0] && p.f.Offset < rg[1] {
				in = fmt.Sprintf(" (inside bytes joblib reads as array data or as a separate object-array pickle, offsets %d-%d)", rg[0], rg[1])
				break
			}
		}
		// pickle/joblib-ambiguous: joblib.load skips array bytes that the
		// other loaders execute; what only they run is reported here.
		sc.add("pickle/joblib-ambiguous", sev, p.f.Offset, p.f.Import,
			fmt.Sprintf("read as plain pickle (%s, not joblib.load, which skips %d inline array(s)), offset %d%s does this: %s",
				plain, len(sc.skipped), p.f.Offset, in, p.f.Message))
		if q := sc.found["pickle/joblib-ambiguous\x00"+p.f.Import+"\x00"+sev.String()]; q != nil && q.by == "" {
			q.by = "read by " + plain + ", not by " + joblibLoader
		}
	}
}

// nestedBy sets the view of an embedded pickle: whatever unpickles it
// (pickle.loads, torch's _load_from_bytes...) reads it as plain pickle,
// without joblib's skip.
func (sc *scanner) nestedBy(loader string) {
	if loader == "" {
		loader = "a program that unpickles this literal"
	}
	sc.loaders = &Loaders{Plain: loader}
	sc.noHook = true
}

// notStr reports values CPython's STACK_GLOBAL refuses (it requires
// type(x) is str): a joblib array wrapper instance, which the plain view
// of a joblib stream leaves on the stack right before the array bytes.
// Its class's __new__ is object.__new__, so it is never a str.
func notStr(v *value) bool {
	return v.k == kObj && hookable(v.callee())
}

// notCallable reports values REDUCE, NEWOBJ(_EX) and OBJ cannot call in
// any unpickler (C or pure Python): literals and containers are neither
// callable nor types (str.__new__("a") raises), and a joblib array wrapper
// instance has no __call__.
func notCallable(v *value) bool {
	switch v.k {
	case kNone, kBool, kInt, kBigInt, kFloat, kStr, kBytes, kTuple, kList, kDict, kSet, kFrozenSet:
		return true
	}
	return notStr(v)
}

// refused stops the machine where every unpickler raises before the
// opcode runs anything: STACK_GLOBAL on a value that is not a str, a call
// of something not callable. The plain view of a joblib stream meets these
// when array bytes right after a wrapper happen to be such opcodes: the
// load stops there, so nothing later is reported as run.
func (m *machine) refused(op byte) error {
	n, fence := len(m.stack), m.fence()
	bad := func(i int, what string) error {
		return m.fail("pickle/malformed", "%s at offset %d %s %s; every unpickler raises TypeError here", opName(op), m.opStart, what, describe(&m.stack[i]))
	}
	switch op {
	case 0x93: // STACK_GLOBAL: type(x) is str for both
		for i := n - 2; i < n && i >= fence; i++ {
			if notStr(&m.stack[i]) {
				return bad(i, "takes a non-str")
			}
		}
	case 'R', 0x81: // REDUCE, NEWOBJ: callable, args
		if n-2 >= fence && notCallable(&m.stack[n-2]) {
			return bad(n-2, "calls")
		}
	case 0x92: // NEWOBJ_EX: cls, args, kwargs
		if n-3 >= fence && notCallable(&m.stack[n-3]) {
			return bad(n-3, "instantiates")
		}
	case 'o': // OBJ: MARK cls args...
		if len(m.marks) > 0 && fence < n && notCallable(&m.stack[fence]) {
			return bad(fence, "instantiates")
		}
	}
	return nil
}

// unread reports whether the stream offset off lies where no loader
// reads (Loaders.FirstOnly, Loaders.Unread).
func (sc *scanner) unread(off int64) bool {
	return sc.unreadFrom >= 0 && off >= sc.unreadFrom
}

// firstDone records where the first pickle ended, for loaders that read
// no further.
func (sc *scanner) firstDone(end int64) {
	l := sc.loaders
	if l == nil || !l.FirstOnly || sc.unreadFrom >= 0 {
		return
	}
	sc.unreadFrom = end
	sc.unreadWhy = fmt.Sprintf("it is past the first pickle's STOP (offset %d), and %s reads only that first pickle; a tool reading on (pickletools, a pickle.load loop) would run it, so it is content hidden from the real loader", end, l.Plain)
}
