package pytorch

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats/pickle"
)

// Which loader reads which pickle record of a torch zip. A finding must
// say who runs it and be as severe as that makes it: torch.load reads
// only <root>/data.pkl (serialization.py, _load's pickle_file), and hands
// an archive with a constants.pkl record to torch.jit.load, which reads
// constants.pkl and data.pkl (import.cpp, ScriptModuleDeserializer::
// deserialize: readArchive("constants"), readArchive("data")), the
// code/*.debug_pkl source ranges of the code it compiles, and
// traced_inputs.pkl when asked to restore shapes; PyTorch Mobile's lite
// interpreter reads bytecode.pkl and mobile_debug_handles.pkl. Attack
// class: a payload hidden in a record no loader reads (extra.pkl beside
// data.pkl). Nothing runs it on load, but a tool that opens every .pkl
// would, and it is content the checkpoint does not account for: it is
// still scanned and reported, capped at High and labelled as read by no
// loader, like the pickles after data.pkl's first STOP.

// recordLoaders returns the pickle.Loaders of a .pkl record: lrel is its
// lower-cased name under the root; torchScript says torch.load hands the
// archive to torch.jit.load (an exact-case constants.pkl), jit that
// torch.jit.load can read it (a constants.pkl in any case: its lookup
// folds case).
func recordLoaders(root, lrel string, torchScript, jit bool) pickle.Loaders {
	const mobile = "torch.jit._load_for_lite_interpreter (PyTorch Mobile)"
	by := ""
	switch {
	case lrel == "data.pkl" && torchScript, lrel == "constants.pkl" && torchScript:
		by = pickle.TorchScriptLoader
	case lrel == "data.pkl" && jit:
		by = "torch.load (and torch.jit.load, which finds the case-variant constants.pkl)"
	case lrel == "data.pkl":
		by = "torch.load"
	case lrel == "constants.pkl":
		by = "torch.jit.load (its record lookup ignores case; torch.load's TorchScript test does not)"
	case jit && strings.HasPrefix(lrel, "code/") && strings.HasSuffix(lrel, ".debug_pkl"):
		by = "torch.jit.load, for the source ranges of the TorchScript code it compiles"
	case jit && lrel == "traced_inputs.pkl":
		by = "torch.jit.load(_restore_shapes=True)"
	case lrel == "bytecode.pkl", lrel == "mobile_debug_handles.pkl":
		by = mobile
	}
	if by != "" {
		// Each of these reads one pickle: what follows its STOP is
		// read by none (FirstOnly).
		return pickle.Loaders{Plain: by, FirstOnly: true}
	}
	return pickle.Loaders{Plain: "torch.load", Unread: fmt.Sprintf(
		"torch.load reads only %s/data.pkl, torch.jit.load only constants.pkl, data.pkl and code/*.debug_pkl, so no PyTorch loader opens this record; a tool that unpickles every .pkl member would run it, so it is content hidden from the real loaders", root)}
}
