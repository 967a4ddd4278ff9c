package pickle_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/pickle"
)

// op builds pickles by hand, opcode by opcode.
type op struct{ bytes.Buffer }

func (b *op) raw(p ...byte) *op      { b.Write(p); return b }
func (b *op) proto(n byte) *op       { return b.raw(0x80, n) }
func (b *op) global(m, n string) *op { b.WriteString("c" + m + "\n" + n + "\n"); return b }
func (b *op) inst(m, n string) *op   { b.WriteString("i" + m + "\n" + n + "\n"); return b }
func (b *op) mark() *op              { return b.raw('(') }
func (b *op) stop() *op              { return b.raw('.') }
func (b *op) reduce() *op            { return b.raw('R') }
func (b *op) tuple1() *op            { return b.raw(0x85) }
func (b *op) memoize() *op           { return b.raw(0x94) }
func (b *op) binget(i byte) *op      { return b.raw('h', i) }
func (b *op) binput(i byte) *op      { return b.raw('q', i) }
func (b *op) stackGlobal() *op       { return b.raw(0x93) }
func (b *op) text0(s string) *op     { b.WriteString("V" + s + "\n"); return b }
func (b *op) str0(s string) *op      { b.WriteString("S'" + s + "'\n"); return b }
func (b *op) emptyTuple() *op        { return b.raw(')') }
func (b *op) bytesOf() []byte        { return append([]byte(nil), b.Bytes()...) }
func (b *op) ustr(s string) *op {
	if len(s) < 256 {
		b.raw(0x8c, byte(len(s)))
	} else {
		b.raw('X')
		binary.Write(b, binary.LittleEndian, uint32(len(s)))
	}
	b.WriteString(s)
	return b
}
func (b *op) binbytes(p []byte) *op {
	b.raw('B')
	binary.Write(b, binary.LittleEndian, uint32(len(p)))
	b.Write(p)
	return b
}
func (b *op) frame(n uint64) *op {
	b.raw(0x95)
	binary.Write(b, binary.LittleEndian, n)
	return b
}

// call is the classic payload: module.name(arg).
func call(m, n, arg string) *op {
	b := &op{}
	return b.proto(2).global(m, n).ustr(arg).tuple1().reduce().stop()
}

func scanBytes(t *testing.T, name string, data []byte, opts *formats.Options) *formats.FileResult {
	t.Helper()
	return formatstest.ScanBytes(t, name, data, opts)
}

func hasRule(res *formats.FileResult, rule string, min formats.Severity) bool {
	for _, f := range res.Findings {
		if f.Rule == rule && f.Severity >= min {
			return true
		}
	}
	return false
}

func TestAttacks(t *testing.T) {
	nested := call("os", "system", "id").bytesOf()
	frameHide := func() []byte {
		// A frame that ends in the middle of a GLOBAL: the C unpickler reads
		// through, the Python one refuses. The import is reported either way.
		body := &op{}
		body.raw(']').global("os", "system")
		b := &op{}
		b.proto(4).frame(3)
		b.Write(body.Bytes())
		b.ustr("id").tuple1().reduce().stop()
		return b.bytesOf()
	}
	cases := []struct {
		name   string
		data   []byte
		rule   string
		imp    string
		sev    formats.Severity
		member string // findings must come from this member prefix
	}{
		{"GLOBAL os.system", call("os", "system", "id").bytesOf(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"STACK_GLOBAL from memo strings", func() []byte {
			b := &op{}
			b.proto(4).ustr("os").memoize().ustr("system").memoize().raw('0', '0').binget(0).binget(1).stackGlobal().ustr("id").tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"INST", func() []byte { b := &op{}; b.mark().str0("id").inst("os", "system").stop(); return b.bytesOf() }(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"OBJ", func() []byte {
			b := &op{}
			b.mark().global("subprocess", "Popen").str0("id").raw('o').stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "subprocess.Popen", formats.Critical, ""},
		{"NEWOBJ on a dangerous class", func() []byte {
			b := &op{}
			b.proto(2).global("subprocess", "Popen").ustr("id").tuple1().raw(0x81).stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "subprocess.Popen", formats.Critical, ""},
		{"NEWOBJ_EX on a dangerous class", func() []byte {
			b := &op{}
			b.proto(4).ustr("subprocess").ustr("Popen").stackGlobal().ustr("id").tuple1().raw('}', 0x92).stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "subprocess.Popen", formats.Critical, ""},
		{"Python 2 __builtin__.eval", call("__builtin__", "eval", "1").bytesOf(), "pickle/dangerous-import", "__builtin__.eval", formats.Critical, ""},
		{"Python 2 commands.getoutput", call("commands", "getoutput", "id").bytesOf(), "pickle/dangerous-import", "commands.getoutput", formats.Critical, ""},
		{"posix.system", call("posix", "system", "id").bytesOf(), "pickle/dangerous-import", "posix.system", formats.Critical, ""},
		{"nt.system", call("nt", "system", "id").bytesOf(), "pickle/dangerous-import", "nt.system", formats.Critical, ""},
		{"dotted name through an allowed module", call("torch.serialization", "os.system", "id").bytesOf(), "pickle/dangerous-import", "torch.serialization.os.system", formats.Critical, ""},
		{"dotted name through collections", call("collections", "OrderedDict.__init__.__globals__", "x").bytesOf(), "pickle/dangerous-import", "collections.OrderedDict.__init__.__globals__", formats.Critical, ""},
		{"re-exported subprocess in numpy", call("numpy", "testing._private.utils.subprocess.Popen", "id").bytesOf(), "pickle/dangerous-import", "numpy.testing._private.utils.subprocess.Popen", formats.Critical, ""},
		{"marshal.loads and FunctionType", func() []byte {
			b := &op{}
			b.proto(2).global("types", "FunctionType").global("marshal", "loads").binbytes([]byte("\xe3code")).tuple1().reduce()
			b.raw('}').raw(0x86).reduce().raw(')').reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "marshal.loads", formats.Critical, ""},
		{"io.open", call("io", "open", "/etc/passwd").bytesOf(), "pickle/dangerous-import", "io.open", formats.Critical, ""},
		{"_io.FileIO", call("_io", "FileIO", "/etc/passwd").bytesOf(), "pickle/dangerous-import", "_io.FileIO", formats.Critical, ""},
		{"builtins.getattr chain", func() []byte {
			b := &op{}
			b.proto(2).global("builtins", "getattr").global("collections", "OrderedDict").ustr("__init__").raw(0x86).reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "builtins.getattr", formats.Critical, ""},
		{"operator.attrgetter", call("operator", "attrgetter", "system").bytesOf(), "pickle/dangerous-import", "operator.attrgetter", formats.Critical, ""},
		{"functools.partial of os.system", func() []byte {
			b := &op{}
			b.proto(2).global("functools", "partial").global("os", "system").ustr("id").raw(0x86).reduce().raw(')').reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"EXT code", func() []byte {
			b := &op{}
			b.proto(2).raw(0x82, 7).ustr("id").tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/ext-code", "", formats.High, ""},
		{"frame hiding an opcode", frameHide(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"frame straddle is flagged", frameHide(), "pickle/frame-mismatch", "", formats.High, ""},
		{"payload then broken tail", append(call("os", "system", "id").bytesOf()[:len(call("os", "system", "id").bytesOf())-1], 0xff), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"broken tail is flagged", append(call("os", "system", "id").bytesOf()[:len(call("os", "system", "id").bytesOf())-1], 0xff), "pickle/malformed", "", formats.High, ""},
		{"junk after STOP", append((&op{}).proto(2).raw('N').stop().bytesOf(), []byte("garbage!")...), "pickle/junk-after-stop", "", formats.Medium, ""},
		{"payload in the second pickle", append((&op{}).proto(2).raw('N').stop().bytesOf(), call("os", "system", "id").bytesOf()...), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"nested pickle.loads", func() []byte {
			b := &op{}
			b.proto(3).global("pickle", "loads").binbytes(nested).tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, "nested pickle @"},
		{"nested torch.storage._load_from_bytes", func() []byte {
			b := &op{}
			b.proto(3).global("torch.storage", "_load_from_bytes").binbytes(nested).tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, "nested pickle @"},
		{"nested via _codecs.encode latin1", func() []byte {
			b := &op{}
			b.proto(2).global("pickle", "loads").global("_codecs", "encode").ustr(latin1Text(nested)).ustr("latin1").raw(0x86).reduce().tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, "nested pickle @"},
		{"nested base64 data blob", func() []byte {
			b := &op{}
			b.proto(4).raw('}').ustr("blob").ustr(base64.StdEncoding.EncodeToString(nested)).raw('s').stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, "nested pickle @"},
		{"memo trick: dangerous global stored, REDUCE later", func() []byte {
			b := &op{}
			b.proto(2).global("os", "system").binput(5).raw('0').raw(']').raw('0').binget(5).ustr("id").tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"BINUNICODE declaring 4 GiB in 5 bytes", []byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0xff}, "pickle/truncated", "", formats.High, ""},
		{"BINBYTES8 declaring 2^63", []byte{0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'x'}, "pickle/truncated", "", formats.High, ""},
		{"deep nesting", append(bytes.Repeat([]byte{'('}, 70000), '.'), "pickle/limit-exceeded", "", formats.High, ""},
		{"protocol 0 text opcodes", []byte("cos\nsystem\n(S'id'\ntR."), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"protocol 0 UNICODE raw-unicode-escape names", []byte("V\\u006fs\np0\nVsystem\np1\n0g0\ng1\n\x93(Vid\ntR."), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"STACK_GLOBAL from a computed module", func() []byte {
			b := &op{}
			b.proto(4).global("builtins", "str").ustr("os").tuple1().reduce().ustr("system").stackGlobal().stop()
			return b.bytesOf()
		}(), "pickle/nonliteral-global", "", formats.High, ""},
		{"BUILD on an imported module", func() []byte {
			b := &op{}
			b.proto(4).ustr("torch").ustr("_utils").stackGlobal().raw('}').ustr("x").raw('N', 's', 'b').stop()
			return b.bytesOf()
		}(), "pickle/build-on-global", "", formats.Critical, ""},
		{"__setstate__ smuggled in state", func() []byte {
			b := &op{}
			b.proto(2).global("collections", "OrderedDict").raw(')').reduce().raw('}').ustr("__setstate__").global("os", "system").raw('s', 'b').stop()
			return b.bytesOf()
		}(), "pickle/setstate-override", "", formats.High, ""},
		{"numpy ufunc reconstructor as an import gadget", func() []byte {
			b := &op{}
			b.proto(2).global("numpy.core", "_ufunc_reconstruct").ustr("os").ustr("system").raw(0x86).reduce().ustr("id").tuple1().reduce().stop()
			return b.bytesOf()
		}(), "pickle/dangerous-import", "os.system", formats.Critical, ""},
		{"unknown import is high in strict", call("mypkg.models", "Net", "x").bytesOf(), "pickle/unknown-import", "mypkg.models.Net", formats.High, ""},
		{"out-of-band buffer", []byte{0x80, 5, 0x97, '.'}, "pickle/out-of-band-buffer", "", formats.Medium, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			ok := false
			for _, f := range res.Findings {
				if f.Rule == c.rule && f.Severity >= c.sev && (c.imp == "" || f.Import == c.imp) && strings.HasPrefix(f.Member, c.member) {
					ok = true
					if f.Offset < 0 {
						t.Errorf("finding without an offset: %+v", f)
					}
				}
			}
			if !ok {
				t.Errorf("want %s %s (%s) in member %q; got:\n%s", c.sev, c.rule, c.imp, c.member, formatstest.Describe(res))
			}
			if res.Format != "pickle" {
				t.Errorf("sniffed as %q", res.Format)
			}
		})
	}
}

func latin1Text(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func TestPermissiveAndAllow(t *testing.T) {
	data := call("mypkg.models", "Net", "x").bytesOf()
	o := formats.DefaultOptions()
	o.Profile = formats.Permissive
	res := scanBytes(t, "x.pkl", data, &o)
	if !hasRule(res, "pickle/unknown-import", formats.Medium) || hasRule(res, "pickle/unknown-import", formats.High) {
		t.Errorf("permissive: want medium unknown-import:\n%s", formatstest.Describe(res))
	}
	o = formats.DefaultOptions()
	o.Allow = []string{"mypkg.models.*"}
	if res := scanBytes(t, "x.pkl", data, &o); len(res.Findings) != 0 {
		t.Errorf("allowed: want no finding:\n%s", formatstest.Describe(res))
	}
	// The allow list never overrides the dangerous list, even for a
	// dotted name under an allowed module.
	o.Allow = []string{"torch.serialization.*", "os.system"}
	for _, d := range [][]byte{call("torch.serialization", "os.system", "id").bytesOf(), call("os", "system", "id").bytesOf()} {
		if res := scanBytes(t, "x.pkl", d, &o); !hasRule(res, "pickle/dangerous-import", formats.Critical) {
			t.Errorf("allow list overrode the denylist:\n%s", formatstest.Describe(res))
		}
	}
}

func TestClassify(t *testing.T) {
	o := formats.DefaultOptions()
	for _, c := range []struct {
		mod, name string
		want      pickle.Verdict
	}{
		{"torch._utils", "_rebuild_tensor_v2", pickle.Safe},
		{"torch", "FloatStorage", pickle.Safe},
		{"torch", "bfloat16", pickle.Safe},
		{"collections", "OrderedDict", pickle.Safe},
		{"numpy.core.multiarray", "_reconstruct", pickle.Safe},
		// the pre-1.0 name in NumPy's own py2-np0-objarr.npy test file
		{"numpy.core._internal", "_reconstruct", pickle.Safe},
		{"_codecs", "encode", pickle.Safe},
		{"copy_reg", "_reconstructor", pickle.Safe}, // Python 2 name of copyreg._reconstructor
		{"__builtin__", "set", pickle.Safe},
		{"os", "system", pickle.Dangerous},
		{"os.path", "join", pickle.Dangerous}, // whole modules are denied
		{"cPickle", "loads", pickle.Dangerous},
		{"urllib2", "urlopen", pickle.Dangerous},
		{"torch", "load", pickle.Dangerous},
		{"torch._utils", "_rebuild_tensor_v2.__globals__", pickle.Dangerous},
		{"sklearn.linear_model._logistic", "LogisticRegression", pickle.Unknown},
	} {
		if got := pickle.Classify(c.mod, c.name, &o); got != c.want {
			t.Errorf("Classify(%s, %s) = %v, want %v", c.mod, c.name, got, c.want)
		}
	}
}

// TestBenignFixtures: real pickles made by torch.save and pickle.dumps
// (testdata/make_fixtures.py) scan with nothing at Medium or above.
func TestBenignFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/benign/*.pkl")
	if len(files) < 10 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := scanBytes(t, filepath.Base(f), data, nil)
		if r := formatstest.Rules(res, formats.Medium); len(r) > 0 || res.Format != "pickle" {
			t.Errorf("%s: %s", f, formatstest.Describe(res))
		}
		sc := formats.NewScope(f, ptr(formats.DefaultOptions()), &formats.FileResult{})
		pr := pickle.Scan(sc, bytes.NewReader(data), int64(len(data)))
		if pr.Pickles != 1 || pr.End != int64(len(data)) {
			t.Errorf("%s: pickles=%d end=%d size=%d", f, pr.Pickles, pr.End, len(data))
		}
		if strings.HasPrefix(filepath.Base(f), "torch_") {
			if len(pr.PersistentIDs) == 0 {
				t.Errorf("%s: no persistent ids", f)
			}
			for _, p := range pr.PersistentIDs {
				v, ok := p.Value.([]any)
				if !ok || len(v) != 5 || v[0] != "storage" {
					t.Errorf("%s: persistent id %#v", f, p.Value)
					continue
				}
				if g, ok := v[1].(pickle.Global); !ok || g.Module != "torch" || !strings.HasSuffix(g.Name, "Storage") {
					t.Errorf("%s: storage type %#v", f, v[1])
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestSniff: pickles are claimed, text and images are not.
func TestSniff(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"protocol 2", call("os", "system", "x").bytesOf(), true},
		{"protocol 0", []byte("(lp0\nI1\naI2\na."), true},
		{"protocol 0 payload with broken tail", []byte("cos\nsystem\n(S'id'\ntR\xff"), true},
		{"png", png, false},
		{"text", []byte("Hello, world\nthis is text\n"), false},
		{"json", []byte(`{"a": 1}`), false},
		{"numbers", []byte("12345\n"), false},
		{"empty", nil, false},
		{"proto 9", []byte{0x80, 9, '.'}, false},
	} {
		p := &formats.Probe{Name: "f", Head: c.data, Size: int64(len(c.data)), R: bytes.NewReader(c.data)}
		if got := pickle.Sniff(p); got != c.want {
			t.Errorf("%s: Sniff = %v", c.name, got)
		}
	}
}

// TestSingle: ScanFrom with single stops after the first pickle.
func TestSingle(t *testing.T) {
	data := append((&op{}).proto(2).raw('K', 7).stop().bytesOf(), []byte("raw storage bytes")...)
	res := &formats.FileResult{}
	s := formats.NewScope("x", ptr(formats.DefaultOptions()), res)
	pr := pickle.ScanFrom(s, bytes.NewReader(data), 0, int64(len(data)), true)
	if pr.End != 5 || pr.Pickles != 1 || len(res.Findings) != 0 {
		t.Errorf("end %d pickles %d findings %v", pr.End, pr.Pickles, res.Findings)
	}
}

// TestFrames pins frame semantics checked against CPython 3.11: a frame
// ending between an opcode and its argument loads in both unpicklers (no
// finding); a FRAME inside an unfinished frame loads in _pickle.c only
// (ambiguous: High); a frame longer than the data is refused by _pickle.c
// but pickle.py runs what the short frame holds (High, content reported).
func TestFrames(t *testing.T) {
	boundary := []byte("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86.")
	nestedFrame := []byte("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x02\x86.")
	short := append([]byte("\x80\x04\x95\x00\x01\x00\x00\x00\x00\x00\x00"), call("os", "system", "id").bytesOf()[2:]...)
	if res := scanBytes(t, "x.pkl", boundary, nil); len(res.Findings) != 0 {
		t.Errorf("boundary: %s", formatstest.Describe(res))
	}
	if res := scanBytes(t, "x.pkl", nestedFrame, nil); !hasRule(res, "pickle/frame-mismatch", formats.High) {
		t.Errorf("nested frame: %s", formatstest.Describe(res))
	}
	res := scanBytes(t, "x.pkl", short, nil)
	if !hasRule(res, "pickle/truncated", formats.High) || !hasRule(res, "pickle/dangerous-import", formats.Critical) {
		t.Errorf("short frame: %s", formatstest.Describe(res))
	}
}

// TestDataThatLooksLikeAPickle: array bytes or hex-looking text that start
// like a pickle but are not one raise nothing.
func TestDataThatLooksLikeAPickle(t *testing.T) {
	b := &op{}
	b.proto(3).raw('}').ustr("arr").binbytes([]byte{0x80, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}).raw('s')
	b.ustr("phone").ustr("80041234567890").raw('s').ustr("b64").ustr("gAN0ZXN0IHN0cmluZyBub3QgYSBwaWNrbGU=").raw('s').stop()
	if res := scanBytes(t, "x.pkl", b.bytesOf(), nil); len(res.Findings) != 0 {
		t.Errorf("%s", formatstest.Describe(res))
	}
}

// TestPlainPickledTensor: pickle.dump of a tensor embeds a torch.save
// stream through torch.storage._load_from_bytes. Its content is scanned
// (by whichever analyzer reads it); nothing is dangerous; the loader is an
// unknown import (High in strict, Medium in permissive).
func TestPlainPickledTensor(t *testing.T) {
	data, err := os.ReadFile("testdata/permissive/tensor_plain_pickle.pkl")
	if err != nil {
		t.Fatal(err)
	}
	o := formats.DefaultOptions()
	o.Profile = formats.Permissive
	res := scanBytes(t, "t.pkl", data, &o)
	if r := formatstest.Rules(res, formats.High); len(r) > 0 || !hasRule(res, "pickle/nested-pickle", formats.Medium) {
		t.Errorf("permissive: %s", formatstest.Describe(res))
	}
	res = scanBytes(t, "t.pkl", data, nil)
	if hasRule(res, "pickle/dangerous-import", formats.Info) || !hasRule(res, "pickle/unknown-import", formats.High) {
		t.Errorf("strict: %s", formatstest.Describe(res))
	}
}

// TestTwoBenignPickles: repeated pickle.load streams (joblib, torch legacy
// headers) are read through, with nothing reported.
func TestTwoBenignPickles(t *testing.T) {
	one := (&op{}).proto(2).raw(']', 'K', 1, 'a').stop().bytesOf()
	data := append(append([]byte(nil), one...), one...)
	res := &formats.FileResult{}
	s := formats.NewScope("x", ptr(formats.DefaultOptions()), res)
	pr := pickle.Scan(s, bytes.NewReader(data), int64(len(data)))
	if pr.Pickles != 2 || pr.End != int64(len(data)) || len(res.Findings) != 0 {
		t.Errorf("pickles %d end %d findings %v", pr.Pickles, pr.End, res.Findings)
	}
}
