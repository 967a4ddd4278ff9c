package onepass

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/verify"
)

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
	// A file outside the model folder that an analyzer read (the blob a
	// snapshot folder's link points to) is checked, not copied: the copy
	// holds the model, under the names the walk read it by.
	if s.opts.SnapshotDir != "" && formats.Within(abs(s.opts.Root), e.path) {
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
	hashName, newHash, err := verify.HashFactory(s.opts.HashType)
	if err != nil {
		f.Err = err // not reached: SetHashType refuses what HashFactory does
		return f
	}
	f.HashType = hashName
	// whole is the SHA-256 of the report, the provenance and a sha256
	// files-method signature; sig the whole-file digest of a files-method
	// signature of another hash type; shard the signature's shards.
	whole := sha256.New()
	var sig, shard hash.Hash
	var shardEnd int64
	if f.ShardSize > 0 && (size+f.ShardSize-1)/f.ShardSize <= verify.MaxShards {
		shard, shardEnd = newHash(), f.ShardSize
	} else {
		f.ShardSize = 0 // too many shards: FileDigests refuses, verification fails
	}
	if s.opts.ShardSize == 0 && hashName != verify.HashSHA256 {
		sig = newHash()
	}
	// Only the signature's digests are read and they are not the
	// whole-file SHA-256: that one is not computed, and the shards of a
	// large file are hashed side by side, one core each.
	if s.opts.SignatureOnly && (shard != nil || sig != nil) {
		whole = nil
	}
	// A read of the whole file (a cache blob verified against its name)
	// is the whole-file digest itself: compared with it at the end rather
	// than hashed a second time.
	var wholeSpan *span
	if i := slices.IndexFunc(spans, func(x span) bool { return x.off == 0 && x.n == size }); i >= 0 && whole != nil {
		wholeSpan = &spans[i]
		spans = slices.Delete(slices.Clone(spans), i, i+1)
	}
	keep := s.reserveKeep(size)
	if whole == nil && sig == nil && out == nil && keep == nil && size > formats.HashBufSize {
		if n := s.shardWorkers(size, f.ShardSize); n > 1 {
			s.hashShards(e, f, spans, n, newHash)
			s.conclude(e, f, size)
			return f
		}
	}
	chk := &checker{spans: spans}
	// A whole-file digest is a stream a file's pass cannot split: each
	// runs on its own goroutine, so one core hashes it full-time while
	// the read-ahead reads and this one copies, checks the scan's reads
	// and hashes the shards.
	var pars []*parallelHash
	var seq []hash.Hash
	for _, h := range []hash.Hash{whole, sig} {
		switch {
		case h == nil:
		case size > formats.HashBufSize:
			p := newParallelHash(h)
			defer p.stop()
			pars = append(pars, p)
		default:
			seq = append(seq, h)
		}
	}
	waitAll := func() {
		for _, p := range pars {
			p.wait()
		}
	}
	var after1 func()
	if s.opts.DuringHash != nil {
		after1 = func() { s.opts.DuringHash(e.path) }
	}
	s.passes.Add(1)
	defer s.passes.Add(-1)
	rd := newReader(e.f, 0, size, after1, func() bool { return int(s.passes.Load()) >= runtime.GOMAXPROCS(0) })
	defer rd.close()
	pos := int64(0)
	for pos < size {
		if s.opts.Ctx != nil && s.opts.Ctx.Err() != nil {
			f.Err = fmt.Errorf("hashing %s was stopped: %w", e.path, s.opts.Ctx.Err())
			return f
		}
		c, ok := rd.next()
		if !ok {
			break
		}
		n, rerr, b := len(c.b), c.err, c.b
		for _, p := range pars {
			p.start(b)
		}
		for _, h := range seq {
			h.Write(b)
		}
		if out != nil {
			if _, werr := out.Write(b); werr != nil {
				waitAll()
				rd.release(&c)
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
		if keep != nil {
			keep = append(keep, b...)
		}
		waitAll()
		rd.release(&c)
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
	rd.close()
	if pos < size {
		f.setChanged(fmt.Errorf("the file shrank to %d bytes during the check (it had %d when opened)", pos, size))
		return f
	}
	if shard != nil && size%f.ShardSize != 0 {
		f.Shards = append(f.Shards, hex.EncodeToString(shard.Sum(nil)))
	}
	if whole != nil {
		var sum [sha256.Size]byte
		whole.Sum(sum[:0])
		f.SHA256 = hex.EncodeToString(sum[:])
		if wholeSpan != nil && wholeSpan.sum != sum {
			f.setChanged(fmt.Errorf("bytes 0-%d changed between the scan and the hashing pass", size))
		}
	}
	if sig != nil {
		f.Digest = hex.EncodeToString(sig.Sum(nil))
	} else if hashName == verify.HashSHA256 {
		f.Digest = f.SHA256
	}
	if err := chk.done(size); err != nil {
		f.setChanged(err)
	}
	s.conclude(e, f, size)
	s.keep(e, f, keep)
	return f
}

// conclude checks, after the bytes were hashed, what the scan learned
// about the file's end and the file's identity.
func (s *Session) conclude(e *entry, f *File, size int64) {
	e.mu.Lock()
	f.setChanged(e.rec.endsAt(size))
	e.mu.Unlock()
	// Growth shows in the size sameIdentity compares (bytes appended
	// after that were never hashed nor scanned, and are not in the verdict).
	f.setChanged(sameIdentity(e, size))
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
	for _, p := range e.paths {
		byName, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("the path %s no longer names a file (%v): it was moved or removed during the check", p, err)
		}
		if !os.SameFile(byName, now) {
			return fmt.Errorf("the path %s names another file than the one read: it was replaced (renamed over) during the check", p)
		}
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
