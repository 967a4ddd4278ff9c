package pickle

import (
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// torchScriptGlobals are the globals of torch.jit._pickle that TorchScript
// writes into its pickles (data.pkl, constants.pkl, code/*.debug_pkl).
// Those pickles are read by TorchScript's C++ unpickler
// (torch/csrc/jit/serialization/unpickler.cpp), which never imports
// Python: it maps these names to built-in list and tensor constructors and
// resolves "__torch__.*" names to classes compiled from the archive's
// code/ folder. torch.load hands an archive with a constants.pkl record to
// torch.jit.load, so a real torch.jit.save file is never read by Python's
// pickle. The code those classes run is reviewed separately (pytorch's
// TorchScript check), so the names themselves are not findings there.
var torchScriptGlobals = map[string]bool{
	"build_intlist": true, "build_tensorlist": true, "build_doublelist": true, "build_boollist": true,
	"build_tensor_from_id": true, "restore_type_tag": true,
}

// torchScriptSafe reports whether module.name is a name the TorchScript
// unpickler resolves without Python. Anything else is judged by the usual
// policy (the C++ unpickler refuses unknown names, so a stray Python name
// is an anomaly worth the usual finding).
func torchScriptSafe(module, name string) bool {
	if module == "torch.jit._pickle" {
		return torchScriptGlobals[name]
	}
	if module == "__torch__" || strings.HasPrefix(module, "__torch__.") {
		// A TorchScript class: a plain identifier, in a module path that
		// reaches nothing the usual policy calls dangerous.
		return identPath(module) && identPath(name) && !strings.Contains(name, ".") &&
			!strings.HasPrefix(name, "__") && !isDangerous(module, name)
	}
	return false
}

// TorchScriptLoader is who reads data.pkl and constants.pkl of a
// TorchScript archive.
const TorchScriptLoader = "torch.jit.load (and torch.load, which hands TorchScript archives to it)"

// ScanTorchScript is Scan for a pickle of a TorchScript archive (one
// torch.load hands to torch.jit.load): TorchScript's own names
// (torch.jit._pickle builders, __torch__ classes) are judged safe, every
// other global as usual. Nested pickles are scanned with the usual policy.
// l.Plain names the loader that reads this record (TorchScriptLoader when
// empty); l.Unread, when set, says why none does (findings capped at
// High, as for Loaders.Unread).
func ScanTorchScript(s *formats.Scope, r io.ReaderAt, size int64, l Loaders) *Result {
	sc := newScanner(s, r, size, 0, &shared{})
	sc.torchScript = true
	if l.Plain == "" {
		l.Plain = TorchScriptLoader
	}
	sc.nestedBy(l.Plain)
	if l.Unread != "" {
		sc.unreadFrom, sc.unreadWhy = 0, l.Unread
	}
	sc.stream(0, false)
	sc.flush()
	sort.SliceStable(sc.res.Globals, func(i, j int) bool { return sc.res.Globals[i].Offset < sc.res.Globals[j].Offset })
	return sc.res
}
