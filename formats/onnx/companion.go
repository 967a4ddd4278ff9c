package onnx

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/ttlcache"
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

// companionCache maps a folder to the base names its ONNX models
// reference as external data.
var companionCache = ttlcache.New[map[string]bool](time.Minute, 4096)

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
		if referencedIn(dir)[rel] {
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
// models directly in dir (cached briefly: a folder scan asks once per file).
func referencedIn(dir string) map[string]bool {
	if refs, ok := companionCache.Get(dir); ok {
		return refs
	}
	refs := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err == nil {
		n := 0
		for _, e := range entries {
			if !strings.EqualFold(filepath.Ext(e.Name()), ".onnx") || n >= maxSiblingModels {
				continue
			}
			n++
			collectRefs(filepath.Join(dir, e.Name()), refs)
		}
	}
	companionCache.Put(dir, refs)
	return refs
}

func collectRefs(path string, refs map[string]bool) {
	f, _, err := formats.OpenRegular(path) // never blocks on a FIFO
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSiblingSize {
		return
	}
	o := formats.DefaultOptions()
	w := newWalker(formats.NewScope(path, &o, &formats.FileResult{}), f, fi.Size())
	w.collect = map[string]bool{}
	_ = w.model(0, fi.Size())
	for loc := range w.collect {
		if _, why := locationProblem(loc); why == "" {
			refs[pathClean(loc)] = true
		}
	}
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
