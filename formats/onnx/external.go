package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/refpath"
)

// onDisk reports whether the scope is a real file whose folder holds the
// external data a loader would read. Members of archives and in-memory
// scans have no such folder.
func onDisk(s *formats.Scope) bool {
	if !s.OnDisk() {
		return false
	}
	fi, err := os.Stat(s.Path())
	return err == nil && fi.Mode().IsRegular()
}

// locationProblem judges a path a model names for a loader to open; the
// rules are shared with every format that names files beside it.
var locationProblem = refpath.Problem

// extFile is the outcome of checking one external file on disk.
type extFile struct {
	size    int64
	problem string
	sev     formats.Severity
	rule    string
}

const maxFiles = 1024

// resolve checks that loc names a regular file inside the model's folder
// and returns its size. Every component is Lstat'ed: a symbolic link on the
// way may only lead inside the folder, or inside the Hugging Face cache
// repository the folder belongs to, where snapshots link to blobs by design.
func (w *walker) resolve(loc string) *extFile {
	if f, ok := w.files[loc]; ok {
		return f
	}
	f := w.resolveUncached(loc)
	if len(w.files) < maxFiles {
		w.files[loc] = f
	}
	return f
}

func (w *walker) resolveUncached(loc string) *extFile {
	dir := filepath.Dir(w.s.Path())
	cur := dir
	parts := strings.Split(loc, "/")
	linked := false
	for i, c := range parts {
		if c == "" || c == "." {
			continue
		}
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if err != nil {
			return &extFile{rule: "onnx/external-data-missing", sev: formats.High,
				problem: fmt.Sprintf("the file %s does not exist beside the model (%v); the model cannot load, and a file dropped there later would be read", cur, errShort(err))}
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			linked = true
			continue
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return &extFile{rule: "onnx/external-data-missing", sev: formats.High,
				problem: fmt.Sprintf("%s is not a folder", cur)}
		}
	}
	if linked {
		real, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return &extFile{rule: "onnx/external-data-missing", sev: formats.High,
				problem: fmt.Sprintf("the path %s goes through a symbolic link that cannot be resolved (%v)", cur, errShort(err))}
		}
		root, err := filepath.EvalSymlinks(formats.ContainmentRoot(dir))
		if err != nil || !formats.Within(root, real) {
			return &extFile{rule: "onnx/external-data-escape", sev: formats.High,
				problem: fmt.Sprintf("the path %s goes through a symbolic link to %s, outside the model's folder; a loader would read a file the publisher did not ship", cur, real)}
		}
	}
	// The size is taken from an open of the file through the scan's
	// opener: under a check, the file the one pass hashes (and refuses if
	// the name is renamed over before then). A FIFO is never waited on.
	fi, err := w.s.Options().StatFile(cur)
	if errors.Is(err, formats.ErrNotRegular) {
		fi, err = os.Stat(cur)
	}
	if err != nil {
		return &extFile{rule: "onnx/external-data-missing", sev: formats.High,
			problem: fmt.Sprintf("the file %s cannot be read (%v)", cur, errShort(err))}
	}
	if !fi.Mode().IsRegular() {
		return &extFile{rule: "onnx/external-data-missing", sev: formats.High,
			problem: fmt.Sprintf("%s is not a regular file (%s); opening a device or FIFO can hang or read forever", cur, fi.Mode().Type())}
	}
	return &extFile{size: fi.Size()}
}

func errShort(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// checkExternal judges one tensor whose data lives outside the model file.
func (w *walker) checkExternal(t *tensorInfo, where string) {
	for _, e := range t.entries {
		if e.key == "location" && !e.cut && len(w.locs) < maxFiles {
			w.locs[e.value] = true
		}
	}
	if w.collectOnly {
		return
	}
	var loc string
	var locSet bool
	var offset, length int64 = 0, -1
	for _, e := range t.entries {
		switch e.key {
		case "location":
			if e.cut {
				w.report("onnx/external-data-escape", formats.High, e.off,
					"%s: the external data location is longer than %d bytes; no exporter writes such a path", where, maxLocationLen)
				return
			}
			// Every location is checked: protobuf readers differ on
			// which duplicate wins, so each must be safe.
			if sev, why := locationProblem(e.value); why != "" {
				rule := "onnx/external-data-escape"
				if e.value == "" {
					rule = "onnx/external-data-missing"
				}
				w.report(rule, sev, e.off, "%s: external data location %q: %s", where, e.value, why)
				return
			}
			loc, locSet = e.value, true
		case "offset", "length":
			v, err := strconv.ParseInt(e.value, 10, 64)
			if err != nil || v < 0 {
				w.report("onnx/external-data-range", formats.High, e.off,
					"%s: external data %s %q is not a non-negative integer; loaders parse it differently", where, e.key, e.value)
				return
			}
			if e.key == "offset" {
				offset = v
			} else {
				length = v
			}
		}
	}
	if !locSet {
		w.report("onnx/external-data-missing", formats.High, t.off,
			"%s: the tensor's data is marked external but no location is given", where)
		return
	}
	if !w.onDisk {
		w.s.Detail("external_data_unverified", "external data files were not checked (the model is not a file on disk)")
		return
	}
	f := w.resolve(loc)
	if f.problem != "" {
		w.report(f.rule, f.sev, t.off, "%s: external data %q: %s", where, loc, f.problem)
		return
	}
	end := offset
	if length >= 0 {
		end = offset + length
		if end < offset { // overflow
			end = -1
		}
	}
	if end < 0 || end > f.size || offset > f.size {
		w.report("onnx/external-data-range", formats.High, t.off,
			"%s: external data %q offset %d length %d runs past the end of the file (%d bytes); the file is truncated or the model was tampered with",
			where, loc, offset, length, f.size)
	}
}
