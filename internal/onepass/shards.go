package onepass

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/modelvet/modelvet/formats"
)

// shardWorkers is how many goroutines hash a file's shards side by side:
// one per free core (cores not already hashing another file's pass), at
// most one per shard. 1 means the sequential pass.
func (s *Session) shardWorkers(size, shardSize int64) int {
	n := (size + shardSize - 1) / shardSize
	free := int64(runtime.GOMAXPROCS(0)) - int64(s.passes.Load())
	return int(max(1, min(n, max(free, int64(s.minShardWorkers)))))
}

// segment is the outcome of hashing one shard.
type segment struct {
	sum     string
	err     error // a read error
	changed error // the file shrank, or a span differs
}

// hashShards hashes the shards of a file on workers goroutines (only the
// shard digests are needed: no whole-file stream ties them together).
// Each worker also checks the scan's reads that start in its shard, reading
// on past the shard's end for a read that crosses it, so every recorded
// byte is still compared with the bytes hashed in this pass.
func (s *Session) hashShards(e *entry, f *File, spans []span, workers int, newHash func() hash.Hash) {
	size, S := f.Size, f.ShardSize
	n := int((size + S - 1) / S)
	parts := make([][]span, n)
	for _, x := range spans {
		// A read past the end belongs to the last shard, whose check
		// reports it.
		i := min(int(x.off/S), n-1)
		parts[i] = append(parts[i], x)
	}
	res := make([]segment, n)
	var next atomic.Int64
	var failed atomic.Bool
	s.passes.Add(int32(workers))
	defer s.passes.Add(-int32(workers))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				start := int64(i) * S
				res[i] = s.hashSegment(e, start, min(start+S, size), size, parts[i], &failed, newHash)
				if res[i].err != nil || res[i].changed != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for i := range res {
		if res[i].err != nil && f.Err == nil {
			f.Err = res[i].err
		}
		f.setChanged(res[i].changed)
	}
	if f.Err != nil || f.Changed != nil {
		return
	}
	f.Shards = make([]string, n)
	for i := range res {
		f.Shards[i] = res[i].sum
	}
}

func (s *Session) ctxErr(e *entry) error {
	if s.opts.Ctx != nil && s.opts.Ctx.Err() != nil {
		return fmt.Errorf("hashing %s was stopped: %w", e.path, s.opts.Ctx.Err())
	}
	return nil
}

// hashSegment hashes [start, end) of a file of size bytes, and checks the
// spans (reads of the scan starting in that range) against the bytes read.
func (s *Session) hashSegment(e *entry, start, end, size int64, spans []span, failed *atomic.Bool, newHash func() hash.Hash) segment {
	readEnd := end
	for _, x := range spans {
		readEnd = max(readEnd, x.off+x.n)
	}
	readEnd = min(readEnd, size)
	// DuringHash runs after the first chunk of the file (a test hook):
	// the reader calls it for a range of more than one chunk, this loop
	// for a first shard of one chunk.
	var after1, hook func()
	if start == 0 && s.opts.DuringHash != nil {
		after1 = func() { s.opts.DuringHash(e.path) }
		if readEnd <= formats.HashBufSize {
			hook, after1 = after1, nil
		}
	}
	h := newHash()
	chk := &checker{spans: spans}
	rd := newReader(e.f, start, readEnd, after1, func() bool { return int(s.passes.Load()) >= runtime.GOMAXPROCS(0) })
	defer rd.close()
	for pos := start; pos < readEnd; {
		if err := s.ctxErr(e); err != nil {
			return segment{err: err}
		}
		if failed.Load() {
			return segment{} // another shard failed; its error is reported
		}
		c, ok := rd.next()
		if !ok {
			return segment{changed: shrank(pos, size)}
		}
		b, rerr := c.b, c.err
		if pos < end {
			h.Write(b[:min(int64(len(b)), end-pos)])
		}
		chk.feed(pos, b)
		rd.release(&c)
		pos += int64(len(b))
		if hook != nil {
			hook()
			hook = nil
		}
		if pos < readEnd && len(b) == 0 || rerr != nil && !errors.Is(rerr, io.EOF) {
			if rerr == nil || errors.Is(rerr, io.EOF) {
				return segment{changed: shrank(pos, size)}
			}
			return segment{err: fmt.Errorf("reading %s to hash it: %w", e.path, rerr)}
		}
	}
	if err := chk.done(size); err != nil {
		return segment{changed: err}
	}
	return segment{sum: hex.EncodeToString(h.Sum(nil))}
}

func shrank(pos, size int64) error {
	return fmt.Errorf("the file shrank to %d bytes during the check (it had %d when opened)", pos, size)
}
