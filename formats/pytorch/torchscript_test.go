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
