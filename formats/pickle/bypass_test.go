package pickle_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
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
