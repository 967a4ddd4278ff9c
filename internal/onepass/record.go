package onepass

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"sort"
)

// span is one stretch of a file an analyzer read, and the SHA-256 of the
// bytes it got. Reads that continue where the last one ended are folded
// into one span, so a sequential reader costs one span however many
// calls it makes.
type span struct {
	off, n int64
	sum    [sha256.Size]byte
}

// recorder keeps the spans read from one file. It is bounded: past
// maxSpans scattered reads the file is refused (fail closed) rather than
// let hostile input grow memory without end.
type recorder struct {
	spans    []span
	cur      hash.Hash
	curOff   int64
	curEnd   int64
	overflow bool
	max      int
	// eofMin/eofMax are where short reads found the end of the file
	// (-1: never); atMost is the lowest offset a read found nothing at
	// (-1: never), so the file ended there or before. A reader that saw
	// the end elsewhere than the hashed bytes end saw another file.
	eofMin, eofMax, atMost int64
}

func newRecorder(max int) *recorder {
	return &recorder{max: max, eofMin: -1, eofMax: -1, atMost: -1}
}

func (r *recorder) add(off int64, b []byte) {
	if len(b) == 0 {
		return
	}
	if r.cur != nil && off == r.curEnd {
		r.cur.Write(b)
		r.curEnd += int64(len(b))
		return
	}
	r.flush()
	if len(r.spans) >= r.max {
		r.overflow = true
		return
	}
	r.cur = sha256.New()
	r.cur.Write(b)
	r.curOff, r.curEnd = off, off+int64(len(b))
}

// eof notes a short read of n bytes at off.
func (r *recorder) eof(off int64, n int) {
	if n == 0 {
		if r.atMost < 0 || off < r.atMost {
			r.atMost = off
		}
		return
	}
	at := off + int64(n)
	if r.eofMin < 0 || at < r.eofMin {
		r.eofMin = at
	}
	r.eofMax = max(r.eofMax, at)
}

func (r *recorder) flush() {
	if r.cur == nil {
		return
	}
	s := span{off: r.curOff, n: r.curEnd - r.curOff}
	r.cur.Sum(s.sum[:0])
	r.spans = append(r.spans, s)
	r.cur = nil
}

// sorted flushes and returns the spans by offset, one per distinct
// (offset, length). Two reads of the same stretch that got different bytes
// are already proof the file changed.
func (r *recorder) sorted() ([]span, error) {
	r.flush()
	s := r.spans
	sort.Slice(s, func(i, j int) bool {
		if s[i].off != s[j].off {
			return s[i].off < s[j].off
		}
		return s[i].n < s[j].n
	})
	out := s[:0]
	for i, x := range s {
		if i > 0 && x.off == out[len(out)-1].off && x.n == out[len(out)-1].n {
			if x.sum != out[len(out)-1].sum {
				return nil, fmt.Errorf("two reads of bytes %d-%d during the scan returned different content", x.off, x.off+x.n)
			}
			continue
		}
		out = append(out, x)
	}
	r.spans = out
	return out, nil
}

// checker verifies spans against the bytes of the hashing pass, which
// arrive in order. Each span is hashed again from those bytes and must
// give the digest the analyzer's read gave: then every byte any analyzer
// saw is the byte that was hashed, whatever happened on disk in between.
type checker struct {
	spans  []span
	next   int
	active []activeSpan
	err    error
}

type activeSpan struct {
	s *span
	h hash.Hash
}

// feed takes the bytes at [a, a+len(b)).
func (c *checker) feed(a int64, b []byte) {
	if c.err != nil {
		return
	}
	end := a + int64(len(b))
	for c.next < len(c.spans) && c.spans[c.next].off < end {
		c.active = append(c.active, activeSpan{s: &c.spans[c.next], h: sha256.New()})
		c.next++
	}
	kept := c.active[:0]
	for _, x := range c.active {
		lo, hi := max(a, x.s.off), min(end, x.s.off+x.s.n)
		if lo < hi {
			x.h.Write(b[lo-a : hi-a])
		}
		if x.s.off+x.s.n > end {
			kept = append(kept, x)
			continue
		}
		var got [sha256.Size]byte
		x.h.Sum(got[:0])
		if got != x.s.sum {
			c.err = fmt.Errorf("bytes %d-%d changed between the scan and the hashing pass", x.s.off, x.s.off+x.s.n)
			return
		}
	}
	c.active = kept
}

// done is called at the end of the hashed bytes (size).
func (c *checker) done(size int64) error {
	if c.err != nil {
		return c.err
	}
	if len(c.active) > 0 || c.next < len(c.spans) {
		return fmt.Errorf("the scan read bytes past %d, where the hashed file ends", size)
	}
	return nil
}

// endsAt checks what reads learned about the end of the file against its
// hashed size.
func (r *recorder) endsAt(size int64) error {
	if r.eofMin >= 0 && (r.eofMin != size || r.eofMax != size) {
		return fmt.Errorf("the scan found the file ending at %d bytes, but it has %d", r.eofMin, size)
	}
	if r.atMost >= 0 && size > r.atMost {
		return fmt.Errorf("the scan found nothing at offset %d, but the file has %d bytes", r.atMost, size)
	}
	return nil
}
