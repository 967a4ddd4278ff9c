// Package onepass makes a check read each model file once: the scan's
// reads and the hashing for the signature, the provenance and the report
// see the same bytes, and the manifest a signature is checked against is
// built from those reads.
//
// Why: a check that opens a file to scan it and again to hash it gives a
// verdict for bytes that were never scanned when a writer swaps the file
// in between (a publisher-signed malicious checkpoint shown to the scanner
// as a clean one). Renames are caught by identity (device, inode, size,
// modification time on the open file and on the path, before and after);
// in-place rewrites, including those that restore the modification time
// or come through a shared mapping, are caught by content: every read an
// analyzer makes goes through a ReaderAt that records which bytes it got
// (spans and their SHA-256, coalesced, bounded), and the one sequential
// pass that hashes (and optionally copies) the file on the same open file
// re-hashes each span from the bytes it hashes. A file whose spans do not
// match, whose size or identity moved, is Changed, and the gate refuses it
// (check/file-changed). So whatever was scanned is exactly what was hashed,
// and the verdict and the digests are about one set of bytes.
package onepass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/verify"
)

// DefaultMaxSpans caps the spans kept per file (48 bytes each): a zip of
// 200,000 members read header by header stays well under it.
const DefaultMaxSpans = 1 << 21

// Options configure a Session.
type Options struct {
	// Root is the model folder (for a one-file model, its folder): copies
	// are placed at their path relative to it.
	Root string
	// SnapshotDir, when set, receives a copy of every file, written from
	// the bytes of the hashing pass. It must exist and be private.
	SnapshotDir string
	// ShardSize, when positive, makes the pass also compute OMS shard
	// digests of that size. SetShardSize may set it before any file is
	// opened.
	ShardSize int64
	// HashType is the signature's hash_type (verify.HashFactory names;
	// "" is sha256): shard digests are of this type, and for the files
	// method a type other than sha256 adds that whole-file digest
	// (File.Digest). SetHashType may set it before any file is opened.
	HashType string
	// Ctx, when set, stops hashing passes once it is done (a service's
	// request timeout); the file then has Err and no digests.
	Ctx context.Context
	// SignatureOnly says only the signature's digests are read (no
	// report digests, provenance or snapshot): the pass skips the
	// whole-file SHA-256 when the signature needs other digests (shards,
	// or another hash type; File's SHA256 stays empty and FileDigests
	// refuses sha256 files), and hashes a large file's shards in parallel.
	SignatureOnly bool
	// NoHash skips the hashing pass and the recording: only the identity
	// checks run (a text check with nothing to verify reads headers, not
	// weights, as a scan does).
	NoHash bool
	// MaxSpans caps the recorded reads per file (DefaultMaxSpans if 0).
	MaxSpans int
	// BeforeHash is a test hook, called after a file's last analyzer read
	// and before its hashing pass: tests swap the file there.
	BeforeHash func(path string)
	// DuringHash is a test hook, called after the first chunk of the
	// hashing pass of a file larger than one chunk.
	DuringHash func(path string)
	// OpenHook is a test hook: an error it returns fails the open (a
	// permission error cannot be provoked for root in a test).
	OpenHook func(path string) error
}

// File is one model file as the check read it.
type File struct {
	Path     string // absolute path as opened
	Snapshot string // the copy, when snapshotting
	Size     int64
	SHA256   string
	// HashType is the hash of Digest and Shards (verify.HashFactory
	// names).
	HashType string
	// Digest is the whole file's HashType digest (the files method; the
	// same as SHA256 for sha256), "" when not computed.
	Digest string
	// Shards are the HashType digests of each ShardSize piece
	// (ShardSize > 0).
	Shards    []string
	ShardSize int64
	// Changed says how the file changed during the check; nil when it
	// did not. A changed file's digests are not about what was scanned.
	Changed error
	// Err is a read error of the hashing pass.
	Err error

	info fs.FileInfo
}

// Session tracks the files of one check.
type Session struct {
	opts Options
	mu   sync.Mutex
	open map[string]*entry
	// byID finds an open entry by identity (size and modification time
	// first, then os.SameFile): one file reached by two names (a Hugging
	// Face snapshot link and the blob it points to) is one open, one
	// record and one hashing pass.
	byID   map[idKey][]*entry
	done   map[string]*File
	bySnap map[string]*File
	byReal map[string]*File
	bytes  map[string][]byte
	// kept holds small files' hashed bytes (keptFileMax each, keptMax in
	// all) for analyzers that read a file after its own scan finished (a
	// folder's manifests, read while sniffing another file): they get
	// exactly the bytes hashed, with no second open and no second pass.
	kept      map[string]*keptFile
	keptBytes int64
	pinned    []*handle
	// passes counts the hashing passes running (the read-ahead yields
	// its core when every core hashes).
	passes atomic.Int32
	// openErrs are the files that could not be opened, by path.
	openErrs map[string]error
	// opening holds the paths being opened right now: a second opener of
	// the same path waits for the first and shares its entry, so a file
	// is opened once even when its own scan and another analyzer's side
	// read ask for it at the same moment.
	opening map[string]chan struct{}
	// minShardWorkers is a test hook: at least this many goroutines hash
	// a shards-only file (so -cpu 1 exercises the parallel pass too).
	minShardWorkers int
}

type entry struct {
	path string // the name the file is reported and copied under
	// paths are every name the file was opened by (path among them):
	// the pass checks that each still names it.
	paths []string
	f     *os.File
	info  fs.FileInfo
	refs  int
	// hold keeps the file open after its last close: a folder check read
	// it before the walk's own scan of it, which must share the open.
	hold bool
	// scanned: the walk opened it for its own scan (under path).
	scanned bool
	// passing: its hashing pass runs; a new open waits for finished
	// (then gets the kept bytes, or opens anew) rather than join reads
	// the pass has already checked.
	passing  bool
	finished chan struct{}
	mu       sync.Mutex
	rec      *recorder
}

// New starts a session.
func New(o Options) *Session {
	if o.MaxSpans <= 0 {
		o.MaxSpans = DefaultMaxSpans
	}
	return &Session{opts: o, open: map[string]*entry{}, byID: map[idKey][]*entry{}, kept: map[string]*keptFile{}, done: map[string]*File{}, bySnap: map[string]*File{}, bytes: map[string][]byte{}, openErrs: map[string]error{}, opening: map[string]chan struct{}{}}
}

// SetShardSize sets Options.ShardSize. Call it before the scan (the
// gate does, from the signature it read first): files hashed already keep
// the size they were hashed with, and FileDigests refuses another.
func (s *Session) SetShardSize(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 {
		return fmt.Errorf("shard size %d is not positive", n)
	}
	s.opts.ShardSize = n
	return nil
}

// SetHashType sets Options.HashType, refusing a type verify does not
// know (the signature is then refused when it is checked, and the pass
// keeps sha256). Call it before the scan, as SetShardSize.
func (s *Session) SetHashType(t string) error {
	name, _, err := verify.HashFactory(t)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.HashType = name
	return nil
}

// Abs makes p absolute against the working directory read once per
// process (which must not change directory meanwhile): filepath.Abs asks
// the OS for it on every call (three system calls), which a folder of
// 20,000 files would pay many times over.
func Abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	cwdOnce.Do(func() { cwd, _ = os.Getwd() })
	if cwd == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}

var (
	cwdOnce sync.Once
	cwd     string
)

func abs(p string) string { return Abs(p) }

// Open opens path for an analyzer (formats.Options.Open). Opens of a path
// already open share one file and one record; the hashing pass runs when
// the last handle is closed.
func (s *Session) Open(path string) (formats.Handle, error) {
	return s.openHandle(path, true)
}

// OpenOther opens a file a folder check or analyzer reads besides its
// own (formats.Options.OpenOther): the open file is kept until the scan
// of that file closes it, or Finish, so both reads share one open and
// one record. The file may be named differently from the walk's name for
// it (a cache blob reached through a snapshot link): the open is shared by
// identity, and the pass checks that every name still names it.
func (s *Session) OpenOther(path string) (formats.Handle, error) {
	return s.openHandle(path, false)
}

// openHandle opens path, sharing an open entry of the same name or the
// same file. own is the walk's open of the file for its own scan: its name
// is the one the file is reported and copied under, and two walk names of
// one file (hard links) stay two entries, each copied.
func (s *Session) openHandle(path string, own bool) (formats.Handle, error) {
	key := abs(path)
	s.mu.Lock()
	if e := s.open[key]; e != nil && e.passing {
		s.mu.Unlock()
		<-e.finished
		return s.openHandle(path, own)
	}
	if e := s.open[key]; e != nil && joinable(e, key, own) {
		s.join(e, key, own)
		s.mu.Unlock()
		return &handle{s: s, e: e}, nil
	}
	if k := s.kept[key]; k != nil && !own {
		s.mu.Unlock()
		return k, nil
	}
	if w := s.opening[key]; w != nil {
		s.mu.Unlock()
		<-w
		return s.openHandle(path, own)
	}
	wait := make(chan struct{})
	s.opening[key] = wait
	s.mu.Unlock()
	var released bool
	release := func() {
		if !released {
			released = true
			s.mu.Lock()
			delete(s.opening, key)
			s.mu.Unlock()
			close(wait)
		}
	}
	defer release()
	var f *os.File
	var fi fs.FileInfo
	var err error
	if s.opts.OpenHook != nil {
		err = s.opts.OpenHook(path)
	}
	if err == nil {
		f, fi, err = formats.OpenRegular(path)
	}
	if err != nil {
		s.mu.Lock()
		s.openErrs[key] = err
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Lock()
	e := s.open[key] // another worker opened it meanwhile
	if e != nil && e.passing {
		s.mu.Unlock()
		f.Close()
		<-e.finished
		release()
		return s.openHandle(path, own)
	}
	if e != nil && !joinable(e, key, own) {
		e = nil
	}
	if e == nil {
		// The same file under another name: share its open.
		for _, o := range s.byID[idOf(fi)] {
			if !o.passing && os.SameFile(o.info, fi) && joinable(o, key, own) {
				e = o
				break
			}
		}
	}
	if e != nil {
		s.join(e, key, own)
		s.mu.Unlock()
		f.Close()
		return &handle{s: s, e: e}, nil
	}
	// An analyzer's open (not the walk's) holds the file for its own
	// scan, which must share it; Finish releases what no scan came for.
	e = &entry{path: key, paths: []string{key}, f: f, info: fi, refs: 1, rec: newRecorder(s.opts.MaxSpans), scanned: own, hold: !own, finished: make(chan struct{})}
	s.open[key] = e
	id := idOf(fi)
	s.byID[id] = append(s.byID[id], e)
	s.mu.Unlock()
	return &handle{s: s, e: e}, nil
}

// joinable: the walk's open joins an entry unless the walk opened that
// file already under another name.
func joinable(e *entry, key string, own bool) bool {
	return !own || !e.scanned || e.path == key
}

// join adds a handle to e under key (s.mu held).
func (s *Session) join(e *entry, key string, own bool) {
	e.refs++
	if !slices.Contains(e.paths, key) {
		e.paths = append(e.paths, key)
	}
	s.open[key] = e
	if own {
		e.scanned = true
		e.hold = false // the scan of the file itself: hash when it is done
		e.path = key
	}
}

// idKey narrows the search for an open file with the same identity.
type idKey struct {
	size, mtime int64
}

func idOf(fi fs.FileInfo) idKey { return idKey{fi.Size(), fi.ModTime().UnixNano()} }

// forget removes a finished entry from the open maps (under s.mu).
func (s *Session) forget(e *entry) {
	for _, p := range e.paths {
		if s.open[p] == e {
			delete(s.open, p)
		}
	}
	id := idOf(e.info)
	list := s.byID[id]
	for i, o := range list {
		if o == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byID, id)
	} else {
		s.byID[id] = list
	}
}

// ReadFile reads a whole small file (a signature, an attestation) through
// the session and keeps it open until Finish, so the scan of the same file
// shares the open and the hashing pass proves these are its bytes.
func (s *Session) ReadFile(path string, limit int64) ([]byte, error) {
	key := abs(path)
	s.mu.Lock()
	if b, ok := s.bytes[key]; ok {
		s.mu.Unlock()
		return b, nil
	}
	// The snapshot copy of a file read before: the same bytes.
	if f, ok := s.bySnap[key]; ok {
		if b, ok := s.bytes[f.Path]; ok {
			s.mu.Unlock()
			return b, nil
		}
	}
	s.mu.Unlock()
	h, err := s.openHandle(path, false)
	if err != nil {
		return nil, err
	}
	fi, err := h.Stat()
	if err != nil {
		h.Close()
		return nil, err
	}
	size := fi.Size()
	if size > limit {
		h.Close()
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, size, limit)
	}
	b := make([]byte, size)
	if n, err := h.ReadAt(b, 0); n < len(b) {
		h.Close()
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	s.mu.Lock()
	s.bytes[key] = b
	if hh, ok := h.(*handle); ok {
		s.pinned = append(s.pinned, hh)
	}
	s.mu.Unlock()
	return b, nil
}

// Finish closes what ReadFile kept open (running those files' hashing
// passes). Call it after the scan, before using the digests.
func (s *Session) Finish() {
	s.mu.Lock()
	p := s.pinned
	s.pinned = nil
	s.mu.Unlock()
	for _, h := range p {
		h.Close()
	}
	// Files a folder check held for a scan that never came (it was not
	// listed, or the scan stopped).
	s.mu.Lock()
	var held []*entry
	for _, e := range s.open {
		if e.refs == 0 && !e.passing && !slices.Contains(held, e) {
			held = append(held, e)
		}
	}
	for _, e := range held {
		e.passing = true
	}
	s.mu.Unlock()
	for _, e := range held {
		s.complete(e)
	}
}

// handle is one analyzer's view of an entry.
type handle struct {
	s      *Session
	e      *entry
	closed bool
	mu     sync.Mutex
}

func (h *handle) ReadAt(p []byte, off int64) (int, error) {
	e := h.e
	n, err := e.f.ReadAt(p, off)
	if h.s.opts.NoHash {
		return n, err
	}
	e.mu.Lock()
	e.rec.add(off, p[:n])
	if n < len(p) && errors.Is(err, io.EOF) {
		e.rec.eof(off, n)
	}
	e.mu.Unlock()
	return n, err
}

func (h *handle) Stat() (fs.FileInfo, error) { return h.e.info, nil }

func (h *handle) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	s := h.s
	s.mu.Lock()
	h.e.refs--
	last := h.e.refs == 0 && !h.e.hold
	if last {
		h.e.passing = true
	}
	s.mu.Unlock()
	if !last {
		return nil
	}
	s.complete(h.e)
	return nil
}

// complete runs an entry's pass, closes it and files the result.
func (s *Session) complete(e *entry) {
	f := s.finish(e)
	e.f.Close()
	s.mu.Lock()
	if prev, ok := s.done[f.Path]; ok {
		// Opened twice in one check (a folder check read it before its
		// own scan): both reads must be of one file with one content.
		if prev.Changed == nil && (!os.SameFile(prev.info, f.info) || prev.SHA256 != f.SHA256 || prev.Digest != f.Digest || !slices.Equal(prev.Shards, f.Shards) || prev.Size != f.Size) {
			prev.Changed = errors.New("the file was opened twice during the check and its identity or content differed between the opens")
		}
		if prev.Changed == nil && f.Changed != nil {
			prev.Changed = f.Changed
		}
	} else {
		s.done[f.Path] = f
		s.byReal = nil
		if f.Snapshot != "" {
			s.bySnap[abs(f.Snapshot)] = f
		}
	}
	s.forget(e)
	e.passing = false
	s.mu.Unlock()
	close(e.finished)
}

type ctxKey struct{}

// NewContext returns ctx carrying s, for the signature and provenance
// checks the gate calls after its pass.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session of the check, or nil outside one.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}
