package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/modelvet/modelvet/internal/fileid"
)

// Serialization methods of OMS v1.0.
const (
	MethodFiles  = "files"  // one digest per regular file
	MethodShards = "shards" // one digest per shard "path:start:end"

	// DefaultShardSize is the reference tool's shard size (1 GB, decimal).
	DefaultShardSize int64 = 1_000_000_000

	// DefaultSignatureName is where the signature goes by default.
	DefaultSignatureName = "model.sig"
)

// MaxShards caps the shards one model is cut into (shards method).
const MaxShards = 1 << 20

// DefaultIgnores are left out of every manifest, as the reference tool
// does: git metadata is not part of a model.
var DefaultIgnores = []string{".git", ".gitattributes", ".github", ".gitignore"}

// HashOptions say how a model is turned into a manifest.
type HashOptions struct {
	Method string // MethodFiles (default) or MethodShards
	// HashType hashes each file or shard: HashSHA256 (default),
	// HashBLAKE2b or HashBLAKE3. The root digest is SHA-256 whatever it is.
	HashType  string
	ShardSize int64 // shards only; DefaultShardSize when 0
	// IgnorePaths are relative to the model root ("/" or the OS separator);
	// a folder ignores everything under it. DefaultIgnores are added
	// unless NoDefaultIgnores.
	IgnorePaths      []string
	NoDefaultIgnores bool
	// AllowSymlinks hashes what a link inside the model points to (the
	// target must stay inside the model); otherwise a link is an error.
	AllowSymlinks bool
	// Only, when non-nil, restricts hashing to these POSIX relative paths
	// (verification with --ignore-unsigned-files).
	Only map[string]bool
	// Workers is the number of files or shards hashed at once; 0 means
	// one per CPU.
	Workers int
	// Progress, when non-nil, receives a progress line now and then for
	// models of at least ProgressMinBytes (default 1 GiB): small models
	// hash in a blink and a progress line would only be noise.
	Progress         io.Writer
	ProgressMinBytes int64
	// Digests, when set, supplies the digests instead of reading the
	// files: the gate's one pass (internal/onepass) read and hashed every
	// file while it was scanned, and the manifest must be built from those
	// bytes, never from a second read a writer could race.
	Digests Digests
}

// Digests supplies file digests computed elsewhere.
type Digests interface {
	// FileDigests returns the size of the file at path and its digest
	// with hashType (a name HashFactory knows): of the whole file when
	// shardSize is 0, else of each shardSize piece. An error when it has
	// none (the file was not read, changed meanwhile, or was hashed with
	// another type or shard size): never digests of a second read.
	FileDigests(path, hashType string, shardSize int64) (size int64, whole string, shards []string, err error)
}

// Resource is one manifest entry: a file or a shard and its digest.
type Resource struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"` // lowercase hex
}

// Manifest is a hashed model: the resources in canonical order and how
// they were computed.
type Manifest struct {
	ModelName     string     `json:"model_name"`
	Method        string     `json:"method"`
	HashType      string     `json:"hash_type"`
	ShardSize     int64      `json:"shard_size,omitempty"`
	AllowSymlinks bool       `json:"allow_symlinks"`
	IgnorePaths   []string   `json:"ignore_paths,omitempty"`
	Resources     []Resource `json:"resources"`
	Bytes         int64      `json:"bytes"` // bytes hashed
	// Skipped are the entries (files, or folders as a whole) present in
	// the model that an ignore path left out, POSIX relative. Verify
	// reports those the signature's own ignore_paths hid: a file there is
	// in the model but nothing vouches for it.
	Skipped []string `json:"-"`
}

// RootDigest is the OMS subject digest: SHA-256 over the raw bytes of the
// resource digests, in the order listed.
func (m *Manifest) RootDigest() string { return rootDigest(m.Resources) }

func rootDigest(rs []Resource) string {
	h := sha256.New()
	for _, r := range rs {
		b, err := hex.DecodeString(r.Digest)
		if err != nil {
			// Not reachable for manifests we computed; a signature with
			// bad hex is refused before this is called.
			b = []byte(r.Digest)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// work is one unit to hash: a whole file or one shard of it.
type work struct {
	rel        string // POSIX relative name ("." for a single-file model)
	path       string // OS path to open
	start, end int64
	size       int64 // the file's size when listed
	digest     string
	err        error
}

// HashModel computes the manifest of the model at root (a folder, or a
// single file whose one resource is named ".", as the reference tool
// does).
func HashModel(root string, o HashOptions) (*Manifest, error) {
	if o.Method == "" {
		o.Method = MethodFiles
	}
	if o.Method != MethodFiles && o.Method != MethodShards {
		return nil, fmt.Errorf("unknown serialization method %q (want files or shards)", o.Method)
	}
	hashName, ht, err := lookupHashType(o.HashType)
	if err != nil {
		return nil, err
	}
	if o.Method == MethodShards {
		if o.ShardSize == 0 {
			o.ShardSize = DefaultShardSize
		}
		if o.ShardSize < 0 {
			return nil, fmt.Errorf("shard size %d is not positive", o.ShardSize)
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	ignores := normalizeIgnores(o)
	files, skipped, err := listFiles(abs, ignores, o)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("model %s contains no regular files after applying exclusions", root)
	}
	if o.Method == MethodShards {
		// A signature names the shard size; a hostile one (1 byte) would
		// make a work item per byte of the model.
		var n int64
		for _, f := range files {
			n += (f.size + o.ShardSize - 1) / o.ShardSize
		}
		if n > MaxShards {
			return nil, fmt.Errorf("shard size %d cuts this model into %d shards, more than the %d accepted", o.ShardSize, n, MaxShards)
		}
	}
	var units []*work
	var total int64
	for _, f := range files {
		total += f.size
		if o.Method == MethodFiles {
			units = append(units, &work{rel: f.rel, path: f.path, start: 0, end: f.size, size: f.size})
			continue
		}
		// Empty files have no shards (reference behaviour).
		for start := int64(0); start < f.size; start += o.ShardSize {
			end := min(start+o.ShardSize, f.size)
			units = append(units, &work{rel: f.rel, path: f.path, start: start, end: end, size: f.size})
		}
	}
	if o.Digests != nil {
		if err := fromDigests(units, hashName, o); err != nil {
			return nil, err
		}
	} else {
		if err := hashUnits(units, total, ht.new, o); err != nil {
			return nil, err
		}
		if afterHashHook != nil {
			afterHashHook()
		}
		if err := unchanged(files); err != nil {
			return nil, err
		}
	}
	m := &Manifest{
		ModelName:     filepath.Base(abs),
		Method:        o.Method,
		HashType:      hashName,
		AllowSymlinks: o.AllowSymlinks,
		IgnorePaths:   ignores,
		Bytes:         total,
		Skipped:       skipped,
	}
	if o.Method == MethodShards {
		m.ShardSize = o.ShardSize
	}
	sort.Slice(units, func(i, j int) bool { return lessKey(units[i], units[j]) })
	// Shard resources are named as model_signing names them
	// ("sha256-sharded-<size>"): its verifier compares each digest with
	// its algorithm name, so a shard named plain "sha256" (OMS v1.0 6.3.2
	// and its schema) fails there. ParseStatement reads both.
	alg := hashName
	if o.Method == MethodShards {
		alg = ShardAlgorithm(hashName, o.ShardSize)
	}
	for _, u := range units {
		name := u.rel
		if o.Method == MethodShards {
			name = u.rel + ":" + strconv.FormatInt(u.start, 10) + ":" + strconv.FormatInt(u.end, 10)
		}
		m.Resources = append(m.Resources, Resource{Name: name, Algorithm: alg, Digest: u.digest})
	}
	return m, nil
}

// lessKey orders resources as the reference tool does: Python sorts
// PurePosixPath by its components (so "a/b" comes before "a-b", unlike a
// plain string sort), then shards by start and end offsets.
func lessKey(a, b *work) bool {
	if a.rel != b.rel {
		return lessPath(a.rel, b.rel)
	}
	if a.start != b.start {
		return a.start < b.start
	}
	return a.end < b.end
}

func lessPath(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

// normalizeIgnores makes ignore paths POSIX, relative and clean, adds the
// defaults, and returns them sorted and unique.
func normalizeIgnores(o HashOptions) []string {
	set := map[string]bool{}
	add := func(p string) {
		p = strings.ReplaceAll(p, "\\", "/")
		p = strings.TrimSuffix(cleanPosix(p), "/")
		if p == "" || p == "." {
			return
		}
		set[p] = true
	}
	for _, p := range o.IgnorePaths {
		add(p)
	}
	if !o.NoDefaultIgnores {
		for _, p := range DefaultIgnores {
			add(p)
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func cleanPosix(p string) string {
	p = strings.TrimPrefix(p, "./")
	parts := strings.Split(p, "/")
	var keep []string
	for _, s := range parts {
		if s == "" || s == "." {
			continue
		}
		keep = append(keep, s)
	}
	return strings.Join(keep, "/")
}

func ignored(rel string, ignores []string) bool {
	for _, ig := range ignores {
		if rel == ig || strings.HasPrefix(rel, ig+"/") {
			return true
		}
	}
	return false
}

type fileEntry struct {
	rel, path string
	size      int64
	info      os.FileInfo // as listed (os.Stat of path), to see a change while hashing
}

// listFiles walks the model. Rules, each against a class of attack:
//   - a symlink is refused unless allowed (a link can make the signed
//     content depend on files outside the model);
//   - an allowed link must resolve inside the model (no reading of
//     /etc/passwd into a manifest), and a link cycle is an error;
//   - sockets, devices and pipes are refused (reading them can block or
//     change between reads);
//   - a name containing a backslash is refused, since on Windows it is a
//     separator and the same manifest would name another file.
func listFiles(abs string, ignores []string, o HashOptions) ([]fileEntry, []string, error) {
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// The model path itself may be a link (e.g. a cache snapshot); the
		// files inside are what is checked.
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, nil, err
		}
		abs = real
		if fi, err = os.Stat(abs); err != nil {
			return nil, nil, err
		}
	}
	if fi.Mode().IsRegular() {
		return []fileEntry{{rel: ".", path: abs, size: fi.Size(), info: fileid.Pin(fi)}}, nil, nil
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is neither a file nor a folder", abs)
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, nil, err
	}
	var out []fileEntry
	var skipped []string
	visited := map[string]bool{realRoot: true}
	var walk func(dir, relDir string) error
	walk = func(dir, relDir string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			if strings.Contains(name, "\\") {
				return fmt.Errorf("%s: file name contains a backslash, which Windows reads as a folder separator; rename it", filepath.Join(dir, name))
			}
			rel := name
			if relDir != "" {
				rel = relDir + "/" + name
			}
			if ignored(rel, ignores) {
				skipped = append(skipped, rel)
				continue
			}
			if !utf8.ValidString(name) {
				// OMS v1.0 6.1: the name could not be written losslessly in
				// the JSON manifest (Go would write U+FFFD, Python a lone
				// surrogate), so no signature can name this file.
				return fmt.Errorf("%q: file name is not valid UTF-8, so a signature cannot name it; rename it", filepath.Join(dir, name))
			}
			p := filepath.Join(dir, name)
			mode := e.Type()
			if mode&fs.ModeSymlink != 0 {
				if !o.AllowSymlinks {
					return fmt.Errorf("%s is a symbolic link; links are refused unless --allow-symlinks is given", p)
				}
				target, err := filepath.EvalSymlinks(p)
				if err != nil {
					return fmt.Errorf("%s: broken or looping symbolic link: %v", p, err)
				}
				if !within(realRoot, target) {
					return fmt.Errorf("%s links to %s, outside the model folder", p, target)
				}
				st, err := os.Stat(target)
				if err != nil {
					return err
				}
				if st.IsDir() {
					// model_signing does not descend into a linked folder
					// (pathlib's "**" does not follow links): its files
					// are signed under their real paths, inside the model,
					// and the link itself is no resource. Descending
					// would list each file twice and fail every reference
					// signature of such a model. Unless the real folder
					// is left out: then nothing signs what the link shows.
					trel, err := filepath.Rel(realRoot, target)
					if err != nil {
						return err
					}
					trel = filepath.ToSlash(trel)
					if trel != "." && ignored(trel, ignores) {
						return fmt.Errorf("%s links to the folder %s, which is left out of the signature (ignored): the files seen through the link would not be signed", p, trel)
					}
					continue
				}
				if !st.Mode().IsRegular() {
					return fmt.Errorf("%s links to a special file; only regular files and folders can be signed", p)
				}
				if o.Only == nil || o.Only[rel] {
					out = append(out, fileEntry{rel: rel, path: target, size: st.Size(), info: fileid.Pin(st)})
				}
				continue
			}
			if mode.IsDir() {
				real, err := filepath.EvalSymlinks(p)
				if err == nil {
					if visited[real] {
						return fmt.Errorf("%s: folder reached twice (bind mount or link cycle)", p)
					}
					visited[real] = true
				}
				if err := walk(p, rel); err != nil {
					return err
				}
				continue
			}
			if !mode.IsRegular() {
				return fmt.Errorf("%s is a special file (socket, device or pipe); only regular files and folders can be signed", p)
			}
			if o.Only != nil && !o.Only[rel] {
				continue
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("%s was replaced by a link or special file while the folder was listed; list it again when nothing writes to the model", p)
			}
			out = append(out, fileEntry{rel: rel, path: p, size: st.Size(), info: fileid.Pin(st)})
		}
		return nil
	}
	if err := walk(abs, ""); err != nil {
		return nil, nil, err
	}
	return out, skipped, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// fromDigests fills the units from o.Digests. A size that differs from
// the listing means the file changed after it was read: an error, never a
// manifest mixing two versions.
func fromDigests(units []*work, hashName string, o HashOptions) error {
	shardSize := int64(0)
	if o.Method == MethodShards {
		shardSize = o.ShardSize
	}
	for _, u := range units {
		size, whole, shards, err := o.Digests.FileDigests(u.path, hashName, shardSize)
		if err != nil {
			return err
		}
		if size != u.size {
			return fmt.Errorf("%s: %d bytes were read, but the folder now lists %d; check the model again when nothing writes to it", u.path, size, u.size)
		}
		if shardSize == 0 {
			u.digest = whole
			continue
		}
		i := u.start / shardSize
		if i >= int64(len(shards)) {
			return fmt.Errorf("%s: shard at %d was not hashed", u.path, u.start)
		}
		u.digest = shards[i]
	}
	return nil
}

// afterHashHook, set only by tests, runs between hashing and the check
// that nothing changed: it plays the writer racing the hash.
var afterHashHook func()

// unchanged checks, after hashing, that every file is still the one that
// was listed, with the same size and modification time. Each shard opens
// its file anew, so a file rewritten in place (same size) or renamed over
// while it was hashed would otherwise give a manifest that mixes two
// versions, or describes bytes that never existed together: signing it
// would vouch for a model nobody has, and a verifier racing a writer
// could pass bytes other than the ones a loader then reads.
func unchanged(files []fileEntry) error {
	for _, f := range files {
		st, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("%s: %v (the file went away while the model was hashed)", f.path, err)
		}
		if f.info == nil {
			continue
		}
		if !os.SameFile(f.info, st) || st.Size() != f.info.Size() || !st.ModTime().Equal(f.info.ModTime()) {
			return fmt.Errorf("%s changed while the model was hashed (replaced, rewritten or resized); hash it again when nothing writes to the model", f.path)
		}
	}
	return nil
}

// hashBuf is the read size: large reads keep syscalls off the profile.
const hashBuf = 4 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, hashBuf); return &b }}

// hashUnits hashes every unit with a pool of workers, largest first so
// the long ones start early.
func hashUnits(units []*work, total int64, newHash func() hash.Hash, o HashOptions) error {
	n := o.Workers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	order := make([]*work, len(units))
	copy(order, units)
	sort.SliceStable(order, func(i, j int) bool { return order[i].end-order[i].start > order[j].end-order[j].start })
	var done atomic.Int64
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	minBytes := o.ProgressMinBytes
	if minBytes == 0 {
		minBytes = 1 << 30
	}
	if o.Progress != nil && total >= minBytes {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-stop:
					fmt.Fprintf(o.Progress, "\rhashing: %d/%d MB done in %s\n", done.Load()>>20, total>>20, time.Since(start).Round(time.Millisecond))
					return
				case <-t.C:
					fmt.Fprintf(o.Progress, "\rhashing: %d/%d MB", done.Load()>>20, total>>20)
				}
			}
		}()
	}
	ch := make(chan *work)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range ch {
				u.digest, u.err = hashRange(u.path, u.start, u.end, u.size, newHash(), &done)
			}
		}()
	}
	for _, u := range order {
		ch <- u
	}
	close(ch)
	wg.Wait()
	close(stop)
	pwg.Wait()
	for _, u := range units {
		if u.err != nil {
			return u.err
		}
	}
	return nil
}

// hashRange hashes bytes [start, end) of the file. A file that shrank
// since it was listed is an error (its content changed under us), and so
// is one that grew: the unit that ends the file (end == size) checks that
// nothing follows, or bytes appended while hashing would pass unhashed
// (attack: a writer racing the verifier appends a new zip central
// directory to a signed checkpoint).
func hashRange(path string, start, end, size int64, h hash.Hash, done *atomic.Int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for off := start; off < end; {
		n := int(min(int64(len(buf)), end-off))
		k, err := f.ReadAt(buf[:n], off)
		h.Write(buf[:k])
		off += int64(k)
		done.Add(int64(k))
		if k < n {
			if err == nil || errors.Is(err, io.EOF) {
				return "", fmt.Errorf("%s: file shrank while being hashed (ends at %d, expected %d)", path, off, end)
			}
			return "", fmt.Errorf("%s: %v", path, err)
		}
	}
	if end == size {
		var one [1]byte
		if k, _ := f.ReadAt(one[:], end); k > 0 {
			return "", fmt.Errorf("%s: file grew while being hashed (it was %d bytes when listed); hash it again when nothing writes to it", path, size)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
