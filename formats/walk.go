package formats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Scan scans files and folders. A folder is walked recursively; each
// regular file is sniffed and analyzed, and each folder is given to the
// registered folder checks. Scan returns an error only when a path named
// by the caller cannot be read at all; everything found inside is a
// finding.
func Scan(ctx context.Context, paths []string, opts Options) (*Result, error) {
	opts.memo = newMemo()
	w := &walker{opts: &opts, ctx: ctx}
	for _, p := range paths {
		if err := w.add(p); err != nil {
			return nil, err
		}
	}
	w.dropLinkedCacheBlobs()
	w.run()
	sort.SliceStable(w.results, func(i, j int) bool { return w.results[i].Path < w.results[j].Path })
	return &Result{Files: w.results}, nil
}

type job struct {
	path string // OS path to open
	name string // path shown in the report
}

type walker struct {
	opts    *Options
	ctx     context.Context
	jobs    []job
	results []*FileResult
	dirs    map[string]*FileResult // folder-level findings, by report path
	mu      sync.Mutex
	seen    int
}

func (w *walker) add(p string) error {
	fi, err := os.Stat(p) // the user named it: follow a link they gave
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", p, err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file or folder", p)
		}
		w.jobs = append(w.jobs, job{path: p, name: p})
		return nil
	}
	return w.walkDir(p)
}

// ContainmentRoot is the folder that links (and references such as ONNX
// external data) found under root may point into. It is the scanned folder
// itself, made absolute, except inside a Hugging Face cache, where snapshots
// link into the repository's blobs folder by design: there it is the
// enclosing models--*/datasets--* folder that holds blobs/. Callers resolve
// it with filepath.EvalSymlinks before comparing with Within.
func ContainmentRoot(root string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		return root
	}
	for d := abs; ; {
		if strings.HasPrefix(filepath.Base(d), "models--") || strings.HasPrefix(filepath.Base(d), "datasets--") {
			if fi, err := os.Stat(filepath.Join(d, "blobs")); err == nil && fi.IsDir() {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs
		}
		d = parent
	}
}

// Within reports whether target lies inside root or is root itself (both
// clean, e.g. from filepath.EvalSymlinks). It compares lexically, so a
// target reached through ".." or another volume is outside. A relative
// path (EvalSymlinks keeps a relative input relative, and on Windows keeps
// a drive-less \dir path drive-less) is first made absolute with its
// links resolved; else a model scanned as "dir" or "\dir" would have every
// link and shard inside it compared with an absolute root, and reported as
// leading outside. A path that cannot be resolved is outside (fail closed).
func Within(root, target string) bool {
	var ok1, ok2 bool
	if root, ok1 = absReal(root); !ok1 {
		return false
	}
	if target, ok2 = absReal(target); !ok2 {
		return false
	}
	rel, err := filepath.Rel(root, target)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// absReal returns p unchanged when it is absolute (callers pass resolved
// paths), else made absolute with filepath.Abs and its links resolved:
// Abs joins the working folder as the OS names it ($PWD may be a link),
// which must not make a path inside the root look outside it.
func absReal(p string) (string, bool) {
	if filepath.IsAbs(p) {
		return p, true
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	r, err := filepath.EvalSymlinks(a)
	if err != nil {
		return "", false
	}
	return r, true
}

func (w *walker) walkDir(root string) error {
	realRoot, err := filepath.EvalSymlinks(ContainmentRoot(root))
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", root, err)
	}
	// WalkDir does not follow a root that is itself a link; "link/." makes
	// the OS resolve it while the report keeps the name the user gave.
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		root = filepath.Join(root, ".") + string(filepath.Separator) + "."
	}
	dirFiles := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if w.ctx != nil && w.ctx.Err() != nil {
			// Stopped mid-listing: files never listed must not vanish
			// from the report as if the folder held nothing more.
			w.folderFinding(root, root, Finding{Rule: "fs/not-scanned", Severity: High, Offset: NoOffset,
				Message: fmt.Sprintf("the scan was stopped (%v) while listing the folder at %s; what was not yet listed was not scanned, so the folder cannot be shown safe", w.ctx.Err(), p)})
			return fs.SkipAll
		}
		if err != nil {
			w.folderFinding(root, p, Finding{Rule: "fs/unreadable", Severity: High, Offset: NoOffset,
				Message: fmt.Sprintf("cannot be read (%v); what it holds was not scanned", err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			// Git's object store is compressed history no loader reads.
			if d.Name() == ".git" && p != root {
				return fs.SkipDir
			}
			dirFiles[p] = dirFiles[p][:0:0]
			return nil
		}
		w.seen++
		if w.seen > w.opts.Limits.MaxFiles {
			w.folderFinding(root, p, Finding{Rule: "fs/too-many-files", Severity: High, Offset: NoOffset,
				Message: fmt.Sprintf("the folder holds more than %d files; the rest were not scanned", w.opts.Limits.MaxFiles)})
			return fs.SkipAll
		}
		mode := d.Type()
		switch {
		case mode&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				w.folderFinding(root, p, Finding{Rule: "fs/broken-symlink", Severity: Medium, Offset: NoOffset,
					Message: fmt.Sprintf("is a symbolic link that cannot be resolved (%v)", err)})
				return nil
			}
			if !Within(realRoot, target) {
				w.folderFinding(root, p, Finding{Rule: "fs/symlink-escape", Severity: High, Offset: NoOffset,
					Message: fmt.Sprintf("is a symbolic link to %s, outside the model folder; a loader would read a file the publisher did not ship", target)})
				return nil
			}
			fi, err := os.Stat(target)
			if err != nil || !fi.Mode().IsRegular() {
				return nil // a link to a folder inside the root is walked through its real path
			}
			dirFiles[filepath.Dir(p)] = append(dirFiles[filepath.Dir(p)], d.Name())
			w.jobs = append(w.jobs, job{path: p, name: p})
		case mode.IsRegular():
			dirFiles[filepath.Dir(p)] = append(dirFiles[filepath.Dir(p)], d.Name())
			w.jobs = append(w.jobs, job{path: p, name: p})
		default:
			// fs/special-file stops a FIFO, socket or device posing as a
			// model file: opening it could hang the scan or read forever,
			// and a loader opening it reads whatever a writer feeds it
			// then, never the bytes that were checked. Never opened, and
			// high: nothing about what it yields can be shown safe.
			w.folderFinding(root, p, Finding{Rule: "fs/special-file", Severity: High, Offset: NoOffset,
				Message: fmt.Sprintf("is a special file (%s), not opened: a loader would read whatever a writer feeds it, so it cannot be shown safe; remove it", mode.Type())})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot walk %s: %w", root, err)
	}
	regMu.RLock()
	checks := append([]*DirCheck(nil), dirChecks...)
	regMu.RUnlock()
	w.opts.listing = make(map[string][]string, len(dirFiles))
	for d, files := range dirFiles {
		w.opts.listing[filepath.Clean(d)] = files
	}
	dirs := make([]string, 0, len(dirFiles))
	for d := range dirFiles {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		files := dirFiles[d]
		sort.Strings(files)
		for _, c := range checks {
			if p := guard("folder check", c.Name, func() {
				c.Check(d, files, w.opts, func(rel string, f Finding) {
					w.folderFinding(root, filepath.Join(d, rel), f)
				})
			}); p != nil {
				r := w.folderFinding(root, d, p.finding(d))
				w.mu.Lock()
				if r.Details == nil {
					r.Details = map[string]string{}
				}
				r.Details[p.detailKey()] = p.stack
				w.mu.Unlock()
			}
		}
	}
	return nil
}

// folderFinding attaches a finding to a path that is not (or not only) a
// scanned file: a link, a folder, a shard index.
func (w *walker) folderFinding(root, p string, f Finding) *FileResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirs == nil {
		w.dirs = map[string]*FileResult{}
	}
	r := w.dirs[p]
	if r == nil {
		r = &FileResult{Path: p, Format: "folder-check", Findings: []Finding{}}
		w.dirs[p] = r
		w.results = append(w.results, r)
	}
	r.Findings = append(r.Findings, f)
	return r
}

func (w *walker) run() {
	workers := runtime.GOMAXPROCS(0)
	ch := make(chan job)
	out := make(chan *FileResult)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				out <- ScanFile(w.ctx, j.path, j.name, w.opts)
			}
		}()
	}
	go func() {
		for _, j := range w.jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
		close(out)
	}()
	var got []*FileResult
	report, sizes, pr := w.progress()
	for r := range out {
		got = append(got, r)
		if report != nil {
			pr.FilesDone++
			pr.BytesDone += sizes[r.Path]
			report(pr)
		}
	}
	// Merge folder-check findings about a scanned file into its result.
	byPath := map[string]*FileResult{}
	for _, r := range got {
		byPath[r.Path] = r
	}
	kept := w.results[:0]
	for _, r := range w.results {
		if f, ok := byPath[r.Path]; ok {
			f.Findings = append(f.Findings, r.Findings...)
			continue
		}
		kept = append(kept, r)
	}
	w.results = append(kept, got...)
}

// ScanFile scans one file on disk. name is the path shown in the report.
func ScanFile(ctx context.Context, path, name string, opts *Options) *FileResult {
	res := &FileResult{Path: name, Format: "unknown", Findings: []Finding{}}
	// A cancelled or timed-out scan (the admission service's request
	// context) stops before the next file instead of running on unseen;
	// the files it never read are findings, not passes.
	if ctx != nil && ctx.Err() != nil {
		res.Findings = append(res.Findings, Finding{Rule: "fs/not-scanned", Severity: High, Offset: NoOffset,
			Message: fmt.Sprintf("the scan was stopped (%v) before this file was read; it cannot be shown safe, scan it again with more time", ctx.Err())})
		return res
	}
	f, err := opts.open(path)
	if err != nil {
		if errors.Is(err, ErrNotRegular) {
			// Swapped for a FIFO or device after the walk listed it.
			res.Findings = append(res.Findings, Finding{Rule: "fs/special-file", Severity: High, Offset: NoOffset,
				Message: fmt.Sprintf("was replaced by a special file while the folder was scanned (%v); not read, it cannot be shown safe", err)})
			return res
		}
		res.Findings = append(res.Findings, Finding{Rule: "fs/unreadable", Severity: High, Offset: NoOffset,
			Message: fmt.Sprintf("cannot be opened (%v); it was not scanned", err)})
		return res
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		res.Findings = append(res.Findings, Finding{Rule: "fs/unreadable", Severity: High, Offset: NoOffset,
			Message: fmt.Sprintf("cannot be read (%v); it was not scanned", err)})
		return res
	}
	res.Size = fi.Size()
	s := NewScope(path, opts, res)
	s.onDisk = true
	if a := s.analyze(filepath.Base(path), f, fi.Size()); a == nil && res.Format == "unknown" {
		res.Format = "other"
	}
	if opts.Hash {
		h := sha256.New()
		buf := GetHashBuf()
		_, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, fi.Size()), *buf)
		PutHashBuf(buf)
		if err != nil {
			s.Reportf("fs/unreadable", High, NoOffset, "reading the file to hash it failed: %v", err)
		} else {
			res.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
	}
	return res
}

// ScanReader scans content that is not a file on disk (an upload, a test
// vector) as if it were a file called name.
func ScanReader(name string, r io.ReaderAt, size int64, opts *Options) *FileResult {
	res := &FileResult{Path: name, Format: "unknown", Size: size, Findings: []Finding{}}
	s := NewScope(name, opts, res)
	if a := s.analyze(filepath.Base(name), r, size); a == nil && res.Format == "unknown" {
		res.Format = "other"
	}
	return res
}

// progress prepares the progress callback: the size of every listed file
// (a stat each, only when someone is watching) and the first report.
func (w *walker) progress() (func(Progress), map[string]int64, Progress) {
	if w.opts.Progress == nil {
		return nil, nil, Progress{}
	}
	sizes := make(map[string]int64, len(w.jobs))
	pr := Progress{Files: len(w.jobs)}
	for _, j := range w.jobs {
		if fi, err := os.Stat(j.path); err == nil {
			sizes[j.name] = fi.Size()
			pr.Bytes += fi.Size()
		}
	}
	w.opts.Progress(pr)
	return w.opts.Progress, sizes, pr
}

// dropLinkedCacheBlobs lists each file of a Hugging Face cache once: a
// blob that a snapshot link in the same scan points to is scanned under the
// snapshot's name (the name a loader opens, whose extension the checks
// compare with the content), not a second time under its hash. Blobs no
// snapshot links to are still scanned under their own names, and every blob
// is still verified against its name by the cache's folder check.
func (w *walker) dropLinkedCacheBlobs() {
	linked := map[string]bool{}
	for _, j := range w.jobs {
		if fi, err := os.Lstat(j.path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if t, err := filepath.EvalSymlinks(j.path); err == nil && isCacheBlob(t) {
				linked[t] = true
			}
		}
	}
	if len(linked) == 0 {
		return
	}
	kept := w.jobs[:0]
	for _, j := range w.jobs {
		if isCacheBlob(j.path) {
			if fi, err := os.Lstat(j.path); err == nil && fi.Mode().IsRegular() {
				if real, err := filepath.EvalSymlinks(j.path); err == nil && linked[real] {
					continue
				}
			}
		}
		kept = append(kept, j)
	}
	w.jobs = kept
}

// isCacheBlob reports whether p is <cache>/models--*/blobs/<file>.
func isCacheBlob(p string) bool {
	dir := filepath.Dir(p)
	repo := filepath.Base(filepath.Dir(dir))
	return filepath.Base(dir) == "blobs" && (strings.HasPrefix(repo, "models--") || strings.HasPrefix(repo, "datasets--") || strings.HasPrefix(repo, "spaces--"))
}
