package onepass

import (
	"errors"
	"io"
	"os"

	"github.com/modelvet/modelvet/formats"
)

// chunk is one read of the hashing pass: the bytes at pos, and the error
// the read returned.
type chunk struct {
	pos int64
	b   []byte
	buf *[]byte
	err error
	// ahead: the buffer is one of the read-ahead's (given back to it).
	ahead bool
}

// reader delivers [start, size) of a file in HashBufSize chunks. A file
// larger than one chunk is read on its own goroutine one chunk ahead of
// the consumer: reading from the page cache (a copy) overlaps hashing
// (the CPU-bound part) instead of adding to it. That only pays while a
// core is free: when busy() says every core hashes a file (the walk's
// workers pass several at once), the read-ahead hands over and the
// consumer reads itself from there on. Memory stays at three pooled
// buffers whatever the file's size, and each byte is still read once:
// the consumer hashes, checks and copies the buffer it is given.
type reader struct {
	ch   chan chunk
	free chan *[]byte
	stop chan struct{}
	done bool
	// sync: the consumer reads, at pos (a file of one chunk, or after
	// the read-ahead handed over at handoff).
	sync    bool
	f       *os.File
	start   int64
	size    int64
	pos     int64
	handoff int64
	after1  func() // for a file read by the consumer from the start
}

const aheadBufs = 3

// newReader starts reading [start, size). after1 runs after the first
// read of a range larger than one chunk (a test hook).
func newReader(f *os.File, start, size int64, after1 func(), busy func() bool) *reader {
	r := &reader{f: f, start: start, size: size, pos: start, handoff: -1}
	if size-start <= formats.HashBufSize || busy() {
		r.sync = true
		if size-start > formats.HashBufSize && after1 != nil {
			r.after1 = after1
		}
		return r
	}
	r.ch = make(chan chunk, aheadBufs-1)
	r.free = make(chan *[]byte, aheadBufs)
	r.stop = make(chan struct{})
	for range aheadBufs {
		r.free <- formats.GetHashBuf()
	}
	go func() {
		defer close(r.ch)
		for pos := start; pos < size; {
			if pos > start && busy() {
				r.handoff = pos // published by close(r.ch)
				return
			}
			var bp *[]byte
			select {
			case bp = <-r.free:
			case <-r.stop:
				return
			}
			buf := *bp
			n, err := f.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
			select {
			case r.ch <- chunk{pos: pos, b: buf[:n], buf: bp, err: err, ahead: true}:
			case <-r.stop:
				r.free <- bp
				return
			}
			if pos == start && after1 != nil {
				after1()
			}
			pos += int64(n)
			if n == 0 || err != nil && !errors.Is(err, io.EOF) {
				return
			}
		}
	}()
	return r
}

// next returns the next chunk; ok is false after the last.
func (r *reader) next() (chunk, bool) {
	if !r.sync {
		if c, ok := <-r.ch; ok {
			return c, true
		}
		if r.handoff < 0 {
			return chunk{}, false
		}
		r.sync, r.pos = true, r.handoff
	}
	if r.pos >= r.size {
		return chunk{}, false
	}
	bp := formats.GetHashBuf()
	n, err := r.f.ReadAt((*bp)[:min(int64(len(*bp)), r.size-r.pos)], r.pos)
	c := chunk{pos: r.pos, b: (*bp)[:n], buf: bp, err: err}
	if r.pos == r.start && r.after1 != nil {
		r.after1()
	}
	r.pos += int64(n)
	if n == 0 {
		r.pos = r.size // the consumer judges the short read; nothing follows
	}
	return c, true
}

// release gives a chunk's buffer back for the next read.
func (r *reader) release(c *chunk) {
	if c.buf == nil {
		return
	}
	if c.ahead {
		r.free <- c.buf
	} else {
		formats.PutHashBuf(c.buf)
	}
	c.buf = nil
}

// close stops the reader and returns every buffer to the pool.
func (r *reader) close() {
	if r.ch == nil || r.done {
		return
	}
	r.done = true
	close(r.stop)
	for c := range r.ch {
		r.release(&c)
	}
	// The goroutine has ended (ch is closed): every buffer is in free.
	for range aheadBufs {
		formats.PutHashBuf(<-r.free)
	}
}

// parallelHash runs one hash over the pass's chunks on its own goroutine
// while the pass does the rest (shard digests, span checks, the copy).
type parallelHash struct {
	in   chan []byte
	done chan struct{}
}

func newParallelHash(h io.Writer) *parallelHash {
	p := &parallelHash{in: make(chan []byte), done: make(chan struct{})}
	go func() {
		for b := range p.in {
			h.Write(b)
			p.done <- struct{}{}
		}
	}()
	return p
}

// start hands b to the hash; wait returns when it has taken all of it
// (b must stay unchanged until then).
func (p *parallelHash) start(b []byte) { p.in <- b }
func (p *parallelHash) wait()          { <-p.done }

// stop ends the goroutine (after the last wait).
func (p *parallelHash) stop() { close(p.in) }
