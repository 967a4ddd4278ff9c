package hf

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/refpath"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// isModulesJSON: sentence-transformers' modules.json, a JSON list whose
// entries name the Python class of each pipeline stage.
func isModulesJSON(name string) bool { return strings.EqualFold(name, "modules.json") }

// checkModulesJSON: sentence-transformers imports each entry's "type" with
// import_from_string and calls its load(path). A type outside the
// sentence_transformers package is code the library did not ship: a
// module in this repository (custom_st.Transformer, run with
// trust_remote_code) or any importable module whose .load does something
// else (torch.jit.load of a file in the folder).
func checkModulesJSON(s *formats.Scope, b []byte) {
	v, dups, err := jsonx.ParsePython(b, jsonx.Limits{MaxDepth: 32, MaxNodes: 1 << 16})
	for _, d := range dups {
		s.Reportf("hf/duplicate-key", formats.High, int64(d.Off), "the key %q appears twice in one modules.json entry; readers disagree on which module is loaded", d.Key)
	}
	if err != nil {
		s.Reportf("hf/invalid-json", formats.Medium, formats.NoOffset, "modules.json is not valid JSON (%v); sentence-transformers cannot load the model and its modules were not checked", err)
		return
	}
	if v.Kind != jsonx.Array {
		return
	}
	for i, e := range v.Vals {
		if p := e.Get("path"); p != nil && p.Kind == jsonx.String && p.Str != "" {
			if sev, why := refpath.Problem(p.Str); why != "" {
				// hf/module-path-escape. Attack class: a stage loaded from
				// outside the model folder. sentence-transformers joins
				// "path" to the folder with os.path.join (load_dir_path),
				// which keeps ".." and returns an absolute path as is: the
				// stage's config and weights come from files never scanned.
				s.Report(formats.Finding{Rule: "hf/module-path-escape", Severity: sev, Member: fmt.Sprintf("modules.json/%d/path", i), Offset: int64(p.Off),
					Message: fmt.Sprintf("sentence-transformers loads this stage from %q: %s", truncate(p.Str), why)})
			}
		}
		t := e.Get("type")
		if t == nil || t.Kind != jsonx.String {
			continue
		}
		typ := t.Str
		if stClass(typ) {
			continue
		}
		s.Report(formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Member: fmt.Sprintf("modules.json/%d/type", i), Offset: int64(t.Off),
			Message: fmt.Sprintf("sentence-transformers imports %q for this stage and calls its load(); it is not a sentence_transformers module, so loading runs code from this repository or from that module. Review it, or load without trust_remote_code", truncate(typ))})
	}
}

// stClass reports a class of the sentence_transformers package
// ("sentence_transformers.models.Transformer"). Attack class: a re-export
// under the package's name. import_from_string resolves the last
// component as an attribute, so "sentence_transformers.util.torch" is the
// torch module, whose load() then unpickles the stage's path; a class
// (capitalized, reached through lower-case modules) is what the library
// ships as a stage.
func stClass(typ string) bool {
	rest, ok := strings.CutPrefix(typ, "sentence_transformers.")
	if !ok {
		return false
	}
	parts := strings.Split(rest, ".")
	for i, p := range parts {
		if p == "" || strings.HasPrefix(p, "_") {
			return false
		}
		upper := p[0] >= 'A' && p[0] <= 'Z'
		if upper != (i == len(parts)-1) {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
