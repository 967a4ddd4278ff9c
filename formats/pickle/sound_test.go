package pickle_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// Builders for gadget chains made only of safe-listed names.

// rebuildFromType emits torch._tensor._rebuild_from_type_v2(f, torch.Tensor,
// args, state): f, args and state are emitted by the callbacks.
func rebuildFromType(b *op, f, args, state func(b *op)) *op {
	b.global("torch._tensor", "_rebuild_from_type_v2").mark()
	f(b)
	b.global("torch", "Tensor")
	args(b)
	state(b)
	return b.raw('t').reduce()
}

func emptyDict(b *op) { b.raw('}') }

func strTuple(ss ...string) func(b *op) {
	return func(b *op) {
		b.mark()
		for _, s := range ss {
			b.ustr(s)
		}
		b.raw('t')
	}
}

func glob(m, n string) func(b *op) { return func(b *op) { b.global(m, n) } }

// ufuncGadget is numpy's _ufunc_reconstruct, safe-listed because its calls
// are judged by what they import.
var ufuncGadget = glob("numpy.core", "_ufunc_reconstruct")

// callWith calls the value on top of the stack with ("id",) and stops.
func callWith(b *op) []byte { return b.ustr("id").tuple1().reduce().stop().bytesOf() }

// objDtype emits numpy.dtype('O8', False, True).
func objDtype(b *op) *op {
	return b.global("numpy", "dtype").ustr("O8").raw(0x89, 0x88, 0x87).reduce()
}

// scalar emits numpy.core.multiarray.scalar(dtype('O'), x).
func scalar(b *op, x func(b *op)) *op {
	b.global("numpy.core.multiarray", "scalar")
	objDtype(b)
	x(b)
	return b.raw(0x86).reduce()
}

type soundCase struct {
	name   string
	attack []byte
	rule   string
	sev    formats.Severity
	imp    string // "" for any
	benign []byte // its twin: same shape, nothing dangerous; must be clean
}

func soundCases() []soundCase {
	p := func() *op { return (&op{}).proto(2) }
	var cases []soundCase

	// 1. An import gadget reached through _rebuild_from_type_v2, its
	// result then called.
	cases = append(cases, soundCase{"import gadget through _rebuild_from_type_v2, result called",
		callWith(rebuildFromType(p(), ufuncGadget, strTuple("os", "system"), emptyDict)),
		"pickle/dangerous-import", formats.Critical, "os.system",
		rebuildFromType(p(), ufuncGadget, strTuple("numpy", "log"), emptyDict).stop().bytesOf()})
	cases = append(cases, soundCase{"unknown target of an import gadget is High in every profile",
		rebuildFromType(p(), ufuncGadget, strTuple("mylib", "helper"), emptyDict).stop().bytesOf(),
		"pickle/unknown-import", formats.High, "mylib.helper",
		rebuildFromType(p(), ufuncGadget, strTuple("numpy", "sqrt"), emptyDict).stop().bytesOf()})
	cases = append(cases, soundCase{"ufunc gadget reaching os through scipy.special",
		rebuildFromType(p(), ufuncGadget, strTuple("scipy.special", "os"), emptyDict).stop().bytesOf(),
		"pickle/dangerous-import", formats.Critical, "",
		rebuildFromType(p(), ufuncGadget, strTuple("scipy.special._ufuncs", "expit"), emptyDict).stop().bytesOf()})
	// torch._utils._import_dotted_name is denied and its target judged.
	cases = append(cases, soundCase{"torch._utils._import_dotted_name through _rebuild_from_type_v2",
		callWith(rebuildFromType(p(), glob("torch._utils", "_import_dotted_name"), strTuple("os.system"), emptyDict)),
		"pickle/dangerous-import", formats.Critical, "os.system",
		rebuildFromType(p(), glob("_codecs", "encode"), strTuple("x", "latin1"), emptyDict).stop().bytesOf()})

	// 2. A callable passed unchanged through numpy's scalar, then called.
	cases = append(cases, soundCase{"import gadget passed through numpy scalar",
		func() []byte {
			b := scalar(p(), ufuncGadget)
			return callWith(b.ustr("os").ustr("system").raw(0x86).reduce())
		}(),
		"pickle/dangerous-import", formats.Critical, "os.system",
		func() []byte {
			b := scalar(p(), ufuncGadget)
			return b.ustr("numpy").ustr("exp").raw(0x86).reduce().stop().bytesOf()
		}()})
	cases = append(cases, soundCase{"result of an unknown call passed through numpy scalar, then called",
		callWith(scalar(p(), func(b *op) { b.global("mylib", "factory").emptyTuple().reduce() })),
		"pickle/opaque-call", formats.High, "",
		scalar(p(), func(b *op) { b.binbytes([]byte{0, 0, 0, 0, 0, 0, 0, 0}) }).stop().bytesOf()})

	// 3. The callee's arguments in a list, a dict, and deep nesting.
	cases = append(cases, soundCase{"gadget arguments in a list",
		callWith(rebuildFromType(p(), ufuncGadget, func(b *op) { b.mark().ustr("os").ustr("system").raw('l') }, emptyDict)),
		"pickle/dangerous-import", formats.Critical, "os.system",
		rebuildFromType(p(), ufuncGadget, func(b *op) { b.mark().ustr("numpy").ustr("cos").raw('l') }, emptyDict).stop().bytesOf()})
	cases = append(cases, soundCase{"gadget arguments as dict keys",
		callWith(rebuildFromType(p(), ufuncGadget, func(b *op) { b.mark().ustr("os").raw('N').ustr("system").raw('N', 'd') }, emptyDict)),
		"pickle/dangerous-import", formats.Critical, "os.system",
		rebuildFromType(p(), ufuncGadget, func(b *op) { b.mark().ustr("numpy").raw('N').ustr("sin").raw('N', 'd') }, emptyDict).stop().bytesOf()})
	viaTuple := func(m, n string) func(b *op) {
		return func(b *op) { b.global("builtins", "tuple"); strTuple(m, n)(b); b.tuple1().reduce() }
	}
	cases = append(cases, soundCase{"gadget arguments passed through builtins.tuple",
		callWith(rebuildFromType(p(), ufuncGadget, viaTuple("os", "system"), emptyDict)),
		"pickle/nonliteral-global", formats.High, "numpy.core._ufunc_reconstruct",
		rebuildFromType(p(), glob("_codecs", "encode"), viaTuple("x", "latin1"), emptyDict).stop().bytesOf()})
	nest := func(target string, depth int) *op {
		inner := func(b *op) { strTuple("os", target)(b) }
		for i := 0; i < depth; i++ {
			prev := inner
			inner = func(b *op) {
				// (ufuncGadget-through-apply...) nested as the args of the next apply
				b.mark()
				ufuncGadget(b)
				b.global("torch", "Tensor")
				prev(b)
				b.raw('}', 't')
			}
		}
		return rebuildFromType(p(), glob("torch._tensor", "_rebuild_from_type_v2"), inner, emptyDict)
	}
	cases = append(cases, soundCase{"apply nested in apply",
		callWith(nest("system", 1)), "pickle/dangerous-import", formats.Critical, "os.system",
		rebuildFromType(p(), glob("torch._tensor", "_rebuild_from_type_v2"), func(b *op) {
			b.mark()
			ufuncGadget(b)
			b.global("torch", "Tensor")
			strTuple("numpy", "tan")(b)
			b.raw('}', 't')
		}, emptyDict).stop().bytesOf()})
	// apply(apply, T, (apply, T, (... (gadget, T, (m, n), {}) ...), {}), {})
	applyChain := func(depth int, m, n string) *op {
		var args func(b *op, d int)
		args = func(b *op, d int) {
			b.mark()
			if d == 0 {
				ufuncGadget(b)
				b.global("torch", "Tensor")
				strTuple(m, n)(b)
			} else {
				b.global("torch._tensor", "_rebuild_from_type_v2").global("torch", "Tensor")
				args(b, d-1)
			}
			b.raw('}', 't')
		}
		b := p().global("torch._tensor", "_rebuild_from_type_v2").mark().global("torch._tensor", "_rebuild_from_type_v2").global("torch", "Tensor")
		args(b, depth)
		return b.raw('}', 't').reduce()
	}
	cases = append(cases, soundCase{"apply chain nested past the depth bound",
		callWith(applyChain(12, "os", "system")), "pickle/opaque-call", formats.High, "torch._tensor._rebuild_from_type_v2",
		applyChain(4, "numpy", "log").stop().bytesOf()})
	cases = append(cases, soundCase{"apply chain four deep",
		callWith(applyChain(4, "os", "system")), "pickle/dangerous-import", formats.Critical, "os.system",
		applyChain(4, "numpy", "exp").stop().bytesOf()})
	deep := func(n int, leaf func(b *op)) *op {
		var wrap func(b *op, d int)
		wrap = func(b *op, d int) {
			if d == 0 {
				leaf(b)
				return
			}
			rebuildFromType(b, glob("numpy.core.multiarray", "scalar"), func(b *op) {
				b.mark()
				objDtype(b)
				wrap(b, d-1)
				b.raw('t')
			}, emptyDict)
		}
		b := p()
		wrap(b, n)
		return b
	}
	cases = append(cases, soundCase{"gadget passed through twelve nested scalar-through-apply layers",
		callWith(deep(12, ufuncGadget).ustr("os").ustr("system").raw(0x86).reduce()),
		"pickle/dangerous-import", formats.Critical, "os.system",
		deep(12, ufuncGadget).ustr("numpy").ustr("floor").raw(0x86).reduce().stop().bytesOf()})

	// 4. Memo round-trip of the gadget's result.
	cases = append(cases, soundCase{"gadget result stored in the memo, popped, fetched and called",
		func() []byte {
			b := rebuildFromType(p(), ufuncGadget, strTuple("os", "system"), emptyDict)
			b.binput(7).raw('0').raw(']').raw('0').binget(7)
			return callWith(b)
		}(),
		"pickle/dangerous-import", formats.Critical, "os.system",
		func() []byte {
			b := rebuildFromType(p(), ufuncGadget, strTuple("numpy", "add"), emptyDict)
			return b.binput(7).raw('0').raw(']').raw('0').binget(7).stop().bytesOf()
		}()})

	// 5. Padding past the keep budget: the gadget's arguments are not
	// kept, and what holds them holds a gadget.
	pad := func(b *op) *op {
		for i := 0; i < 2100; i++ {
			b.raw(']', '(')
			for j := 0; j < 256; j++ {
				b.raw('K', 1)
			}
			b.raw('e', '0')
		}
		return b
	}
	cases = append(cases, soundCase{"apply padded past the keep budget",
		callWith(rebuildFromType(pad(p()), ufuncGadget, strTuple("os", "system"), emptyDict)),
		"pickle/opaque-call", formats.High, "",
		func() []byte {
			// The same padding before a plain tensor-shaped call.
			b := pad(p())
			b.global("_codecs", "encode").ustr("x").ustr("latin1").raw(0x86).reduce()
			return b.stop().bytesOf()
		}()})

	// Opaque callees: never an imported name.
	cases = append(cases, soundCase{"result of a safe call called (NEWOBJ on a tensor)",
		func() []byte {
			b := p().global("_codecs", "encode").ustr("x").ustr("latin1").raw(0x86).reduce()
			return b.emptyTuple().raw(0x81).stop().bytesOf()
		}(),
		"pickle/opaque-call", formats.High, "",
		p().global("builtins", "set").emptyTuple().raw(0x81).stop().bytesOf()})
	cases = append(cases, soundCase{"copyreg._reconstructor of a class computed at load time",
		func() []byte {
			b := p().global("copyreg", "_reconstructor").mark()
			b.global("mylib", "factory").emptyTuple().reduce()
			return b.global("builtins", "object").raw('N', 't').reduce().stop().bytesOf()
		}(),
		"pickle/opaque-call", formats.High, "",
		p().global("copyreg", "_reconstructor").mark().global("collections", "OrderedDict").global("builtins", "object").raw('N', 't').reduce().stop().bytesOf()})

	// BUILD and state on what a gadget returned: rewriting loaded code.
	cases = append(cases, soundCase{"BUILD on a module attribute returned by a pass-through",
		scalar(p(), glob("torch._utils", "_rebuild_tensor_v2")).mark().ustr("x").raw('N', 'd', 'b').stop().bytesOf(),
		"pickle/build-on-global", formats.Critical, "torch._utils._rebuild_tensor_v2",
		scalar(p(), func(b *op) { b.raw(']') }).mark().ustr("x").raw('N', 'd', 'b').stop().bytesOf()})
	cases = append(cases, soundCase{"_rebuild_from_type_v2 state set on a gadget's import",
		rebuildFromType(p(), ufuncGadget, strTuple("numpy", "log"), func(b *op) { b.mark().ustr("__call__").raw('N', 'd') }).stop().bytesOf(),
		"pickle/build-on-global", formats.Critical, "numpy.log",
		rebuildFromType(p(), ufuncGadget, strTuple("numpy", "log"), func(b *op) { b.raw('N') }).stop().bytesOf()})

	// Tensors given backward hooks (torch.save writes none).
	tensor := func(hooks func(b *op)) []byte {
		b := p().global("torch._utils", "_rebuild_tensor_v2").mark().raw('N', 'K', 0, ')', ')', 0x89)
		hooks(b)
		return b.raw('t').reduce().stop().bytesOf()
	}
	cases = append(cases, soundCase{"tensor with a backward hook",
		tensor(func(b *op) { b.raw('}').raw('K', 1).global("torch._utils", "_rebuild_tensor_v2").raw('s') }),
		"pickle/tensor-hooks", formats.High, "",
		tensor(func(b *op) { b.global("collections", "OrderedDict").emptyTuple().reduce() })})
	cases = append(cases, soundCase{"BUILD on a tensor installing backward hooks",
		p().global("torch", "Tensor").emptyTuple().reduce().mark().raw(0x89, 'N').global("collections", "OrderedDict").emptyTuple().reduce().
			raw('K', 1).global("torch._utils", "_rebuild_tensor_v2").raw('s', 't', 'b').stop().bytesOf(),
		"pickle/tensor-hooks", formats.High, "",
		p().global("torch", "Tensor").emptyTuple().reduce().mark().raw(0x89, 'N').global("collections", "OrderedDict").emptyTuple().reduce().
			raw('t', 'b').stop().bytesOf()})
	cases = append(cases, soundCase{"SETITEM on an imported object",
		p().global("torch._utils", "_rebuild_tensor_v2").ustr("k").raw('N', 's').stop().bytesOf(),
		"pickle/mutate-global", formats.High, "",
		p().global("collections", "OrderedDict").emptyTuple().reduce().ustr("k").raw('N', 's').stop().bytesOf()})
	return cases
}

// TestSoundCalls: gadget chains built only from safe-listed names, each
// with a benign twin of the same shape. Every attack is caught in both
// profiles; no twin raises anything.
func TestSoundCalls(t *testing.T) {
	perm := formats.DefaultOptions()
	perm.Profile = formats.Permissive
	for _, c := range soundCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, o := range []*formats.Options{nil, &perm} {
				res := scanBytes(t, "x.pkl", c.attack, o)
				found := false
				for _, f := range res.Findings {
					found = found || (f.Rule == c.rule && f.Severity >= c.sev && (c.imp == "" || f.Import == c.imp))
				}
				if !found {
					t.Errorf("profile %v: want %s >= %v %s:\n%v", profileName(o), c.rule, c.sev, c.imp, res.Findings)
				}
				twin := scanBytes(t, "x.pkl", c.benign, o)
				if len(twin.Findings) != 0 {
					t.Errorf("profile %v: benign twin raised:\n%v", profileName(o), twin.Findings)
				}
			}
		})
	}
}

func profileName(o *formats.Options) string {
	if o == nil {
		return "strict"
	}
	return fmt.Sprint(o.Profile)
}

// TestCapabilityDenylist: one name per capability class of the denylist
// (issue 9's gaps and their neighbours), each Critical in both profiles,
// through GLOBAL and through a protocol-4 dotted STACK_GLOBAL; benign
// neighbours from the same libraries stay clean or merely unknown.
func TestCapabilityDenylist(t *testing.T) {
	perm := formats.DefaultOptions()
	perm.Profile = formats.Permissive
	for _, c := range []struct{ capability, mod, name string }{
		{"import", "torch._utils", "_import_dotted_name"},
		{"import", "pydoc", "locate"},
		{"import", "hydra.utils", "get_method"},
		{"import", "pkgutil", "resolve_name"},
		{"eval", "dataclasses", "_create_fn"},
		{"eval", "torch.utils.benchmark", "Timer"},
		{"eval", "torch.utils.benchmark.utils.timer", "Timer"},
		{"eval", "timeit", "timeit"},
		{"eval", "sympy", "S"},
		{"eval", "sympy", "sympify"},
		{"eval", "sympy.parsing.sympy_parser", "parse_expr"},
		{"eval", "pandas", "eval"},
		{"eval", "numexpr", "evaluate"},
		{"eval", "code", "InteractiveInterpreter"},
		{"eval", "runpy", "run_path"},
		{"eval", "logging.config", "listen"},
		{"file write", "torch", "from_file"},
		{"file write", "torch", "UntypedStorage.from_file"},
		{"file write", "torch.storage", "UntypedStorage.from_file"},
		{"file write", "numpy", "memmap"},
		{"file write", "numpy", "fromfile"},
		{"file write", "torch", "save"},
		{"file write", "gzip", "GzipFile"},
		{"file write", "gzip", "open"},
		{"file write", "numpy", "save"},
		{"file write", "numpy", "savez_compressed"},
		{"file write", "numpy", "savetxt"},
		{"file write", "numpy", "ndarray.tofile"},
		{"file write", "shutil", "rmtree"},
		{"file write", "tempfile", "mkstemp"},
		{"file write", "pathlib", "Path.write_text"},
		{"file write", "pandas", "DataFrame.to_pickle"},
		{"file write", "h5py", "File"},
		{"process", "subprocess", "run"},
		{"process", "pty", "spawn"},
		{"process", "multiprocessing", "Process"},
		{"process", "ctypes", "CDLL"},
		{"process", "torch.ops", "load_library"},
		{"network", "socket", "create_connection"},
		{"network", "http.client", "HTTPConnection"},
		{"network", "urllib.request", "urlopen"},
		{"network", "requests", "get"},
		{"network", "websocket", "create_connection"},
		{"loader", "torch", "load"},
		{"loader", "dill", "loads"},
		{"attribute", "builtins", "getattr"},
		{"attribute", "operator", "attrgetter"},
	} {
		t.Run(c.capability+" "+c.mod+"."+c.name, func(t *testing.T) {
			viaGlobal := call(c.mod, c.name, "x").bytesOf()
			viaStack := (&op{}).proto(4).ustr(c.mod).ustr(c.name).stackGlobal().ustr("x").tuple1().reduce().stop().bytesOf()
			for _, data := range [][]byte{viaGlobal, viaStack} {
				for _, o := range []*formats.Options{nil, &perm} {
					res := scanBytes(t, "x.pkl", data, o)
					if !hasRule(res, "pickle/dangerous-import", formats.Critical) {
						t.Errorf("%s: want critical pickle/dangerous-import:\n%v", profileName(o), res.Findings)
					}
				}
			}
		})
	}
	// Benign neighbours: never dangerous.
	for _, g := range [][2]string{
		{"torch._utils", "_rebuild_tensor_v2"}, {"torch.storage", "UntypedStorage"}, {"numpy", "ndarray"},
		{"pathlib", "PosixPath"}, {"collections", "OrderedDict"}, {"numpy", "log1p"},
		{"sklearn.preprocessing._data", "StandardScaler"}, {"torch.nn.modules.linear", "Linear"},
		{"omegaconf.dictconfig", "DictConfig"}, {"argparse", "Namespace"},
	} {
		res := scanBytes(t, "x.pkl", call(g[0], g[1], "x").bytesOf(), &perm)
		if hasRule(res, "pickle/dangerous-import", formats.Low) || hasRule(res, "pickle/opaque-call", formats.Low) {
			t.Errorf("%s.%s: benign name judged dangerous:\n%v", g[0], g[1], res.Findings)
		}
	}
}

// TestAttackFixtures: files testdata/make_attacks.py made and proved to
// run their payload under the loader testdata/attacks/README.md names.
func TestAttackFixtures(t *testing.T) {
	perm := formats.DefaultOptions()
	perm.Profile = formats.Permissive
	for _, c := range []struct {
		file, rule, imp string
		sev             formats.Severity
	}{
		{"passthrough_scalar.pkl", "pickle/dangerous-import", "os.system", formats.Critical},
		{"rebuild_from_type_apply.pkl", "pickle/dangerous-import", "os.system", formats.Critical},
		{"memo_and_list.pkl", "pickle/dangerous-import", "os.system", formats.Critical},
		{"padded_past_budget.pkl.gz", "pickle/opaque-call", "", formats.High},
		{"torch_zip_passthrough.pt", "pickle/dangerous-import", "os.system", formats.Critical},
		{"dataclasses_create_fn.pkl", "pickle/dangerous-import", "dataclasses._create_fn", formats.Critical},
		{"timeit_exec.pkl", "pickle/dangerous-import", "timeit.timeit", formats.Critical},
		{"numpy_save.pkl", "pickle/dangerous-import", "numpy.save", formats.Critical},
		{"gzip_write.pkl", "pickle/dangerous-import", "gzip.GzipFile", formats.Critical},
		{"torch_from_file_setitem.pkl", "pickle/dangerous-import", "torch.from_file", formats.Critical},
	} {
		t.Run(c.file, func(t *testing.T) {
			data := readAttack(t, c.file)
			for _, o := range []*formats.Options{nil, &perm} {
				res := scanBytes(t, "x.pkl", data, o)
				found := false
				for _, f := range res.Findings {
					found = found || (f.Rule == c.rule && f.Severity >= c.sev && (c.imp == "" || f.Import == c.imp))
				}
				if !found {
					t.Errorf("%s: want %s >= %v %s:\n%v", profileName(o), c.rule, c.sev, c.imp, res.Findings)
				}
			}
		})
	}
}

// readAttack returns a fixture's pickle: gunzipped, or the data.pkl of a
// torch.save archive (the PyTorch analyzer hands exactly that to Scan).
func readAttack(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "attacks", name))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	case strings.HasSuffix(name, ".pt"):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, "/data.pkl") {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				data, err = io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
		}
		t.Fatal("no data.pkl")
	}
	return data
}

// TestUnknownApplyStillJudged: torch._tensor._rebuild_from_type (not
// safe-listed, so an unknown import) applies its first argument like its
// v2 successor; the inner call is judged too, so permissive sees the
// gadget's target, not only a medium unknown import.
func TestUnknownApplyStillJudged(t *testing.T) {
	perm := formats.DefaultOptions()
	perm.Profile = formats.Permissive
	b := (&op{}).proto(2).global("torch._tensor", "_rebuild_from_type").mark()
	ufuncGadget(b)
	b.global("torch", "Tensor")
	strTuple("os", "system")(b)
	data := b.raw('}', 't').reduce().stop().bytesOf()
	res := scanBytes(t, "x.pkl", data, &perm)
	found := false
	for _, f := range res.Findings {
		found = found || f.Rule == "pickle/dangerous-import" && f.Import == "os.system" && f.Severity == formats.Critical
	}
	if !found {
		t.Errorf("inner call of _rebuild_from_type not judged:\n%v", res.Findings)
	}
}
