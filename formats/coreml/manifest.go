package coreml

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/refpath"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// An .mlpackage's Manifest.json says which file is the model:
// itemInfoEntries maps identifiers to {path, name, author, description},
// and rootModelIdentifier names the entry Core ML and coremltools load.
// coremltools' ModelPackage (modelpackage/src/ModelPackage.cpp, findItem
// and validate) joins each path to the package's Data folder with
// std::filesystem's operator/, which returns an absolute path unchanged
// and keeps "..": nothing stops an entry from leaving the package.
//
// Attack class: a package whose root model (or weights) is a file outside
// it. The scan judged the files in the package; the loader runs another
// model from wherever the manifest points (a shared folder, a download
// directory), or reads any file as weights.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "coreml-manifest",
		Extensions: []string{".json"},
		Priority:   10, // above the generic JSON config reader
		Sniff:      sniffManifest,
		Analyze:    analyzeManifest,
	})
}

func sniffManifest(p *formats.Probe) bool {
	return strings.EqualFold(filepath.Base(p.Name), "Manifest.json") &&
		bytes.Contains(p.Head, []byte(`"itemInfoEntries"`))
}

const maxManifest = 4 << 20

func analyzeManifest(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("coreml")
	if size > maxManifest {
		s.Reportf("coreml/malformed", formats.High, formats.NoOffset, "Manifest.json is %d bytes, more than the %d modelvet reads; the package's item paths were not checked", size, maxManifest)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	v, dups, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 16, MaxNodes: 1 << 16})
	if err != nil {
		s.Reportf("coreml/malformed", formats.High, formats.NoOffset, "Manifest.json is not valid JSON (%v); which model the package loads cannot be told", err)
		return
	}
	for _, d := range dups {
		// JSON readers keep the first or the last of two equal keys: two
		// readers would load different root models or paths.
		s.Reportf("coreml/malformed", formats.High, int64(d.Off), "Manifest.json gives the key %q twice (in %s); readers disagree on which value counts", d.Key, d.Path)
	}
	capped := &formats.PerRule{S: s, Max: maxPerRule}
	entries := v.Get("itemInfoEntries")
	if entries == nil || entries.Kind != jsonx.Object {
		return
	}
	for i, id := range entries.Keys {
		p := entries.Vals[i].Get("path")
		if p == nil {
			continue
		}
		if p.Kind != jsonx.String {
			capped.Reportf("coreml/malformed", formats.High, int64(p.Off), "item %q has a path that is a JSON %s, not a string", id, p.Kind)
			continue
		}
		if sev, why := refpath.Problem(p.Str); why != "" {
			// coreml/package-path-escape: an item of the package, the root
			// model included, loaded from outside the package's Data folder.
			capped.Reportf("coreml/package-path-escape", sev, int64(p.Off), "item %q of the package has the path %q: %s; coremltools joins it to Data/ without checking", id, p.Str, why)
		}
	}
	capped.Close()
}
