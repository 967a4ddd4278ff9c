package hf

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
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
		t := e.Get("type")
		if t == nil || t.Kind != jsonx.String {
			continue
		}
		typ := t.Str
		if strings.HasPrefix(typ, "sentence_transformers.") {
			continue
		}
		s.Report(formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Member: fmt.Sprintf("modules.json/%d/type", i), Offset: int64(t.Off),
			Message: fmt.Sprintf("sentence-transformers imports %q for this stage and calls its load(); it is not a sentence_transformers module, so loading runs code from this repository or from that module. Review it, or load without trust_remote_code", truncate(typ))})
	}
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
