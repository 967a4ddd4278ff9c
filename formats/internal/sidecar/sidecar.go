// Package sidecar recognizes data files by the manifest beside them that
// names them: TF.js weight shards named by model.json, OpenVINO weights
// named by the IR .xml. Such files are raw numbers with no format of their
// own; without a manifest naming them a folder scan could only call them
// unrecognized. The manifest's own analyzer judges the paths and sizes;
// this package answers "does a manifest in this folder name me", and Data
// is the one analyzer shape of such files.
package sidecar

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/modelvet/modelvet/formats"
)

// Bounds: manifests read per folder and their size.
const (
	maxManifests    = 64
	maxManifestSize = 256 << 20
	levels          = 4 // a manifest may name "weights/x.bin": look a few folders up
)

// Index answers, per folder, which files its manifests name.
type Index struct {
	// IsManifest says whether a file name is worth reading as a manifest.
	IsManifest func(name string) bool
	// Refs returns the slash paths the manifest at path names, relative to
	// its folder (only paths that stay inside it). It reads the manifest
	// through opts (Options.ReadSmallFile, OpenFile): under a check, the
	// bytes the one pass hashes.
	Refs func(opts *formats.Options, path string, size int64) []string
	// key tells this index's answers apart in the scan's memo.
	key string
}

var indexes atomic.Int64

// New returns an Index. Its answers are kept for the scan (a folder scan
// asks once per file), never across scans, whose files may differ.
func New(isManifest func(string) bool, refs func(*formats.Options, string, int64) []string) *Index {
	return &Index{IsManifest: isManifest, Refs: refs, key: fmt.Sprintf("sidecar%d\x00", indexes.Add(1))}
}

// Claims reports whether a manifest in the probed file's folder, or a few
// folders above it, names the file. Only files on disk have a folder.
func (x *Index) Claims(p *formats.Probe) bool {
	if p.Path == "" || x.IsManifest(p.Name) {
		return false
	}
	// The cache is keyed by folder: a relative one ("001") names another
	// folder once the working folder changes (tests, a long-running
	// service), so key by the absolute path.
	path, err := filepath.Abs(p.Path)
	if err != nil {
		return false
	}
	rel := filepath.Base(path)
	dir := filepath.Dir(path)
	for range levels {
		if x.named(p.Opts, dir)[rel] {
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

func (x *Index) named(opts *formats.Options, dir string) map[string]bool {
	refs, _ := opts.Memo(x.key+dir, func() any { return x.read(opts, dir) }).(map[string]bool)
	return refs
}

func (x *Index) read(opts *formats.Options, dir string) map[string]bool {
	refs := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err == nil {
		n := 0
		for _, e := range entries {
			if !e.Type().IsRegular() || !x.IsManifest(e.Name()) || n >= maxManifests {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.Size() > maxManifestSize {
				continue
			}
			n++
			for _, r := range x.Refs(opts, filepath.Join(dir, e.Name()), fi.Size()) {
				refs[Clean(r)] = true
			}
		}
	}
	return refs
}

// Clean normalizes "./a//b" to "a/b".
func Clean(loc string) string {
	var parts []string
	for _, c := range strings.Split(loc, "/") {
		if c != "" && c != "." {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "/")
}
