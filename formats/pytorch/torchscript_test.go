package pytorch_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestTorchScriptPickles: the pickles of a torch.jit.save archive are
// read by TorchScript's C++ unpickler (torch.load hands archives with a
// constants.pkl to torch.jit.load), which resolves torch.jit._pickle
// builders and __torch__ classes without importing Python. Real scripted
// and traced modules must not fail on those names; Python names in the
// same pickles are still judged, and without constants.pkl the archive is
// read by Python's pickle, so __torch__ names are unknown imports.
func TestTorchScriptPickles(t *testing.T) {
	needPickle(t)
	traced := fixture(t, "torchscript_traced.pt")
	root := "torchscript_traced/"
	for _, c := range []struct {
		name string
		data []byte
		want string // rule at min or above; "" = nothing at High or above
		min  formats.Severity
	}{
		{"scripted module", fixture(t, "torchscript_tiny.pt"), "", 0},
		{"traced module with debug_pkl build_intlist", traced, "", 0},
		{"TorchScript archive whose data.pkl imports os.system", rezip(t, traced, func(n string, d []byte) (string, []byte, bool) {
			if n == root+"data.pkl" {
				d = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
			}
			return n, d, true
		}), "pickle/dangerous-import", formats.Critical},
		{"TorchScript debug_pkl reaching torch.jit.load", rezip(t, traced, func(n string, d []byte) (string, []byte, bool) {
			if n == root+"code/__torch__/torch/nn/modules/container.py.debug_pkl" {
				d = []byte("\x80\x02ctorch.jit\nload\nq\x00X\x01\x00\x00\x00xq\x01\x85q\x02Rq\x03.")
			}
			return n, d, true
		}), "pickle/dangerous-import", formats.Critical},
		{"__torch__ class dressed as a dunder", rezip(t, traced, func(n string, d []byte) (string, []byte, bool) {
			if n == root+"data.pkl" {
				d = []byte("\x80\x02c__torch__.x\n__reduce__\nq\x00.")
			}
			return n, d, true
		}), "pickle/dangerous-import", formats.Critical},
		{"no constants.pkl: torch.load reads data.pkl with Python's pickle", rezip(t, traced, func(n string, d []byte) (string, []byte, bool) {
			return n, d, n != root+"constants.pkl"
		}), "pickle/unknown-import", formats.High},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pt", c.data, nil)
			if c.want == "" {
				if got := formatstest.Rules(res, formats.High); len(got) > 0 {
					t.Fatalf("want nothing at high or above, got %s", formatstest.Describe(res))
				}
				if got := formatstest.Rules(res, formats.Medium); len(got) == 0 {
					t.Fatalf("want the TorchScript code reported, got %s", formatstest.Describe(res))
				}
				return
			}
			for _, r := range formatstest.Rules(res, c.min) {
				if r == c.want {
					return
				}
			}
			t.Fatalf("want %s at %s or above, got %s", c.want, c.min, formatstest.Describe(res))
		})
	}
}

// TorchScript code as torch.jit.script writes it for real modules (Silero
// VAD's nn.Sequential children and raise statements) is not a system
// call; the same shapes reaching Python still are.
func TestTorchScriptCodeShapes(t *testing.T) {
	needPickle(t)
	traced := fixture(t, "torchscript_traced.pt")
	member := "torchscript_traced/code/__torch__/torch/nn/modules/container.py"
	withCode := func(code string) []byte {
		return rezip(t, traced, func(n string, d []byte) (string, []byte, bool) {
			if n == member {
				d = []byte(code)
			}
			return n, d, true
		})
	}
	for _, c := range []struct {
		name string
		code string
		high bool
	}{
		{"nn.Sequential children (Silero VAD)", "def forward(self: __torch__.torch.nn.modules.container.Sequential,\n    x: Tensor) -> Tensor:\n    _0 = getattr(self, \"0\")\n    _1 = getattr(self, \"1\")\n    return (_1).forward((_0).forward(x, ), )\n", false},
		{"raise ValueError (Silero VAD)", "def forward(self, x: Tensor) -> Tensor:\n  if torch.gt(torch.dim(x), 2):\n    ops.prim.RaiseException(\"Too many dimensions for input audio chunk\", \"builtins.ValueError\")\n  return x\n", false},
		{"getattr of a dunder", "def forward(self, x: Tensor) -> Tensor:\n  _0 = getattr(self, \"__class__\")\n  return x\n", true},
		{"getattr with a computed name", "def forward(self, x: Tensor, n: str) -> Tensor:\n  _0 = getattr(self, n)\n  return x\n", true},
		{"builtins call outside a string", "def forward(self, x: Tensor) -> Tensor:\n  builtins.ValueError\"(x)\n  return x\n", true},
		{"exception name naming another callable", "def forward(self, x: Tensor) -> Tensor:\n  ops.prim.RaiseException(\"id\", \"builtins.exec\")\n  return x\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pt", withCode(c.code), nil)
			high := false
			for _, f := range res.Findings {
				high = high || (f.Rule == "pytorch/torchscript-system-call" && f.Severity >= formats.High)
			}
			if high != c.high {
				t.Errorf("want system call reported: %v, got %s", c.high, formatstest.Describe(res))
			}
		})
	}
}
