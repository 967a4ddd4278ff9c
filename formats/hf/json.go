// Package hf checks Hugging Face model folders and their JSON files: code
// a loader would run with trust_remote_code (auto_map, *.py), chat
// templates in tokenizer_config.json / chat_template.json, and the local
// Hugging Face cache's content-addressed blobs.
package hf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/hydra"
	"github.com/modelvet/modelvet/formats/modelcard"
	"github.com/modelvet/modelvet/formats/template"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// licenseKeys are the top-level keys of a JSON config that declare its
// licence (the model card's names).
var licenseKeys = map[string]bool{"license": true, "license_name": true, "license_link": true}

// maxJSON caps the JSON files analyzed (tokenizer.json of large
// vocabularies is ~30 MB).
const maxJSON = 64 << 20

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "json-config",
		Extensions: []string{".json"},
		Priority:   3,
		Sniff: func(p *formats.Probe) bool {
			if p.Ext() != ".json" {
				return false
			}
			head := p.Head
			if len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF {
				head = head[3:]
			}
			for _, c := range head {
				switch c {
				case ' ', '\t', '\r', '\n':
					continue
				case '{':
					return true
				case '[':
					return isModulesJSON(p.Name)
				}
				return false
			}
			return false
		},
		Analyze: analyzeJSON,
	})
}

func analyzeJSON(s *formats.Scope, r io.ReaderAt, size int64) {
	if size > maxJSON {
		s.Detail("json", fmt.Sprintf("not analyzed: %d bytes is over the %d-byte limit", size, maxJSON))
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	// A UTF-8 byte-order mark is accepted by Python's json only via
	// utf-8-sig; transformers opens with utf-8 and fails. Skip it to see
	// the content, but say so.
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		s.Reportf("hf/json-bom", formats.Low, 0, "the file starts with a UTF-8 byte-order mark, which Python's json refuses")
		b = b[3:]
	}
	if t := strings.TrimLeft(string(b[:min(len(b), 64)]), " \t\r\n"); strings.HasPrefix(t, "[") {
		checkModulesJSON(s, b)
		return
	}
	// Streamed: a 30 MB tokenizer.json is walked for its strings without
	// building its tree; only auto_map and chat_template are kept whole.
	keep := func(k string) bool { return k == "auto_map" || k == "chat_template" || k == "custom_pipelines" }
	pyrefs := hydra.NewPyrefs(s)
	lines, linesOrder := map[string]string{}, []string(nil)
	visit := func(path []string, idx []bool, v *jsonx.Value) {
		// A string under _target_ / class_path anywhere, and fiddle's
		// pyref objects (NeMo 2 context/io.json), are what a config
		// loader imports and calls (CVE-2025-23304 class).
		if last := len(path) - 1; !idx[last] && hydra.TargetKeys[path[last]] {
			hydra.ReportTarget(s, strings.Join(path, "/"), path[last], v.Str, int64(v.Off))
		}
		if len(path) == 1 && !idx[0] && licenseKeys[path[0]] {
			// config.json's own licence (some exporters write one), for
			// the ML-BOM; the same detail keys as a model card's.
			if c := modelcard.Clean(v.Str); c != "" {
				s.Detail(path[0], c)
			}
		}
		pyrefs.Visit(path, idx, v.Str)
		hydra.CheckValue(s, strings.Join(path, "/"), v.Str)
		if path[0] == "chat_template" {
			return // checked below with the template's name
		}
		if n := len(path); n >= 2 && idx[n-1] && !idx[n-2] && path[n-2] == "chat_template" {
			// A line of a chat template written as a list of strings
			// (nested, as in a server config): joined below.
			p := strings.Join(path[:n-1], "/")
			if _, ok := lines[p]; !ok {
				linesOrder = append(linesOrder, p)
			}
			lines[p] += v.Str
			template.ReportValue(s, strings.Join(path, "/"), "", v.Str)
			return
		}
		key := ""
		for i := len(path) - 1; i >= 0; i-- {
			if !idx[i] {
				key = path[i]
				break
			}
		}
		if !template.IsTemplateKey(key) && !strings.Contains(v.Str, "{{") && !strings.Contains(v.Str, "{%") {
			return
		}
		template.ReportValue(s, strings.Join(path, "/"), key, v.Str)
	}
	var autoMap, chat, pipes *jsonx.Value
	end, dups, err := jsonx.Stream(b, jsonx.Limits{MaxDepth: 128, MaxNodes: 1 << 20}, keep, visit, func(k string, _ int, v *jsonx.Value) {
		switch k {
		case "auto_map":
			autoMap = v
		case "chat_template":
			chat = v
		case "custom_pipelines":
			pipes = v
		}
	})
	for _, d := range dups {
		sev := formats.Medium
		if template.IsTemplateKey(d.Key) || hydra.TargetKeys[d.Key] || d.Key == "auto_map" || strings.Contains(d.Path, "auto_map") {
			sev = formats.High
		}
		s.Report(formats.Finding{Rule: "hf/duplicate-key", Severity: sev, Member: strings.TrimPrefix(d.Path+"/"+d.Key, "/"), Offset: int64(d.Off),
			Message: fmt.Sprintf("the key %q appears twice in the same object; Python keeps the last value while other readers keep the first, so they disagree on what the file says", d.Key)})
	}
	if err == nil {
		for i := end; i < len(b); i++ {
			if c := b[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				err = &jsonx.Error{Off: i, Msg: "content after the end of the top-level object"}
				break
			}
		}
	}
	if err != nil {
		sev := formats.Low
		if isConfigName(filepath.Base(s.Path())) || s.Member() != "" {
			sev = formats.Medium
		}
		off := int64(formats.NoOffset)
		if e, ok := err.(*jsonx.Error); ok {
			off = int64(e.Off)
		}
		s.Reportf("hf/invalid-json", sev, off, "the file is not valid JSON (%v); a loader reading it fails, and its templates were not all checked", err)
		return
	}
	// A chat_template that is a list of strings is one template written
	// line by line: the loaders that accept it join the lines
	// (llama-cpp-python's server example, normalize_chat_template:
	// "".join(value)), so the joined text is the template, judged in full;
	// a comment or an attribute name split over two lines is only whole
	// there. Each line is still judged as a bare value, for a loader that
	// took one alone. Nested ones were gathered while streaming.
	for _, p := range linesOrder {
		template.ReportValue(s, p+" (lines joined)", "chat_template", lines[p])
	}
	if lines, ok := stringList(chat); ok {
		template.ReportValue(s, "chat_template (lines joined)", "chat_template", lines)
		walk(chat, "chat_template", "", func(path, key string, v *jsonx.Value) {
			template.ReportValue(s, path, key, v.Str)
		}, 0)
	} else if chat != nil {
		names := templateNames(chat)
		walk(chat, "chat_template", "chat_template", func(path, key string, v *jsonx.Value) {
			if n, ok := names[path]; ok {
				path = n
			}
			template.ReportValue(s, path, key, v.Str)
		}, 0)
	}
	if autoMap != nil {
		reportAutoMap(s, autoMap)
	}
	if pipes != nil {
		reportPipelines(s, pipes)
	}
	name := s.Member()
	if name == "" {
		name = s.Path()
	}
	checkLoaderConfig(s, name, b)
}

// reportPipelines: config.json "custom_pipelines" maps a task to an
// "impl" class that transformers.pipeline() imports from the repository's
// Python files when trust_remote_code=True, exactly like auto_map.
func reportPipelines(s *formats.Scope, p *jsonx.Value) {
	var impls []string
	walk(p, "custom_pipelines", "custom_pipelines", func(path, key string, v *jsonx.Value) {
		if key == "impl" || strings.HasSuffix(key, "_class") || strings.Contains(v.Str, "--") {
			impls = append(impls, path+" -> "+v.Str)
		}
	}, 0)
	if p.Kind != jsonx.Object || len(p.Keys) == 0 {
		return
	}
	sort.Strings(impls)
	s.Report(formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Member: "custom_pipelines", Offset: int64(p.Off),
		Message: "config.json defines custom pipelines whose implementation transformers imports from Python code when trust_remote_code=True: " + strings.Join(impls, "; ") + ". Review the code, or load without trust_remote_code."})
}

// templateNames maps the JSON pointer of each named template in a
// chat_template list ([{"name": "tool_use", "template": "..."}]) to a
// member name people recognize: chat_template[tool_use].
// stringList joins a non-empty array made only of strings.
func stringList(v *jsonx.Value) (string, bool) {
	if v == nil || v.Kind != jsonx.Array || len(v.Vals) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, e := range v.Vals {
		if e.Kind != jsonx.String {
			return "", false
		}
		b.WriteString(e.Str)
	}
	return b.String(), true
}

func templateNames(ct *jsonx.Value) map[string]string {
	out := map[string]string{}
	if ct == nil || ct.Kind != jsonx.Array {
		return out
	}
	for i, e := range ct.Vals {
		if n := e.Get("name"); n != nil && n.Kind == jsonx.String {
			out[fmt.Sprintf("chat_template/%d/template", i)] = "chat_template[" + n.Str + "]"
		}
	}
	return out
}

func isConfigName(name string) bool {
	switch strings.ToLower(name) {
	case "config.json", "tokenizer_config.json", "generation_config.json", "chat_template.json",
		"preprocessor_config.json", "processor_config.json", "special_tokens_map.json":
		return true
	}
	return false
}

// walk visits every string value with its JSON pointer and the key it is
// stored under (for array elements, the key of the array).
func walk(v *jsonx.Value, path, key string, fn func(path, key string, v *jsonx.Value), depth int) {
	if v == nil || depth > 128 {
		return
	}
	switch v.Kind {
	case jsonx.String:
		fn(strings.TrimPrefix(path, "/"), key, v)
	case jsonx.Object:
		for i, k := range v.Keys {
			walk(v.Vals[i], path+"/"+k, k, fn, depth+1)
		}
	case jsonx.Array:
		for i, c := range v.Vals {
			walk(c, fmt.Sprintf("%s/%d", path, i), key, fn, depth+1)
		}
	}
}

// reportAutoMap: an auto_map entry is a class a loader imports from Python
// code when trust_remote_code=True: from a .py file beside the config, or,
// as "org/repo--module.Class", from another repository fetched at load time.
func reportAutoMap(s *formats.Scope, am *jsonx.Value) {
	var local, remote []string
	missing := map[string]bool{}
	dir := ""
	if s.OnDisk() {
		dir = filepath.Dir(s.Path())
	}
	add := func(auto, ref string) {
		if ref == "" {
			return
		}
		if i := strings.Index(ref, "--"); i >= 0 {
			remote = append(remote, fmt.Sprintf("%s -> %s (code from the repository %s)", auto, ref, ref[:i]))
			return
		}
		local = append(local, auto+" -> "+ref)
		if mod := strings.TrimSuffix(ref, filepath.Ext(ref)); dir != "" && mod != "" {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(mod, ".", "/"))+".py")); err != nil {
				missing[mod+".py"] = true
			}
		}
	}
	if am.Kind != jsonx.Object {
		s.Reportf("hf/remote-code", formats.High, int64(am.Off), "auto_map is present (a JSON %s); loading with trust_remote_code=True would import code named by it", am.Kind)
		return
	}
	for i, k := range am.Keys {
		v := am.Vals[i]
		switch v.Kind {
		case jsonx.String:
			add(k, v.Str)
		case jsonx.Array:
			for _, e := range v.Vals {
				if e.Kind == jsonx.String {
					add(k, e.Str)
				}
			}
		}
	}
	if len(local) == 0 && len(remote) == 0 {
		return
	}
	msg := "loading this model with trust_remote_code=True runs Python code: "
	parts := append(append([]string{}, local...), remote...)
	sort.Strings(parts)
	msg += strings.Join(parts, "; ")
	if len(missing) > 0 {
		var m []string
		for k := range missing {
			m = append(m, k)
		}
		sort.Strings(m)
		msg += fmt.Sprintf(". Not in the folder (would be downloaded at load time, unscanned): %s", strings.Join(m, ", "))
	}
	if len(remote) > 0 {
		msg += ". Entries with '--' fetch code from another repository than this model's"
	}
	s.Report(formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Member: "auto_map", Offset: int64(am.Off), Message: msg + ". Review the code, or load without trust_remote_code."})
}
