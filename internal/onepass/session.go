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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

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
	// Ctx, when set, stops hashing passes once it is done (a service's
	// request timeout); the file then has Err and no digests.
	Ctx context.Context
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
	// Shards are the SHA-256 of each ShardSize piece (ShardSize > 0).
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
	opts   Options
	mu     sync.Mutex
	open   map[string]*entry
	done   map[string]*File
	bySnap map[string]*File
	byReal map[string]*File
	bytes  map[string][]byte
	pinned []*handle
	// openErrs are the files that could not be opened, by path.
	openErrs map[string]error
}

type entry struct {
	path string
	f    *os.File
	info fs.FileInfo
	refs int
	// hold keeps the file open after its last close: a folder check read
	// it before the walk's own scan of it, which must share the open.
	hold bool
	mu   sync.Mutex
	rec  *recorder
}

// New starts a session.
func New(o Options) *Session {
	if o.MaxSpans <= 0 {
		o.MaxSpans = DefaultMaxSpans
	}
	return &Session{opts: o, open: map[string]*entry{}, done: map[string]*File{}, bySnap: map[string]*File{}, bytes: map[string][]byte{}, openErrs: map[string]error{}}
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
	h, err := s.openHandle(path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	h.e.hold = false // the scan of the file itself: hash when it is done
	s.mu.Unlock()
	return h, nil
}

// OpenOther opens a file a folder check or analyzer reads besides its
// own (formats.Options.OpenOther): the open file is kept until the scan
// of that file closes it, or Finish, so both reads share one open and
// one record.
func (s *Session) OpenOther(path string) (formats.Handle, error) {
	h, err := s.openHandle(path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if h.e.refs == 1 {
		h.e.hold = true
	}
	s.mu.Unlock()
	return h, nil
}

func (s *Session) openHandle(path string) (*handle, error) {
	key := abs(path)
	s.mu.Lock()
	if e := s.open[key]; e != nil {
		e.refs++
		s.mu.Unlock()
		return &handle{s: s, e: e}, nil
	}
	s.mu.Unlock()
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
	if e := s.open[key]; e != nil { // another worker opened it meanwhile
		e.refs++
		s.mu.Unlock()
		f.Close()
		return &handle{s: s, e: e}, nil
	}
	e := &entry{path: key, f: f, info: fi, refs: 1, rec: newRecorder(s.opts.MaxSpans)}
	s.open[key] = e
	s.mu.Unlock()
	return &handle{s: s, e: e}, nil
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
	h, err := s.openHandle(path)
	if err != nil {
		return nil, err
	}
	size := h.e.info.Size()
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
	s.pinned = append(s.pinned, h)
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
	for k, e := range s.open {
		if e.refs == 0 {
			held = append(held, e)
			delete(s.open, k)
		}
	}
	s.mu.Unlock()
	for _, e := range held {
		s.complete(e)
	}
}

// Lookup returns what the session read of path: by its absolute name, or
// else by identity (an in-folder symbolic link is opened by the link's
// name and listed by its target's). ok is false for a file the session
// never read.
func (s *Session) Lookup(path string) (*File, bool) {
	key := abs(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.done[key]; ok {
		return f, true
	}
	if f, ok := s.bySnap[key]; ok {
		return f, true
	}
	// By the real path (links resolved), then by identity; the index of
	// real paths is built once, on the first miss.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, false
	}
	if s.byReal == nil {
		s.byReal = map[string]*File{}
		for _, f := range s.done {
			if r, err := filepath.EvalSymlinks(f.Path); err == nil {
				s.byReal[r] = f
			}
		}
	}
	f, ok := s.byReal[abs(real)]
	if !ok {
		return nil, false
	}
	// The path must still name the file that was read.
	if fi, err := os.Stat(path); err != nil || !os.SameFile(fi, f.info) {
		return nil, false
	}
	return f, true
}

// Files returns every file read, by path.
func (s *Session) Files() []*File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*File, 0, len(s.done))
	for _, f := range s.done {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// OpenErrors returns the files that could not be opened.
func (s *Session) OpenErrors() map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]error, len(s.openErrs))
	for k, v := range s.openErrs {
		out[k] = v
	}
	return out
}

// FileDigests implements verify.Digests: the manifest a signature is
// checked against comes from the session's reads, never from a new one.
func (s *Session) FileDigests(path string, shardSize int64) (int64, string, []string, error) {
	f, ok := s.Lookup(path)
	if !ok {
		return 0, "", nil, fmt.Errorf("%s was not read by the check (it appeared while the model was being checked, or could not be opened); check the model again when nothing writes to it", path)
	}
	switch {
	case f.Changed != nil:
		return 0, "", nil, fmt.Errorf("%s changed during the check: %v", path, f.Changed)
	case f.Err != nil:
		return 0, "", nil, f.Err
	case shardSize > 0 && shardSize != f.ShardSize:
		return 0, "", nil, fmt.Errorf("%s: shard digests of %d bytes were not computed (have %d)", path, shardSize, f.ShardSize)
	}
	return f.Size, f.SHA256, f.Shards, nil
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
		delete(s.open, h.e.path)
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
		if prev.Changed == nil && (!os.SameFile(prev.info, f.info) || prev.SHA256 != f.SHA256 || prev.Size != f.Size) {
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
	s.mu.Unlock()
}

// finish runs the hashing pass of an entry on its open file.
func (s *Session) finish(e *entry) *File {
	f := &File{Path: e.path, Size: e.info.Size(), info: e.info, ShardSize: s.opts.ShardSize}
	if s.opts.BeforeHash != nil {
		s.opts.BeforeHash(e.path)
	}
	if s.opts.NoHash {
		f.setChanged(sameIdentity(e, f.Size))
		return f
	}
	e.mu.Lock()
	spans, err := e.rec.sorted()
	overflow := e.rec.overflow
	e.mu.Unlock()
	if err != nil {
		f.Changed = err
	} else if overflow {
		f.Changed = fmt.Errorf("the scan read more than %d separate pieces of the file; what it saw cannot be tied to the hashed bytes", s.opts.MaxSpans)
	}
	var out *os.File
	if s.opts.SnapshotDir != "" {
		var err error
		if out, f.Snapshot, err = s.create(e.path); err != nil {
			f.Err = err
			return f
		}
		defer func() {
			if cerr := out.Close(); cerr != nil && f.Err == nil {
				f.Err = fmt.Errorf("writing the snapshot copy %s: %w", f.Snapshot, cerr)
			}
		}()
	}
	size := e.info.Size()
	whole := sha256.New()
	var shard hash.Hash
	var shardEnd int64
	if f.ShardSize > 0 && (size+f.ShardSize-1)/f.ShardSize <= verify.MaxShards {
		shard, shardEnd = sha256.New(), f.ShardSize
	} else {
		f.ShardSize = 0 // too many shards: FileDigests refuses, verification fails
	}
	chk := &checker{spans: spans}
	bp := formats.GetHashBuf()
	defer formats.PutHashBuf(bp)
	buf := *bp
	for pos := int64(0); pos < size; {
		if s.opts.Ctx != nil && s.opts.Ctx.Err() != nil {
			f.Err = fmt.Errorf("hashing %s was stopped: %w", e.path, s.opts.Ctx.Err())
			return f
		}
		n, rerr := e.f.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		b := buf[:n]
		whole.Write(b)
		if out != nil {
			if _, werr := out.Write(b); werr != nil {
				f.Err = fmt.Errorf("writing the snapshot copy %s: %w", f.Snapshot, werr)
				return f
			}
		}
		for p, rest := pos, b; shard != nil && len(rest) > 0; {
			k := min(int64(len(rest)), shardEnd-p)
			shard.Write(rest[:k])
			rest, p = rest[k:], p+k
			if p == shardEnd {
				f.Shards = append(f.Shards, hex.EncodeToString(shard.Sum(nil)))
				shard.Reset()
				shardEnd += f.ShardSize
			}
		}
		chk.feed(pos, b)
		if pos == 0 && s.opts.DuringHash != nil && int64(n) < size {
			s.opts.DuringHash(e.path)
		}
		pos += int64(n)
		if pos < size && n == 0 || rerr != nil && !errors.Is(rerr, io.EOF) {
			if rerr == nil || errors.Is(rerr, io.EOF) {
				f.setChanged(fmt.Errorf("the file shrank to %d bytes during the check (it had %d when opened)", pos, size))
			} else {
				f.Err = fmt.Errorf("reading %s to hash it: %w", e.path, rerr)
			}
			return f
		}
	}
	if shard != nil && size%f.ShardSize != 0 {
		f.Shards = append(f.Shards, hex.EncodeToString(shard.Sum(nil)))
	}
	f.SHA256 = hex.EncodeToString(whole.Sum(nil))
	if err := chk.done(size); err != nil {
		f.setChanged(err)
	}
	e.mu.Lock()
	f.setChanged(e.rec.endsAt(size))
	e.mu.Unlock()
	// Growth shows in the size sameIdentity compares (bytes appended
	// after that were never hashed nor scanned, and are not in the verdict).
	f.setChanged(sameIdentity(e, size))
	return f
}

func (f *File) setChanged(err error) {
	if err != nil && f.Changed == nil {
		f.Changed = err
	}
}

// sameIdentity checks that the open file is unchanged in size and
// modification time, and that its path still names it: a rename swap
// leaves the open file intact but the path pointing at other bytes.
func sameIdentity(e *entry, size int64) error {
	now, err := e.f.Stat()
	if err != nil {
		return fmt.Errorf("the open file cannot be examined again: %v", err)
	}
	if now.Size() != size || !now.ModTime().Equal(e.info.ModTime()) {
		if now.Size() > size {
			return fmt.Errorf("the file grew during the check (it had %d bytes when opened, now %d)", size, now.Size())
		}
		return fmt.Errorf("the file was modified during the check (size %d -> %d, modified %s -> %s)", size, now.Size(), e.info.ModTime().UTC().Format("15:04:05.000000000"), now.ModTime().UTC().Format("15:04:05.000000000"))
	}
	byName, err := os.Stat(e.path)
	if err != nil {
		return fmt.Errorf("the path no longer names a file (%v): it was moved or removed during the check", err)
	}
	if !os.SameFile(byName, now) {
		return errors.New("the path names another file than the one read: it was replaced (renamed over) during the check")
	}
	return nil
}

// create makes the snapshot copy of path: a new file (never an existing
// one or a link) at the same place relative to Root.
func (s *Session) create(path string) (*os.File, string, error) {
	rel, err := filepath.Rel(abs(s.opts.Root), path)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, "", fmt.Errorf("%s is not inside the model folder %s; it cannot be copied into the snapshot", path, s.opts.Root)
	}
	dst := filepath.Join(s.opts.SnapshotDir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return nil, "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("creating the snapshot copy: %w", err)
	}
	return out, dst, nil
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
