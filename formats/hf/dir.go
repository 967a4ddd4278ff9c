package hf

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.RegisterDir(&formats.DirCheck{Name: "huggingface", Check: checkDir})
}

func checkDir(dir string, files []string, opts *formats.Options, report func(rel string, f formats.Finding)) {
	checkPython(dir, files, opts, report)
	base := filepath.Base(dir)
	parent := filepath.Base(filepath.Dir(dir))
	if base == "blobs" && isCacheRepo(parent) {
		checkBlobs(dir, files, opts, report)
	}
	if repo, ok := snapshotRepo(dir); ok {
		checkSnapshotLinks(dir, repo, files, opts, report)
	}
}

// modelMarker: files that make a folder a model folder (transformers,
// diffusers, sentence-transformers).
func modelMarker(lower string) bool {
	switch lower {
	case "config.json", "tokenizer_config.json", "model_index.json", "modules.json":
		return true
	}
	return false
}

func isCacheRepo(name string) bool {
	return strings.HasPrefix(name, "models--") || strings.HasPrefix(name, "datasets--") || strings.HasPrefix(name, "spaces--")
}

// checkPython reports Python files in a folder that holds a model: with
// trust_remote_code=True, transformers imports modeling_*.py,
// configuration_*.py, tokenization_*.py (whatever auto_map names), and
// other tools run any *.py they ship. The code is not analyzed here: that
// a model needs code at all is the finding.
//
// Code in a subfolder of a model counts too: modeling files import
// their package's other modules (from .layers.attention import ...), and
// diffusers pipelines keep a component's custom class in its subfolder
// (unet/my_unet.py). So a folder with Python but no model marker of its
// own is checked against its parent folders, two levels up, within the
// scanned folder: the walk's listing of them (opts.Listed), never the disk
// above what was named for the scan, which is neither scanned nor hashed
// nor signed (a verdict must not depend on it, and a subfolder a diffusers
// pipeline loads code from has its own config.json).
func checkPython(dir string, files []string, opts *formats.Options, report func(string, formats.Finding)) {
	var py, compiled []string
	model := false
	for _, f := range files {
		l := strings.ToLower(f)
		switch {
		case strings.HasSuffix(l, ".py"):
			py = append(py, f)
		case compiledCode(l):
			compiled = append(compiled, f)
		case modelMarker(l) || formats.IsModelName(f):
			model = true
		}
	}
	if len(py) == 0 && len(compiled) == 0 {
		return
	}
	if !model && dir != "" {
		p := dir
		for i := 0; i < 2 && !model; i++ {
			up := filepath.Dir(p)
			if up == p {
				break
			}
			p = up
			listed, ok := opts.Listed(p)
			if !ok {
				break // outside the scanned folder
			}
			for _, f := range listed {
				if modelMarker(strings.ToLower(f)) {
					model = true
					break
				}
			}
		}
	}
	if !model {
		return
	}
	sort.Strings(compiled)
	for _, f := range compiled {
		// Attack class: code shipped already compiled, which no reviewer
		// reads: a sourceless .pyc imports like a .py when the folder is on
		// sys.path (and transformers' dynamic modules copy the repository's
		// files), and a native library is what torch.ops.load_library,
		// tf.load_op_library and onnxruntime's register_custom_ops_library
		// load for a model's custom operators, running its initializers.
		report(f, formats.Finding{Rule: "hf/compiled-code", Severity: formats.High, Offset: formats.NoOffset,
			Message: "compiled code (Python bytecode or a native library) ships with the model; a loader that imports the folder's modules or registers custom operators runs it, and it cannot be reviewed. Remove it or build it from reviewed source"})
	}
	sort.Strings(py)
	for _, f := range py {
		report(f, formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Offset: formats.NoOffset,
			Message: "Python code ships with the model; loading with trust_remote_code=True (or any tool that imports the folder's modules) runs it. Review it or load without remote code"})
	}
}

// checkBlobs verifies the Hugging Face cache's content addressing offline:
// a blob named by 64 hex digits is an LFS object whose SHA-256 is its
// name; 40 hex digits is the git blob SHA-1 of a small file. A blob whose
// content does not match its name was replaced after download: the
// snapshot that links to it no longer holds what the Hub served.
//
// Hashing reads every byte, so it is bounded: at most budget bytes per
// blobs folder (the scan's per-file expansion limit, 64 GiB by default);
// blobs past it are reported as not verified.
func checkBlobs(dir string, files []string, opts *formats.Options, report func(string, formats.Finding)) {
	budget := opts.Limits.MaxExpand
	if budget <= 0 {
		budget = 64 << 30
	}
	for _, f := range files {
		name := strings.ToLower(f)
		h, git := blobHash(name)
		switch {
		case h != nil:
		case strings.HasSuffix(name, ".incomplete"):
			report(f, formats.Finding{Rule: "hf/blob-incomplete", Severity: formats.Low, Offset: formats.NoOffset,
				Message: "an interrupted download; no snapshot should link to it"})
			continue
		default:
			report(f, formats.Finding{Rule: "hf/blob-unnamed", Severity: formats.Medium, Offset: formats.NoOffset,
				Message: "a file in the cache's blobs folder whose name is not a content hash; the cache never writes such files"})
			continue
		}
		if fi, err := opts.StatFile(filepath.Join(dir, f)); err == nil {
			if fi.Size() > budget {
				report(f, formats.Finding{Rule: "hf/blob-not-verified", Severity: formats.Medium, Offset: formats.NoOffset,
					Message: "the blob was not hashed: the folder's verification budget is spent"})
				continue
			}
			budget -= fi.Size()
		}
		if fd := verifyBlob(opts, filepath.Join(dir, f), name, h, git); fd != nil {
			report(f, *fd)
		}
	}
}

// verifyBlob hashes a blob and compares it with its name. It reads
// through the scan's opener (never blocking on a FIFO): under a check
// the blob's bytes are those the one pass hashes and the signature is
// checked against, and the blob is read once per scan (Options.Memo),
// however many snapshot links reach it. Never remembered across scans: a
// blob rewritten in place between two scans must be hashed again.
func verifyBlob(opts *formats.Options, path, name string, h hash.Hash, git bool) *formats.Finding {
	fd, _ := opts.Memo("hf-blob\x00"+path, func() any { return hashBlob(opts, path, name, h, git) }).(*formats.Finding)
	return fd
}

func hashBlob(opts *formats.Options, path, name string, h hash.Hash, git bool) *formats.Finding {
	fh, err := opts.OpenFile(path)
	if errors.Is(err, formats.ErrNotRegular) {
		return nil // the walk reports special files
	}
	if err != nil {
		return &formats.Finding{Rule: "hf/blob-unreadable", Severity: formats.High, Offset: formats.NoOffset, Message: fmt.Sprintf("cannot open the blob to verify it: %v", err)}
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if git {
		h.Write([]byte("blob " + strconv.FormatInt(fi.Size(), 10) + "\x00"))
	}
	if _, err := io.Copy(h, io.NewSectionReader(fh, 0, fi.Size())); err != nil {
		return &formats.Finding{Rule: "hf/blob-unreadable", Severity: formats.High, Offset: formats.NoOffset, Message: fmt.Sprintf("reading the blob failed: %v", err)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != name {
		kind := "SHA-256"
		if git {
			kind = "git blob SHA-1"
		}
		return &formats.Finding{Rule: "hf/blob-digest-mismatch", Severity: formats.Critical, Offset: formats.NoOffset,
			Message: fmt.Sprintf("the blob's %s is %s, not its name %s: the file was modified after download, and every snapshot linking to it now loads different content than the Hub served. Delete the blob and download again", kind, got, name)}
	}
	return nil
}

// blobHash returns the hash a blob name implies, or nil for a name that
// is no content hash.
func blobHash(name string) (hash.Hash, bool) {
	switch {
	case len(name) == 64 && isHex(name):
		return sha256.New(), false
	case len(name) == 40 && isHex(name):
		return sha1.New(), true
	}
	return nil, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// snapshotRepo returns the cache repository folder when dir is inside
// <repo>/snapshots/<revision>/.
func snapshotRepo(dir string) (string, bool) {
	for d := dir; ; {
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		if filepath.Base(parent) == "snapshots" && isCacheRepo(filepath.Base(filepath.Dir(parent))) {
			return filepath.Dir(parent), true
		}
		d = parent
	}
}

// checkSnapshotLinks: the cache links snapshots/<rev>/<file> to
// ../../blobs/<hash> of the same repository. A link elsewhere (another
// model's blobs, a file outside the cache) makes the snapshot load content
// that was never downloaded for this model.
func checkSnapshotLinks(dir, repo string, files []string, opts *formats.Options, report func(string, formats.Finding)) {
	budget := opts.Limits.MaxExpand
	if budget <= 0 {
		budget = 64 << 30
	}
	blobs, err := filepath.EvalSymlinks(filepath.Join(repo, "blobs"))
	if err != nil {
		blobs = "" // no blobs at all: nothing to compare copies with
	}
	var copies []string
	for _, f := range files {
		p := filepath.Join(dir, f)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode().IsRegular() {
			copies = append(copies, f)
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		if blobs == "" || filepath.Dir(target) != blobs {
			report(f, formats.Finding{Rule: "hf/snapshot-link-escape", Severity: formats.High, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the snapshot file links to %s, not into this repository's blobs folder; the cache never makes such links, so the snapshot was tampered with", target)})
			continue
		}
		// Scanning a snapshot folder alone still verifies what it loads.
		name := strings.ToLower(filepath.Base(target))
		if h, git := blobHash(name); h != nil {
			if ti, err := opts.StatFile(target); err == nil && ti.Size() > budget {
				report(f, formats.Finding{Rule: "hf/blob-not-verified", Severity: formats.Medium, Offset: formats.NoOffset,
					Message: "the linked blob was not hashed: the folder's verification budget is spent"})
				continue
			} else if err == nil {
				budget -= ti.Size()
			}
			if fd := verifyBlob(opts, target, name, h, git); fd != nil {
				report(f, *fd)
			}
		}
	}
	checkCopies(dir, blobs, copies, budget, opts, report)
}

// checkCopies verifies snapshot files that are copies, not links: the
// cache makes them where symbolic links are unavailable (Windows without
// developer mode, a cache copied with a tool that follows links). A copy
// whose SHA-256 (or git blob SHA-1) names a blob of the repository is what
// the Hub served. One that names none cannot be checked: it may have been
// changed after download, and nothing in the cache says what it should be.
// That is said once per snapshot folder, naming the files, instead of
// passing them silently.
func checkCopies(dir, blobs string, copies []string, budget int64, opts *formats.Options, report func(string, formats.Finding)) {
	var unverified, unhashed []string
	for _, f := range copies {
		p := filepath.Join(dir, f)
		fi, err := opts.StatFile(p)
		if err != nil {
			continue
		}
		if fi.Size() > budget {
			unhashed = append(unhashed, f)
			continue
		}
		budget -= fi.Size()
		if !matchesABlob(opts, p, fi.Size(), blobs) {
			unverified = append(unverified, f)
		}
	}
	sort.Strings(unverified)
	if n := len(unverified); n > 0 {
		report(".", formats.Finding{Rule: "hf/snapshot-not-verified", Severity: formats.Low, Offset: formats.NoOffset,
			Message: fmt.Sprintf("%d snapshot files are copies, not links to blobs, and match no blob of this repository (%s): their integrity could not be checked against what the Hub served (a cache made without symbolic links). Verify them with a model signature, or download again into a cache with links", n, listSome(unverified, 5))})
	}
	if len(unhashed) > 0 {
		report(".", formats.Finding{Rule: "hf/blob-not-verified", Severity: formats.Medium, Offset: formats.NoOffset,
			Message: fmt.Sprintf("snapshot copies not hashed, the folder's verification budget is spent: %s", listSome(unhashed, 5))})
	}
}

// matchesABlob reports whether the file's SHA-256 or git blob SHA-1 is the
// name of a file in blobs.
func matchesABlob(opts *formats.Options, p string, size int64, blobs string) bool {
	fh, err := opts.OpenFile(p)
	if err != nil {
		return false
	}
	defer fh.Close()
	s256, s1 := sha256.New(), sha1.New()
	s1.Write([]byte("blob " + strconv.FormatInt(size, 10) + "\x00"))
	if _, err := io.Copy(io.MultiWriter(s256, s1), io.NewSectionReader(fh, 0, size)); err != nil {
		return false
	}
	for _, name := range []string{hex.EncodeToString(s256.Sum(nil)), hex.EncodeToString(s1.Sum(nil))} {
		if blobs == "" {
			break
		}
		if fi, err := os.Stat(filepath.Join(blobs, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// compiledCode: Python bytecode and native shared libraries (Linux,
// macOS, Windows, Python extension modules).
func compiledCode(lower string) bool {
	for _, ext := range []string{".pyc", ".pyo", ".pyd", ".so", ".dylib", ".dll"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	// versioned shared objects: libfoo.so.1, libfoo.so.1.2
	i := strings.LastIndex(lower, ".so.")
	if i < 0 {
		return false
	}
	return strings.Trim(lower[i+4:], "0123456789.") == ""
}
