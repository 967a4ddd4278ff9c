// Package torchserve reads TorchServe model archives (.mar): a zip (or a
// tar.gz with --archive-format tgz) with MAR-INF/MANIFEST.json. Loading a
// .mar imports its handler and model-definition Python files and, with
// install_py_dep_per_model, pip-installs its requirements file, so a .mar
// with code members is code. The serialized model inside is scanned as
// what it is.
package torchserve

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/internal/jsonx"
)

const manifestName = "MAR-INF/MANIFEST.json"

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "torchserve",
		Kinds:    []string{"zip", "tar"},
		Priority: 30,
		Match:    func(a *archive.Archive) bool { _, ok := rootOf(a); return ok },
		Analyze:  analyze,
	})
}

// rootOf returns where the archive's model folder starts: "" when
// MAR-INF/MANIFEST.json is at the root (zip), "name/" when one top folder
// holds it (--archive-format tgz).
func rootOf(a *archive.Archive) (string, bool) {
	if find(a, manifestName) != nil {
		return "", true
	}
	for _, m := range a.Members {
		n := clean(m.Name)
		if dir, ok := strings.CutSuffix(n, "/"+manifestName); ok && !m.IsDir && !m.IsLink && dir != "" && !strings.Contains(dir, "/") {
			return dir + "/", true
		}
	}
	return "", false
}

// rebase presents the members under root as if root were the archive's
// root, as TorchServe sees the extracted model folder.
func rebase(a *archive.Archive, root string) *archive.Archive {
	if root == "" {
		return a
	}
	orig := map[*archive.Member]*archive.Member{}
	members := make([]*archive.Member, 0, len(a.Members))
	for _, m := range a.Members {
		c := *m
		if rest, ok := strings.CutPrefix(clean(m.Name), root); ok && rest != "" {
			c.Name = rest
		}
		members = append(members, &c)
		orig[&c] = m
	}
	return archive.New(a.Kind, members, func(m *archive.Member) (io.ReaderAt, int64, error) { return a.Open(orig[m]) })
}

func find(a *archive.Archive, name string) *archive.Member {
	for _, m := range a.Members {
		if !m.IsDir && !m.IsLink && clean(m.Name) == name {
			return m
		}
	}
	return nil
}

func clean(n string) string { return path.Clean(strings.TrimPrefix(n, "./")) }

// builtinHandlers are the handlers TorchServe ships: the Python ones in
// ts/torch_handler (pytorch/serve) and the C++ backend's factory
// (cpp/src/backends/handler/handler_factory.hh). Naming one runs
// TorchServe's own code, not the archive's.
var builtinHandlers = map[string]bool{
	"base_handler": true, "image_classifier": true, "image_segmenter": true, "object_detector": true,
	"text_classifier": true, "vision_handler": true, "text_handler": true, "densenet_handler": true,
	"dali_handler": true, "dali_image_classifier": true, "trt_llm_handler": true, "vllm_handler": true,
	"distributed.base_deepspeed_handler": true, "distributed.base_pippy_handler": true,
	"TorchScriptHandler": true,
}

// codeExts are member names Python imports or the loader maps as native
// code once the archive is extracted onto the model store's sys.path.
var codeExts = map[string]bool{".py": true, ".pyc": true, ".so": true, ".pyd": true, ".dll": true, ".dylib": true, ".pth": false}

const maxManifest = 1 << 20

type manifest struct {
	handler, modelFile, serialized, requirements string
	extensions                                   []string
}

func analyze(s *formats.Scope, a *archive.Archive) {
	s.SetFormat("torchserve")
	judge(s, a, true)
}

// judge reports what loading the archive runs; scan says whether to scan
// the members too (not for a folder, whose files the walk scans itself).
func judge(s *formats.Scope, a *archive.Archive, scan bool) {
	root, _ := rootOf(a)
	a = rebase(a, root)
	man := readManifest(s, a)
	shipped := "" // the handler file, when the archive ships it
	if man.handler != "" {
		mod := man.handler
		if i := strings.LastIndexByte(mod, ':'); i >= 0 {
			mod = mod[:i] // "handler.py:handle" names a function of the file
		}
		short := strings.TrimPrefix(strings.TrimSuffix(mod, ".py"), "ts.torch_handler.")
		switch {
		case builtinHandlers[short] && find(a, short+".py") == nil:
			s.Detail("handler", short+" (built into TorchServe)")
		default:
			// "handler.py", "pkg.handler" (a module path) or, for the
			// C++ backend, "libx_handler" (libx_handler.so).
			file := mod
			if !strings.HasSuffix(file, ".py") {
				file = strings.ReplaceAll(file, ".", "/") + ".py"
				if find(a, clean(file)) == nil && find(a, mod+".so") != nil {
					file = mod + ".so"
				}
			}
			if find(a, clean(file)) != nil {
				shipped = clean(file)
				// Attack class: the handler module is imported when the
				// model is registered, so its top level runs as the server.
				s.Reportf("torchserve/handler-code", formats.High, formats.NoOffset,
					"the archive's handler %q is code shipped in the archive (%s); TorchServe imports (or, for the C++ backend, loads) and runs it when the model is loaded. Review it before serving", man.handler, file)
			} else {
				// Attack class: a handler that is neither built in nor
				// shipped is imported from whatever the server has on
				// sys.path (or a later-installed requirement).
				s.Reportf("torchserve/handler-code", formats.High, formats.NoOffset,
					"the archive's handler %q is not a TorchServe built-in and not in the archive; TorchServe imports it from the server's environment when the model is loaded", man.handler)
			}
		}
	}
	if man.requirements != "" {
		// Attack class: pip install of attacker-chosen packages (setup.py
		// runs) when install_py_dep_per_model is on.
		s.Reportf("torchserve/requirements", formats.High, formats.NoOffset,
			"the archive ships a requirements file (%s); with install_py_dep_per_model TorchServe pip-installs it, running the packages' install code", man.requirements)
	}
	for _, name := range append([]string{man.serialized, man.modelFile, man.requirements}, man.extensions...) {
		if name != "" && find(a, clean(name)) == nil {
			s.Reportf("torchserve/missing-member", formats.Medium, formats.NoOffset,
				"the manifest names %q but the archive has no such member; the loader would fail or fetch it from elsewhere", name)
		}
	}
	var extra []string
	for _, m := range a.Members {
		if m.IsDir || m.IsLink {
			continue
		}
		n := clean(m.Name)
		if codeExts[strings.ToLower(path.Ext(n))] {
			if n != shipped {
				extra = append(extra, n)
			}
			continue
		}
		if n == manifestName || !scan {
			continue
		}
		r, size, err := a.Open(m)
		if err != nil {
			continue
		}
		s.ScanMember(m.Name, r, size)
		archive.Release(r)
	}
	sort.Strings(extra)
	for i, n := range extra {
		if i == 25 {
			s.Reportf("torchserve/code-member", formats.High, formats.NoOffset, "%d more code members were not listed", len(extra)-25)
			break
		}
		// Attack class: Python or native code extracted next to the
		// handler on its import path: the handler (or Python's import
		// system, for a module shadowing a standard one) runs it.
		s.Report(formats.Finding{Rule: "torchserve/code-member", Severity: formats.High, Member: n, Offset: formats.NoOffset,
			Message: "the archive ships code (" + path.Ext(n) + ") that is extracted onto the handler's import path when the model is loaded; it cannot be shown safe"})
	}
}

func readManifest(s *formats.Scope, a *archive.Archive) manifest {
	var man manifest
	m := find(a, manifestName)
	r, size, err := a.Open(m)
	if err != nil {
		return man
	}
	defer archive.Release(r)
	bad := func(format string, args ...any) {
		// Attack class: a manifest the scanner and TorchServe read
		// differently hides which handler runs.
		s.Reportf("torchserve/invalid-manifest", formats.High, formats.NoOffset, "MAR-INF/MANIFEST.json "+format+"; which code the archive runs cannot be determined", args...)
	}
	if size > maxManifest {
		bad("is %d bytes, over the %d-byte limit", size, maxManifest)
		return man
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		bad("cannot be read (%v)", err)
		return man
	}
	v, dups, err := jsonx.ParsePython(b, jsonx.Limits{MaxDepth: 32, MaxNodes: 1 << 16})
	if err != nil {
		bad("is not valid JSON (%v)", err)
		return man
	}
	if len(dups) > 0 {
		bad("repeats the key %q at %s (readers disagree on which value counts)", dups[0].Key, "/"+dups[0].Path)
	}
	model := v.Get("model")
	str := func(k string) string {
		if x := model.Get(k); x != nil && x.Kind == jsonx.String {
			return x.Str
		}
		return ""
	}
	man.handler, man.modelFile, man.serialized = str("handler"), str("modelFile"), str("serializedFile")
	man.requirements = str("requirementsFile")
	if man.requirements == "" {
		if x := v.Get("requirementsFile"); x != nil && x.Kind == jsonx.String {
			man.requirements = x.Str
		}
	}
	if ext := str("extensions"); ext != "" {
		for _, e := range strings.Split(ext, ",") {
			if e = strings.TrimSpace(e); e != "" {
				man.extensions = append(man.extensions, e)
			}
		}
	}
	for _, k := range []string{"handler", "modelFile", "serializedFile"} {
		s.Detail(k, fmt.Sprintf("%.120s", str(k)))
	}
	return man
}
