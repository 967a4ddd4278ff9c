package pytorch

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

// maxCodeRead bounds how much of one TorchScript source is read, and
// maxCodeTotal all sources of one archive together.
const (
	maxCodeRead  = 8 << 20
	maxCodeTotal = 64 << 20
	maxTSReports = 50
)

// tsLoaders says who runs code that executes on load.
const tsLoaders = "torch.jit.load runs it while loading, and so does torch.load, which hands archives with a constants.pkl record to torch.jit.load (before torch 2.6 even with weights_only=True)"

// checkTorchScript reports that the archive carries TorchScript, which
// torch.jit.load compiles and the model's forward then runs, and judges
// the sources token by token (tscode.go).
func checkTorchScript(s *formats.Scope, a *archive.Archive, code []*archive.Member) {
	s.Reportf("pytorch/torchscript", formats.Medium, formats.NoOffset,
		"the archive is a TorchScript module with %d code members; torch.jit.load compiles that code and calling the model runs it, so review it as code", len(code))
	s.Detail("torchscript_files", fmt.Sprint(len(code)))
	prog := newTSProgram()
	var total int64
	for _, m := range code {
		// torch's reader looks records up case-insensitively (miniz
		// without MZ_ZIP_FLAG_CASE_SENSITIVE): CODE/x.PY is source too.
		low := strings.ToLower(m.Name)
		if !strings.HasSuffix(low, ".py") {
			if !strings.HasSuffix(low, ".debug_pkl") && !strings.HasSuffix(low, ".pkl") {
				scanGeneric(s, a, m)
			}
			continue
		}
		r, n, err := a.Open(m)
		if err != nil {
			continue
		}
		if n > maxCodeRead || total+n > maxCodeTotal {
			// Fail closed: code not read cannot be shown harmless.
			s.Report(formats.Finding{Rule: "pytorch/torchscript-too-large", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the TorchScript source is %d bytes, past the %d bytes read per member (%d per archive); it is not checked", n, maxCodeRead, maxCodeTotal)})
			archive.Release(r)
			continue
		}
		total += n
		buf := make([]byte, n)
		k, _ := r.ReadAt(buf, 0)
		archive.Release(r)
		toks, err := tokenize(string(buf[:k]))
		if err != nil {
			// pytorch/torchscript-unparseable: source modelvet cannot
			// tokenize cannot be judged; torch's lexer may read it.
			s.Report(formats.Finding{Rule: "pytorch/torchscript-unparseable", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the TorchScript source cannot be tokenized (%v); what it does cannot be checked", err)})
			continue
		}
		prog.add(m.Name, toks)
	}
	n := 0
	for _, f := range prog.findings() {
		if n++; n > maxTSReports {
			s.Reportf("pytorch/torchscript-system-call", formats.High, formats.NoOffset, "more TorchScript findings follow; only the first %d are listed", maxTSReports)
			break
		}
		s.Report(tsReport(f))
	}
}

func tsReport(f tsFinding) formats.Finding {
	u := f.use
	where := fmt.Sprintf("%q in %s", u.text, f.fn)
	switch {
	case u.what == "custom-op":
		// pytorch/torchscript-custom-op: native code from outside the
		// file; on load it cannot be shown harmless.
		sev := formats.Medium
		when := "when the model is called"
		if f.onLoad {
			sev, when = formats.High, "while the archive loads ("+tsLoaders+")"
		}
		return formats.Finding{Rule: "pytorch/torchscript-custom-op", Severity: sev, Member: f.member, Offset: int64(f.off),
			Message: fmt.Sprintf("the TorchScript code uses %s, which may run %s: %s", where, when, u.reason)}
	case u.what == "dynamic-attribute":
		// pytorch/torchscript-dynamic-attribute: getattr with a computed
		// or dunder name, a way to reach what a literal name cannot.
		return formats.Finding{Rule: "pytorch/torchscript-dynamic-attribute", Severity: formats.High, Member: f.member, Offset: int64(f.off),
			Message: fmt.Sprintf("the TorchScript code uses %s: %s", where, u.reason)}
	case f.onLoad:
		// pytorch/torchscript-load-time-system-call: __setstate__ (or
		// what it can reach) touching files, processes, the network or
		// native code: loading the model does it (a file write via
		// torch.from_file(shared=True) is the proven case).
		return formats.Finding{Rule: "pytorch/torchscript-load-time-system-call", Severity: formats.Critical, Member: f.member, Offset: int64(f.off),
			Message: fmt.Sprintf("the TorchScript code uses %s, which may run while the archive loads (%s): %s (%s access)", where, tsLoaders, u.reason, u.what)}
	default:
		// pytorch/torchscript-system-call: the same access from code that
		// runs when the model is called.
		return formats.Finding{Rule: "pytorch/torchscript-system-call", Severity: formats.High, Member: f.member, Offset: int64(f.off),
			Message: fmt.Sprintf("the TorchScript code uses %s, which runs when the model is called: %s (%s access)", where, u.reason, u.what)}
	}
}
