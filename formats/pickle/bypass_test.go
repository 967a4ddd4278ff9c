package pickle_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

// TestPublishedBypassClasses: gadget classes from published scanner
// bypasses and their generalizations, beyond the peer corpora. Each must
// be a dangerous import (Critical) even in the permissive profile, where
// an unknown import would only be Medium.
func TestPublishedBypassClasses(t *testing.T) {
	perm := formats.DefaultOptions()
	perm.Profile = formats.Permissive
	stackCall := func(m, n string, args ...string) []byte {
		b := &op{}
		b.proto(4).ustr(m).ustr(n).stackGlobal().mark()
		for _, a := range args {
			b.ustr(a)
		}
		return b.raw('t').reduce().stop().bytesOf()
	}
	for _, c := range []struct {
		name string
		data []byte
		imp  string
	}{
		// typing evaluates a ForwardRef's source with eval().
		{"typing._eval_type of a ForwardRef", func() []byte {
			b := &op{}
			b.proto(2).global("typing", "_eval_type").global("typing", "ForwardRef").ustr("__import__('os').system('id')").tuple1().reduce()
			return b.raw('}', '}', 0x87).reduce().stop().bytesOf()
		}(), "typing._eval_type"},
		{"typing.get_type_hints", call("typing", "get_type_hints", "x").bytesOf(), "typing.get_type_hints"},
		// help() pages through $PAGER: a shell command.
		{"site's help object", func() []byte {
			b := &op{}
			return b.proto(2).global("_sitebuiltins", "_Helper").emptyTuple().reduce().stop().bytesOf()
		}(), "_sitebuiltins._Helper"},
		{"cgitb hook writing tracebacks to a folder", call("cgitb", "enable", "1").bytesOf(), "cgitb.enable"},
		{"pure-Python io opens files", call("_pyio", "open", "/etc/passwd").bytesOf(), "_pyio.open"},
		// Unbound methods reached by a protocol-4 dotted name write files.
		{"numpy.ndarray.tofile through STACK_GLOBAL", stackCall("numpy", "ndarray.tofile", "x", "/tmp/x"), "numpy.ndarray.tofile"},
		{"numpy.ndarray.dump pickles to a path", stackCall("numpy", "ndarray.dump", "/tmp/x"), "numpy.ndarray.dump"},
		{"pathlib-like write_text on another class", stackCall("zipfile", "Path.write_text", "x"), "zipfile.Path.write_text"},
		{"posix spawn through an unlisted module re-export", stackCall("multiprocessing", "util.spawnv_passfds", "/bin/sh"), "multiprocessing.util.spawnv_passfds"},
		{"commands.getoutput spelled through a shim module", stackCall("mylib.compat", "getoutput", "id"), "mylib.compat.getoutput"},
		// TorchScript mobile loaders run serialized programs.
		{"torch._C lite interpreter loader", call("torch._C", "_load_for_lite_interpreter", "/tmp/m.ptl").bytesOf(), "torch._C._load_for_lite_interpreter"},
		{"torch model_zoo download and load", call("torch.utils.model_zoo", "load_url", "http://x").bytesOf(), "torch.utils.model_zoo.load_url"},
		// Outside TorchScript archives, torch.jit._pickle names are
		// still torch.jit (a Python loader would import them).
		{"torch.jit name in a plain pickle", call("torch.jit", "load", "x").bytesOf(), "torch.jit.load"},
		// Python 2 names are mapped when the protocol in force is below
		// 3, and a PROTO may appear mid-stream to lower it: both the raw
		// and the mapped name are judged, whatever the protocol.
		{"second PROTO lowers the protocol before a Python 2 name", (&op{}).proto(4).proto(2).global("__builtin__", "eval").ustr("1").tuple1().reduce().stop().bytesOf(), "__builtin__.eval"},
		{"Python 2 name at protocol 4 (no mapping)", (&op{}).proto(4).global("commands", "getoutput").ustr("id").tuple1().reduce().stop().bytesOf(), "commands.getoutput"},
		{"protocol-0 INST of a Python 2 module", []byte("(S'id'\nicommands\ngetoutput\n."), "commands.getoutput"},
		{"Python 2 reduce builtin maps to functools.reduce", call("__builtin__", "reduce", "x").bytesOf(), "__builtin__.reduce"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, o := range []*formats.Options{nil, &perm} {
				res := scanBytes(t, "x.pkl", c.data, o)
				found := false
				for _, f := range res.Findings {
					if f.Rule == "pickle/dangerous-import" && f.Severity == formats.Critical && f.Import == c.imp {
						found = true
					}
				}
				if !found {
					t.Errorf("want critical pickle/dangerous-import of %s:\n%v", c.imp, res.Findings)
				}
			}
		})
	}
}

// TestPrivateModuleAliases: stdlib modules keep "import os as _os" style
// aliases (tempfile._os, random._os, typing._sys); a protocol-4 dotted
// name reaches the dangerous module through any harmless-looking module.
func TestPrivateModuleAliases(t *testing.T) {
	for _, c := range [][2]string{
		{"random", "_os.posix_spawn"},
		{"tempfile", "_os.rename"},
		{"typing", "_sys.modules.get"},
		{"mylib", "_subprocess.Popen"},
		{"mylib._os", "fork"},
		{"mylib.__builtin__", "len"},
	} {
		if v := pickle.Classify(c[0], c[1], nil); v != pickle.Dangerous {
			t.Errorf("%s.%s: %v, want Dangerous", c[0], c[1], v)
		}
	}
	// Names that merely contain those words stay unknown, not dangerous.
	for _, c := range [][2]string{
		{"mylib.osutils", "Model"},
		{"mylib", "_system_prompt"},
		{"sklearn.utils._joblib", "Parallel"},
	} {
		if v := pickle.Classify(c[0], c[1], nil); v != pickle.Unknown {
			t.Errorf("%s.%s: %v, want Unknown", c[0], c[1], v)
		}
	}
}

// TestPolyglotPickleZip: a benign pickle followed by a zip holding a
// payload pickle. pickle.load and torch.load read the front; a zip reader
// locates the archive from the end. The archive must be scanned and the
// ambiguity reported.
func TestPolyglotPickleZip(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("archive/data.pkl")
	w.Write(call("os", "system", "id").bytesOf())
	zw.Close()
	front := (&op{}).proto(2).raw('}').stop().bytesOf()
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"zip right after STOP", append(append([]byte(nil), front...), zb.Bytes()...)},
		{"zip after a gap of junk bytes", append(append(append([]byte(nil), front...), bytes.Repeat([]byte{0xff}, 40)...), zb.Bytes()...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "model.pkl", c.data, nil)
			if !hasRule(res, "pickle/polyglot", formats.High) || !hasRule(res, "pickle/dangerous-import", formats.Critical) {
				t.Errorf("want pickle/polyglot and the payload found:\n%v", res.Findings)
			}
		})
	}
	// A lone pickle with a few junk bytes is not a polyglot.
	res := scanBytes(t, "model.pkl", append(front, "\n\n"...), nil)
	if hasRule(res, "pickle/polyglot", formats.Info) {
		t.Errorf("junk without a zip end record reported as polyglot: %v", res.Findings)
	}
}

// TestAllowPackageWildcard: "pkg.*" trusts the package and its
// sub-modules (the README's --allow 'sklearn.*'), never a dangerous name,
// never a look-alike package, never a dotted qualname.
func TestAllowPackageWildcard(t *testing.T) {
	o := formats.DefaultOptions()
	o.Allow = []string{"sklearn.*"}
	for _, c := range []struct {
		mod, name string
		want      pickle.Verdict
	}{
		{"sklearn.linear_model._logistic", "LogisticRegression", pickle.Safe},
		{"sklearn", "Pipeline", pickle.Safe},
		{"sklearnx.models", "Net", pickle.Unknown},
		{"sklearn.pipeline", "Pipeline.fit", pickle.Unknown},
		{"sklearn.utils._testing", "run", pickle.Dangerous},
		{"sklearn.x", "os.system", pickle.Dangerous},
	} {
		if v := pickle.Classify(c.mod, c.name, &o); v != c.want {
			t.Errorf("%s.%s with --allow sklearn.*: %v, want %v", c.mod, c.name, v, c.want)
		}
	}
}

// TestLoaderGivenBytearray: pickle.loads accepts a bytearray; the payload
// inside must be scanned, whether built by builtins.bytearray (allowed by
// weights_only) or by the protocol-5 BYTEARRAY8 opcode.
func TestLoaderGivenBytearray(t *testing.T) {
	inner := call("os", "system", "id").bytesOf()
	viaCall := (&op{}).proto(2).global("_pickle", "loads").global("builtins", "bytearray").binbytes(inner).tuple1().reduce().tuple1().reduce().stop().bytesOf()
	b := (&op{}).proto(5).global("_pickle", "loads").raw(0x96)
	binary.Write(b, binary.LittleEndian, uint64(len(inner)))
	b.Write(inner)
	viaOp := b.tuple1().reduce().stop().bytesOf()
	for name, data := range map[string][]byte{"builtins.bytearray": viaCall, "BYTEARRAY8": viaOp} {
		res := scanBytes(t, "x.pkl", data, nil)
		found := false
		for _, f := range res.Findings {
			found = found || (f.Import == "os.system" && f.Severity == formats.Critical && strings.Contains(f.Member, "nested pickle"))
		}
		if !found {
			t.Errorf("%s: nested payload not found:\n%v", name, res.Findings)
		}
	}
}

// TestGadgetThroughRebuildFromType: torch._tensor._rebuild_from_type_v2
// (allowed, as in weights_only) returns func(*args); the numpy ufunc
// reconstructor called through it imports what its arguments name: the
// inner call is judged as if the pickle made it.
func TestGadgetThroughRebuildFromType(t *testing.T) {
	// MARK func new_type MARK args... t {} t REDUCE
	wrap := func(fnMod, fnName string, inner func(b *op)) []byte {
		b := (&op{}).proto(2).global("torch._tensor", "_rebuild_from_type_v2").mark().global(fnMod, fnName).global("torch", "Tensor").mark()
		inner(b)
		return b.raw('t', '}', 't').reduce().stop().bytesOf()
	}
	gadget := wrap("numpy.core", "_ufunc_reconstruct", func(b *op) { b.ustr("os").ustr("system") })
	benign := wrap("_codecs", "encode", func(b *op) { b.ustr("x").ustr("latin1") })
	res := scanBytes(t, "x.pkl", gadget, nil)
	if !hasRule(res, "pickle/dangerous-import", formats.Critical) {
		t.Errorf("ufunc gadget through _rebuild_from_type_v2 not judged:\n%v", res.Findings)
	}
	if res := scanBytes(t, "x.pkl", benign, nil); hasRule(res, "pickle/dangerous-import", formats.Low) || hasRule(res, "pickle/unknown-import", formats.Low) {
		t.Errorf("benign inner call flagged:\n%v", res.Findings)
	}
}
