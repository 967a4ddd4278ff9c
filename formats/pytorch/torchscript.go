package pytorch

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

// maxCodeRead bounds how much of one TorchScript source is read.
const maxCodeRead = 8 << 20

// systemOps are TorchScript-reachable operations that touch the system
// beyond tensors: reading or mapping files, loading native code, or Python
// escape hatches the TorchScript compiler rejects but a modified loader
// (or a later torch) might not. Each entry names why it is there.
var systemOps = []struct {
	re     *regexp.Regexp
	sev    formats.Severity
	reason string
}{
	{regexp.MustCompile(`\bfrom_file\s*\(`), formats.High, "torch.from_file maps an arbitrary file path into a tensor (and writes it when shared=True)"},
	{regexp.MustCompile(`\bload_library\s*\(`), formats.Critical, "loads a native shared library: arbitrary code"},
	{regexp.MustCompile(`\b(__import__|eval|exec|compile|getattr|globals|open)\s*\(`), formats.High, "a Python builtin that reaches the interpreter or the filesystem"},
	{regexp.MustCompile(`\b(os|subprocess|sys|builtins|socket|shutil|importlib|ctypes)\.[A-Za-z_]`), formats.High, "a Python system module"},
	{regexp.MustCompile(`\btorch\.ops\.([A-Za-z_][A-Za-z0-9_]*)\.`), formats.Medium, "a custom operator namespace, implemented by native code loaded outside the file"},
	{regexp.MustCompile(`\b(save|_save_for_mobile|_save_to_buffer)\s*\(`), formats.Medium, "writes data out"},
}

// attrGetattr is getattr on a module value with a constant attribute name
// that is no dunder: TorchScript compiles it to a plain attribute access
// (nn.Sequential's children "0", "1"...), nothing reaches Python.
var attrGetattr = regexp.MustCompile(`^getattr\(\s*[A-Za-z_][A-Za-z0-9_.]*\s*,\s*"[A-Za-z0-9]([A-Za-z0-9]|_[A-Za-z0-9])*_?"\s*\)`)

// exceptionName is the qualified name of a builtin exception class, which
// TorchScript writes as a string for every raise statement. Only
// builtins.*Error/*Exception/*Warning: builtins has no other callables
// with such names.
var exceptionName = regexp.MustCompile(`^builtins\.[A-Z][A-Za-z]*(Error|Exception|Warning)"`)

// inString reports whether pos lies inside a double-quoted string literal
// on its line (TorchScript's serializer writes one-line literals).
func inString(src string, pos int) bool {
	start := strings.LastIndexByte(src[:pos], '\n') + 1
	in := false
	for i := start; i < pos; i++ {
		switch src[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		}
	}
	return in
}

// standardOpNamespaces are built into torch itself.
var standardOpNamespaces = map[string]bool{"aten": true, "prim": true, "quantized": true, "_quantized": true, "torchvision": false, "profiler": true, "_caffe2": true}

// checkTorchScript reports that the archive carries TorchScript, which
// torch.jit.load compiles and the model's forward then runs, and looks in
// the sources for operations that reach outside tensors.
func checkTorchScript(s *formats.Scope, a *archive.Archive, code []*archive.Member) {
	s.Reportf("pytorch/torchscript", formats.Medium, formats.NoOffset,
		"the archive is a TorchScript module with %d code members; torch.jit.load compiles that code and calling the model runs it, so review it as code", len(code))
	s.Detail("torchscript_files", fmt.Sprint(len(code)))
	for _, m := range code {
		if !strings.HasSuffix(m.Name, ".py") {
			if !strings.HasSuffix(m.Name, ".debug_pkl") && !strings.HasSuffix(m.Name, ".pkl") {
				scanGeneric(s, a, m)
			}
			continue
		}
		r, n, err := a.Open(m)
		if err != nil {
			continue
		}
		if n > maxCodeRead {
			s.Report(formats.Finding{Rule: "pytorch/torchscript-too-large", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the TorchScript source is %d bytes, more than the %d read; the rest cannot be checked", n, maxCodeRead)})
			n = maxCodeRead
		}
		buf := make([]byte, n)
		k, _ := r.ReadAt(buf, 0)
		archive.Release(r)
		src := string(buf[:k])
		for _, op := range systemOps {
			for _, loc := range op.re.FindAllStringSubmatchIndex(src, 20) {
				text := src[loc[0]:loc[1]]
				if len(loc) >= 4 && loc[2] >= 0 && standardOpNamespaces[src[loc[2]:loc[3]]] {
					continue
				}
				if strings.HasSuffix(strings.TrimSpace(text), "getattr(") && attrGetattr.MatchString(src[loc[0]:min(len(src), loc[0]+300)]) {
					continue // TorchScript emits getattr(self, "0") for module attributes
				}
				if exceptionName.MatchString(src[loc[0]:min(len(src), loc[0]+100)]) && inString(src, loc[0]) {
					continue // raise ValueError(...) compiles to RaiseException(msg, "builtins.ValueError")
				}
				s.Report(formats.Finding{Rule: "pytorch/torchscript-system-call", Severity: op.sev, Member: m.Name, Offset: int64(loc[0]),
					Message: fmt.Sprintf("the TorchScript code uses %q: %s", strings.TrimSpace(text), op.reason)})
			}
		}
	}
}
