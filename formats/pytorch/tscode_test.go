package pytorch_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestTorchScriptRealModules: torch.jit.script and torch.jit.trace of
// ordinary torch.nn modules (testdata/torchscript/make.py, Debian's torch
// 1.13) raise nothing at High: getattr(self, "0") in Sequential,
// ops.prim.RaiseException(msg, "builtins.RuntimeError") in LSTM and
// TransformerEncoderLayer, a comment naming torch.from_file.
func TestTorchScriptRealModules(t *testing.T) {
	needPickle(t)
	files, _ := filepath.Glob("testdata/torchscript/*.pt*") // .pt and mobile .ptl
	n := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "evil_") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := formatstest.ScanBytes(t, filepath.Base(f), data, nil)
			if got := formatstest.Rules(res, formats.High); len(got) > 0 {
				t.Fatalf("false alarm on a real TorchScript module:\n%s", formatstest.Describe(res))
			}
			if !hasRule(res, "pytorch/torchscript", formats.Medium) {
				t.Fatalf("the code is not reported for review:\n%s", formatstest.Describe(res))
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d real TorchScript fixtures found", n)
	}
}

func hasRule(res *formats.FileResult, rule string, min formats.Severity) bool {
	for _, f := range res.Findings {
		if f.Rule == rule && f.Severity >= min {
			return true
		}
	}
	return false
}

// TestTorchScriptCode: one case per way TorchScript code touches the
// system on load, each run by torch.jit.load and by torch.load (which
// hands archives with constants.pkl to torch.jit.load; with
// weights_only=True too on torch < 2.6), with benign twins.
func TestTorchScriptCode(t *testing.T) {
	needPickle(t)
	benign := fixture(t, "torchscript/script_setstate_benign.pt")
	const root = "script_setstate_benign/"
	const src = root + "code/__torch__.py"
	orig := string(memberOf(t, benign, src))
	if !strings.Contains(orig, "def __setstate__") {
		t.Fatalf("fixture has no __setstate__:\n%s", orig)
	}
	// inSetstate puts body lines at the top of __setstate__'s body.
	inSetstate := func(body string) string {
		i := strings.Index(orig, "def __setstate__")
		j := i + strings.Index(orig[i:], "-> NoneType:\n") + len("-> NoneType:\n")
		return orig[:j] + body + orig[j:]
	}
	inForward := func(body string) string {
		i := strings.Index(orig, "def forward")
		j := i + strings.Index(orig[i:], "-> Tensor:\n") + len("-> Tensor:\n")
		return orig[:j] + body + orig[j:]
	}
	withCode := func(name, code string) []byte {
		return rezip(t, benign, func(n string, d []byte) (string, []byte, bool) {
			if n == src {
				return name, []byte(code), true
			}
			return n, d, true
		})
	}
	for _, c := range []struct {
		name string
		data []byte
		want string // "" = nothing at High or above
		min  formats.Severity
	}{
		{"real: __setstate__ writes a file via torch.from_file(shared=True) (torch.jit.load, torch.load weights_only=True on 1.13)",
			fixture(t, "torchscript/evil_setstate_from_file.pt"), "pytorch/torchscript-load-time-system-call", formats.Critical},
		{"benign twin: __setstate__ touching only tensors", benign, "", 0},
		{"real mobile archive: bytecode.pkl calls aten::from_file (_load_for_lite_interpreter, torch 1.13)",
			onlyBytecode(t, fixture(t, "torchscript/evil_setstate_from_file.ptl")), "pytorch/torchscript-load-time-system-call", formats.Critical},
		{"torch.save in __setstate__ writes a file", withCode(src, inSetstate("    _9 = torch.save(self.w, \"/tmp/x\")\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"ops.aten.from_file in __setstate__", withCode(src, inSetstate("    _9 = ops.aten.from_file(\"/etc/passwd\", True, 8)\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"torch.ops.load_library in __setstate__", withCode(src, inSetstate("    _9 = torch.ops.load_library(\"/tmp/evil.so\")\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"os.system in __setstate__ (a patched loader)", withCode(src, inSetstate("    _9 = os.system(\"id\")\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"from_file two calls away from __setstate__", withCode(src, inSetstate("    _9 = (self).helper()\n")+
			"  def helper(self: __torch__.WithState) -> NoneType:\n    _0 = self.other()\n    return None\n"+
			"  def other(self: __torch__.WithState) -> NoneType:\n    t = torch.from_file(\"/tmp/p\", True, 8)\n    return None\n"),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"a comment cannot hide the call: `# )` before from_file", withCode(src, inSetstate("    _9 = torch.from_file( # )\n      \"/tmp/p\", True, 8)\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"code member named in upper case (CODE/__TORCH__.PY), read by torch's case-insensitive lookup",
			withCode(strings.ToUpper(src), inSetstate("    _9 = torch.from_file(\"/tmp/p\", True, 8)\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"root folder in another case", withCode("SCRIPT_SETSTATE_BENIGN/code/__torch__.PY", inSetstate("    _9 = torch.save(self.w, \"/tmp/x\")\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"from_file in forward runs when called", withCode(src, inForward("    t = torch.from_file(\"/tmp/p\", True, 8)\n")),
			"pytorch/torchscript-system-call", formats.High},
		{"forward reached from __setstate__ through a module call", withCode(src, inSetstate("    _9 = self.w2(self.w)\n")+
			"  def forward(self: __torch__.WithState) -> NoneType:\n    t = torch.from_file(\"/tmp/p\", True, 8)\n    return None\n"),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"getattr with a dunder name", withCode(src, inForward("    _9 = getattr(self, \"__class__\")\n")),
			"pytorch/torchscript-dynamic-attribute", formats.High},
		{"getattr(torch, \"from_file\") in __setstate__", withCode(src, inSetstate("    _9 = getattr(torch, \"from_file\")(\"/tmp/p\", True, 8)\n")),
			"pytorch/torchscript-dynamic-attribute", formats.High},
		{"getattr(x, \"save\") in __setstate__ reaches a file write", withCode(src, inSetstate("    _9 = getattr(self.w, \"save\")(\"/tmp/p\")\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"custom operator namespace in __setstate__", withCode(src, inSetstate("    _9 = ops.evil.run(\"x\")\n")),
			"pytorch/torchscript-custom-op", formats.High},
		{"import alias hides subprocess: `import subprocess as sp` then sp.run", withCode(src, "import subprocess as sp\n"+inSetstate("    _9 = sp.run([\"id\"])\n")),
			"pytorch/torchscript-load-time-system-call", formats.Critical},
		{"custom C++ class used in __setstate__", withCode(src, inSetstate("    _9 = torch.classes.evil.Runner(\"x\")\n")),
			"pytorch/torchscript-custom-op", formats.High},
		{"benign: torch's own quantized packed-params class", withCode(src, inSetstate("    _9 = annotate(__torch__.torch.classes.quantized.LinearPackedParamsBase, self.p)\n")), "", 0},
		{"unterminated string: cannot be judged", withCode(src, inForward("    _9 = \"abc\n")),
			"pytorch/torchscript-unparseable", formats.High},
		{"two code records differing only in case", rezip(t, benign, func(n string, d []byte) (string, []byte, bool) { return n, d, true },
			[2]string{strings.ToUpper(src), inSetstate("    _9 = torch.save(self.w, \"/tmp/x\")\n")}),
			"pytorch/case-ambiguous-record", formats.High},
		{"benign: from_file only in a comment and a string", withCode(src, inSetstate("    # torch.from_file(\"/tmp/p\", True, 8)\n    _9 = \"torch.from_file(os.system)\"\n")), "", 0},
		{"benign: RaiseException naming builtins.RuntimeError", withCode(src, inForward("    ops.prim.RaiseException(\"x\", \"builtins.RuntimeError\")\n")), "", 0},
		{"benign: getattr(self, \"0\")", withCode(src, inForward("    _9 = getattr(self, \"0\")\n")), "", 0},
	} {
		for _, prof := range []formats.Profile{formats.Strict, formats.Permissive} {
			t.Run(c.name+"/"+string(prof), func(t *testing.T) {
				o := formats.DefaultOptions()
				o.Profile = prof
				res := formatstest.ScanBytes(t, "model.pt", c.data, &o)
				if c.want == "" {
					if got := formatstest.Rules(res, formats.High); len(got) > 0 {
						t.Fatalf("want nothing at high or above, got %s", formatstest.Describe(res))
					}
					return
				}
				if !hasRule(res, c.want, c.min) {
					t.Fatalf("want %s at %s or above, got %s", c.want, c.min, formatstest.Describe(res))
				}
			})
		}
	}
}

func memberOf(t testing.TB, b []byte, name string) []byte {
	t.Helper()
	var out []byte
	found := false
	rezip(t, b, func(n string, d []byte) (string, []byte, bool) {
		if n == name {
			out, found = d, true
		}
		return n, d, true
	})
	if !found {
		t.Fatalf("no member %s", name)
	}
	return out
}

// onlyBytecode blanks the code/ sources of a mobile archive, leaving the
// payload in bytecode.pkl alone: what _load_for_lite_interpreter runs.
func onlyBytecode(t testing.TB, b []byte) []byte {
	return rezip(t, b, func(n string, d []byte) (string, []byte, bool) {
		if strings.HasSuffix(n, ".py") {
			return n, []byte("class Evil(Module):\n  __parameters__ = []\n"), true
		}
		return n, d, true
	})
}
