package formats

import (
	"io"
	"path"
	"sort"
	"strings"
	"sync"
)

// HeadSize is how many leading bytes a Probe carries.
const HeadSize = 4096

// Probe is what content sniffing sees of a file or member.
type Probe struct {
	Name string // base name, for extension checks only: content decides
	// Path is the OS path when the content is a file on disk, "" for a
	// member of a container. Analyzers of files that only make sense next
	// to another file (ONNX external data) need it.
	Path string
	// Opts are the scan's options when Path is set: a sniffer that
	// reads a file beside Path opens it with Opts.OpenFile (nil-safe).
	Opts *Options
	Head []byte // up to HeadSize leading bytes
	Size int64
	R    io.ReaderAt
}

// Ext returns the lower-case extension of the probed name, with its dot.
func (p *Probe) Ext() string { return strings.ToLower(path.Ext(p.Name)) }

// Analyzer reads one format. Analyzers never execute what they read and
// never read outside [0, size) of the ReaderAt they are given.
type Analyzer struct {
	// Name is the format name shown in reports ("pickle", "safetensors").
	Name string
	// Extensions are the names files of this format usually carry. A file
	// whose content is sniffed as this format but whose extension belongs
	// to another format is reported (formats/extension-mismatch).
	Extensions []string
	// Priority orders sniffing: a higher value is asked first. Specific
	// formats (pytorch zip) outrank generic ones (zip).
	Priority int
	// Sniff reports whether the content is this format. It may read
	// through p.R and look beside p.Path (companion files); like Analyze it
	// runs under guard, so a panic is a finding on the file, not a crash.
	Sniff func(p *Probe) bool
	// Analyze reports findings to s. It must not panic on any input; a
	// panic is caught and reported as an analyzer failure.
	Analyze func(s *Scope, r io.ReaderAt, size int64)
	// Strict are extensions (of Extensions) whose loaders check this
	// format's distinctive magic number first and refuse anything else
	// (gzip.open raises BadGzipFile): such a name on other content makes
	// that loader fail, not read it differently, so it is no
	// formats/extension-mismatch.
	Strict []string
}

var (
	regMu     sync.RWMutex
	analyzers []*Analyzer
	dirChecks []*DirCheck
)

// Register adds an analyzer. Format packages call it from init.
func Register(a *Analyzer) {
	regMu.Lock()
	defer regMu.Unlock()
	// A fresh slice each time: sniff iterates a snapshot without the lock.
	analyzers = append(analyzers[:len(analyzers):len(analyzers)], a)
	sort.SliceStable(analyzers, func(i, j int) bool { return analyzers[i].Priority > analyzers[j].Priority })
}

// Lookup returns the registered analyzer with that name.
func Lookup(name string) *Analyzer {
	regMu.RLock()
	defer regMu.RUnlock()
	for _, a := range analyzers {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Sniff returns the analyzer whose format the content is, or nil. A
// sniffer that panics counts as "not this format"; the scan itself (which
// reports the panic) goes through sniff.
func Sniff(p *Probe) *Analyzer {
	a, _ := sniff(p)
	return a
}

// sniff asks every analyzer in priority order, each under guard, and
// returns the first that claims the content with the panics met on the way.
func sniff(p *Probe) (*Analyzer, []*caught) {
	regMu.RLock()
	list := analyzers
	regMu.RUnlock()
	var failed []*caught
	for _, a := range list {
		if a.Sniff == nil {
			continue
		}
		hit := false
		if c := guard("sniffer", a.Name, func() { hit = a.Sniff(p) }); c != nil {
			failed = append(failed, c)
			continue
		}
		if hit {
			return a, failed
		}
	}
	return nil, failed
}

// extensionOwner returns the analyzer that claims ext, or nil.
func extensionOwner(ext string) *Analyzer {
	regMu.RLock()
	defer regMu.RUnlock()
	for _, a := range analyzers {
		for _, e := range a.Extensions {
			if e == ext {
				return a
			}
		}
	}
	return nil
}

// modelExtensions are names that promise a model. A file carrying one that
// no analyzer recognizes is a finding, not a silent skip: a loader picks
// files by name, so an unparseable ".bin" is exactly what an attacker would
// ship to a scanner that skips what it does not understand.
var modelExtensions = map[string]bool{
	".pkl": true, ".pickle": true, ".pt": true, ".pth": true, ".bin": true,
	".ckpt": true, ".joblib": true, ".npy": true, ".npz": true,
	".safetensors": true, ".onnx": true, ".keras": true, ".h5": true,
	".hdf5": true, ".gguf": true, ".pb": true, ".dill": true, ".mar": true,
	".ggml": true, ".tflite": true, ".pte": true, ".ort": true, ".pdmodel": true,
	".pdparams": true, ".pdiparams": true, ".mlmodel": true, ".ubj": true,
	// Formats no analyzer here reads, named so they fail closed instead of
	// passing unread: Torch7 files (their serializer restores Lua functions
	// from bytecode), llamafiles (executables that run when "loaded"),
	// CatBoost, RKNN and Caffe models, PyTorch 2 export and Lite archives
	// (zips, sniffed as such when they are), and PMML (read by formats/pmml).
	".t7": true, ".llamafile": true, ".cbm": true, ".rknn": true, ".caffemodel": true,
	".pt2": true, ".ptl": true, ".pmml": true,
	// Not here on purpose: ".model" (every Llama-style folder ships a
	// SentencePiece tokenizer.model, a protobuf that runs nothing), ".sav"
	// (SPSS and IDL data files use it; a pickled .sav is still sniffed as
	// the pickle it is), ".engine"/".plan" (ordinary words for other files;
	// a TensorRT engine is sniffed by its magic) and ".json"/".xml"/".txt"
	// (config and text files beside every model).
}

// IsModelName reports whether a file name promises model content.
func IsModelName(name string) bool {
	return modelExtensions[strings.ToLower(path.Ext(name))]
}

// DirCheck inspects a folder as a whole (a Hugging Face model folder, a
// sharded checkpoint index). It runs once per folder the walk visits.
type DirCheck struct {
	Name string
	// Check is given the folder (an OS path) and the names of the regular
	// files directly inside it. It reports with report(relPath, finding),
	// where relPath is relative to dir ("" for the folder itself). It runs
	// under guard: a panic is a finding on the folder.
	Check func(dir string, files []string, opts *Options, report func(rel string, f Finding))
}

// RegisterDir adds a folder check.
func RegisterDir(c *DirCheck) {
	regMu.Lock()
	defer regMu.Unlock()
	dirChecks = append(dirChecks, c)
}
