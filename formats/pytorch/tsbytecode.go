package pytorch

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

// Mobile TorchScript (torch.jit.mobile._load_for_lite_interpreter, .ptl
// files) runs bytecode.pkl, not code/: each method's instructions call
// operators named by strings ("aten::from_file", "myns::run"), and
// __setstate__ runs on load as with torch.jit.load (proved: a .ptl saved
// from the malicious fixture writes its file under the lite loader). The
// names are literal strings in the pickle (the TorchScript unpickler builds
// no strings): every string literal the stream may hold (a BINUNICODE,
// SHORT_BINUNICODE or BINUNICODE8 at any offset, a superset of those the
// unpickler reads) that is exactly an operator name is judged with the
// same capability table as source code.
var opNameRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)::([A-Za-z_][A-Za-z0-9_]*)$`)

const bytecodeLoader = "torch.jit.mobile._load_for_lite_interpreter runs it"

func checkBytecode(s *formats.Scope, a *archive.Archive, m *archive.Member) {
	r, n, err := a.Open(m)
	if err != nil {
		return
	}
	defer archive.Release(r)
	if n > maxCodeRead {
		s.Report(formats.Finding{Rule: "pytorch/torchscript-too-large", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
			Message: fmt.Sprintf("the mobile bytecode is %d bytes, past the %d read; its operators are not checked", n, maxCodeRead)})
		return
	}
	buf := make([]byte, n)
	k, _ := r.ReadAt(buf, 0)
	buf = buf[:k]
	ops, onLoad := bytecodeOps(buf)
	reported := 0
	for _, op := range ops {
		ns, name, p := op.ns, op.name, op.off
		what, reason := capability("torch", []string{"torch", "ops", ns, name}, false, true)
		if what == "" {
			continue
		}
		if reported++; reported > maxTSReports {
			break
		}
		f := tsFinding{member: m.Name, off: p, onLoad: onLoad, fn: "the mobile bytecode",
			use: tsUse{text: ns + "::" + name, what: what, reason: reason}}
		rep := tsReport(f)
		rep.Message += " (" + bytecodeLoader + ")"
		s.Report(rep)
	}
}

// bcOp is one operator name found in mobile bytecode.
type bcOp struct {
	ns, name string
	off      int
}

// bytecodeOps lists the distinct operator names held by string literals
// in a bytecode.pkl, and whether it defines a __setstate__ (which the
// lite interpreter runs on load).
func bytecodeOps(buf []byte) ([]bcOp, bool) {
	onLoad := strings.Contains(string(buf), "__setstate__")
	seen := map[string]bool{}
	var out []bcOp
	for p := 0; p < len(buf); p++ {
		var hdr, l int
		switch buf[p] {
		case 'X': // BINUNICODE
			if p+5 > len(buf) {
				continue
			}
			hdr, l = 5, int(min(binary.LittleEndian.Uint32(buf[p+1:]), 1<<20))
		case 0x8c: // SHORT_BINUNICODE
			if p+2 > len(buf) {
				continue
			}
			hdr, l = 2, int(buf[p+1])
		case 0x8d: // BINUNICODE8
			if p+9 > len(buf) {
				continue
			}
			hdr, l = 9, int(min(binary.LittleEndian.Uint64(buf[p+1:]), 1<<20))
		default:
			continue
		}
		if l < 4 || l > 256 || p+hdr+l > len(buf) {
			continue
		}
		sm := opNameRe.FindSubmatch(buf[p+hdr : p+hdr+l])
		if sm == nil {
			continue
		}
		key := string(sm[0])
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, bcOp{ns: string(sm[1]), name: string(sm[2]), off: p})
	}
	return out, onLoad
}
