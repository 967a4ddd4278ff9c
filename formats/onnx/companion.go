package onnx

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// External data files ("weights.bin", "model.onnx_data") are raw tensor
// bytes with no format of their own. Without this analyzer a folder scan
// would call every such .bin "unrecognized" (High) and fail real ONNX
// models saved with external data. It claims a file only when an ONNX
// model beside it names that file as external data, and only after every
// other analyzer has declined it (lowest priority): a pickle named
// weights.bin is still read as a pickle.
func init() {
	formats.Register(&formats.Analyzer{
		Name: "onnx-external-data",
		// Claimed so that the name is no "mismatch": these are the names
		// exporters give external data (onnx: any; torch.onnx: .onnx_data).
		Extensions: []string{".bin", ".data", ".onnx_data", ".weight", ".weights"},
		Priority:   -100,
		Sniff:      sniffCompanion,
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			s.SetFormat("onnx-external-data")
			s.Reportf("onnx/external-data-file", formats.Info, formats.NoOffset,
				"raw tensor data referenced as external data by an ONNX model in the same folder (%d bytes); it holds no code", size)
		},
	})
}

const (
	maxSiblingModels = 64       // ONNX models examined per folder
	maxSiblingSize   = 16 << 30 // models larger than this are not walked for it
)

func sniffCompanion(p *formats.Probe) bool {
	if p.Path == "" || strings.EqualFold(p.Ext(), ".onnx") {
		return false // only files on disk have siblings
	}
	// A model may name a file in a sub-folder ("data/w.bin"): look in the
	// file's folder and a few above it.
	path := filepath.Clean(p.Path)
	rel := filepath.Base(path)
	dir := filepath.Dir(path)
	for range 4 {
		if referencedIn(p.Opts, dir)[rel] {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		rel = filepath.Base(dir) + "/" + rel
		dir = parent
	}
	return false
}

// referencedIn returns the external data locations named by the ONNX
// models directly in dir, read through the scan's opener (under a check,
// the bytes the one pass hashes) once per scan: a folder scan asks once
// per file, and never gets an earlier scan's answer about files that may
// have changed since.
func referencedIn(opts *formats.Options, dir string) map[string]bool {
	refs, _ := opts.Memo("onnx-refs\x00"+dir, func() any { return readRefs(opts, dir) }).(map[string]bool)
	return refs
}

func readRefs(opts *formats.Options, dir string) map[string]bool {
	refs := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err == nil {
		n := 0
		for _, e := range entries {
			if !strings.EqualFold(filepath.Ext(e.Name()), ".onnx") || n >= maxSiblingModels {
				continue
			}
			n++
			collectRefs(opts, filepath.Join(dir, e.Name()), refs)
		}
	}
	return refs
}

// collectRefs adds the locations the model at path names. What the
// model's own scan learnt is used when it ran first (publishRefs): the
// model is then neither opened nor hashed a second time, however large;
// otherwise the model is walked here, through the scan's opener, and its
// own scan later shares that open.
func collectRefs(opts *formats.Options, path string, refs map[string]bool) {
	got, _ := opts.Memo(refsKey(path), func() any { return readModelRefs(opts, path) }).(map[string]bool)
	maps.Copy(refs, got)
}

func refsKey(model string) string { return "onnx-model-refs\x00" + filepath.Clean(model) }

func readModelRefs(opts *formats.Options, path string) map[string]bool {
	f, err := opts.OpenFile(path) // never blocks on a FIFO
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() > maxSiblingSize {
		return nil
	}
	o := formats.DefaultOptions()
	w := newWalker(formats.NewScope(path, &o, &formats.FileResult{}), f, fi.Size())
	w.collectOnly = true
	_ = w.model(0, fi.Size())
	return validRefs(w.locs)
}

// publishRefs offers the locations a model's own scan found to the
// companion lookup of the same scan (the same walk: the gathering does
// not depend on what is checked), so that a lookup after the scan does not
// read the model again. A model the lookup would not walk is not offered.
func publishRefs(s *formats.Scope, size int64, locs map[string]bool) {
	if !s.OnDisk() || size > maxSiblingSize {
		return
	}
	refs := validRefs(locs)
	s.Options().Memo(refsKey(s.Path()), func() any { return refs })
}

func validRefs(locs map[string]bool) map[string]bool {
	refs := map[string]bool{}
	for loc := range locs {
		if _, why := locationProblem(loc); why == "" {
			refs[pathClean(loc)] = true
		}
	}
	return refs
}

// pathClean normalizes "./a//b" to "a/b" (locations are slash paths).
func pathClean(loc string) string {
	var parts []string
	for _, c := range strings.Split(loc, "/") {
		if c != "" && c != "." {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "/")
}
