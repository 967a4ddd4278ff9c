package pytorch

import (
	"fmt"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

// torch.package archives (torch.package.PackageExporter) are zips laid
// out like torch.save's, read by PackageImporter.load_pickle, which
// resolves every module a pickle names against the archive first
// (torch/package/package_importer.py _load_module): a module the archive
// holds as source is imported from it and run; only the names listed in
// .data/extern_modules come from the loading process. The import policy
// judges names, so in such an archive it judges the wrong code: a
// torch/_utils.py inside the archive makes the safe-listed
// torch._utils._rebuild_tensor_v2 run the archive's own module at load
// (proven live: formats/pickle/testdata/attacks/redteam2/torch_package_shadow.pt).
// Python source in a torch.package archive is code its loader runs, so it
// is reported; one that takes the name of a module outside the archive's
// own packages is reported as critical.
func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "torch-package",
		Kinds:    []string{"zip"},
		Priority: 110, // before "pytorch": a torch.package may carry a data.pkl too
		Match:    func(a *archive.Archive) bool { return packageRoot(a) != "" },
		Analyze:  analyzePackage,
	})
}

// packageRoot returns the record folder of a torch.package archive: the
// one holding .data/extern_modules (looked up case-insensitively, as
// torch's zip reader looks records up), or "".
func packageRoot(a *archive.Archive) string {
	for _, m := range a.Members {
		root, rel, ok := strings.Cut(m.Name, "/")
		if ok && root != "" && strings.EqualFold(rel, ".data/extern_modules") {
			return root
		}
	}
	return ""
}

// shadowableTops are top-level names of modules outside any model's own
// package that pickles name and the import policy judges (torch's and
// numpy's rebuild functions, the standard library's containers and
// reconstructors): archive source under one of them replaces what a
// safe-looking import means.
var shadowableTops = map[string]bool{
	"torch": true, "numpy": true, "collections": true, "builtins": true, "__builtin__": true, "copyreg": true,
	"copy_reg": true, "_codecs": true, "codecs": true, "datetime": true, "decimal": true, "fractions": true,
	"uuid": true, "pathlib": true, "joblib": true, "sklearn": true, "functools": true, "operator": true,
	"pickle": true, "_pickle": true, "os": true, "sys": true, "io": true, "types": true, "typing": true,
	"enum": true, "math": true, "random": true, "re": true, "struct": true, "array": true,
}

func analyzePackage(s *formats.Scope, a *archive.Archive) {
	root := packageRoot(a)
	var modules, shadows []string
	for _, m := range a.Members {
		rel, ok := cutFold(m.Name, root+"/")
		if !ok || m.IsDir || !strings.HasSuffix(strings.ToLower(rel), ".py") || strings.HasPrefix(rel, ".data/") {
			continue
		}
		mod := strings.TrimSuffix(strings.ReplaceAll(rel[:len(rel)-3], "/", "."), ".__init__")
		modules = append(modules, mod)
		top, _, _ := strings.Cut(mod, ".")
		if shadowableTops[top] {
			shadows = append(shadows, mod)
		}
	}
	sort.Strings(modules)
	s.Detail("torch_package_root", root)
	if len(shadows) > 0 {
		// pytorch/package-shadowed-module: torch.package source named like
		// a library module the policy trusts (safe-looking imports run it).
		s.Report(formats.Finding{Rule: "pytorch/package-shadowed-module", Severity: formats.Critical, Offset: formats.NoOffset,
			Message: fmt.Sprintf("this torch.package archive ships Python source named like modules outside it (%s): PackageImporter.load_pickle imports the archive's copy, so a pickle naming a trusted function there (torch._utils._rebuild_tensor_v2...) runs the archive's code", joinCapped(shadows, 8))})
	} else if len(modules) > 0 {
		// pytorch/package-code: torch.package source PackageImporter runs
		// when a pickle names it (the archive's own model code).
		s.Report(formats.Finding{Rule: "pytorch/package-code", Severity: formats.High, Offset: formats.NoOffset,
			Message: fmt.Sprintf("this torch.package archive ships Python modules (%s) that PackageImporter.load_pickle imports and runs when a pickle names them; that code was not checked", joinCapped(modules, 8))})
	}
	if zipRoot(a) != "" {
		analyzeZip(s, a) // also a torch.save checkpoint: torch.load reads it so
		return
	}
	archive.ScanMembers(s, a)
}

func joinCapped(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
