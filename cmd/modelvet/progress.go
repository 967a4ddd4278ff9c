package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/modelvet/modelvet/formats"
)

// progressLine draws "scanning 120/5000 files, 1.2 GB of 3.4 GB, ETA 12s"
// on a terminal's stderr while a scan runs, from the first update after
// a moment (a scan that finishes quickly draws nothing), at most ten times
// a second, and erases it before the report is printed. It uses only '\r'
// and spaces, which every console understands.
type progressLine struct {
	w     io.Writer
	start time.Time
	now   func() time.Time
	mu    sync.Mutex
	last  time.Time
	width int
}

// progressDelay is how long a scan runs before progress is drawn.
const progressDelay = 500 * time.Millisecond

// newProgress returns the progress callback for a scan, or nil when stderr
// is not a terminal or the user asked for quiet: progress is for people
// watching, never for logs.
func newProgress(stderr io.Writer, quiet bool) *progressLine {
	if quiet || !isTerminal(stderr) {
		return nil
	}
	return &progressLine{w: stderr, start: time.Now(), now: time.Now}
}

func (p *progressLine) update(pr formats.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if t.Sub(p.start) < progressDelay || t.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = t
	line := progressText(pr, t.Sub(p.start))
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprint(p.w, "\r"+line+pad)
}

// done erases the line, if one was drawn.
func (p *progressLine) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
}

// callback is the function formats.Options.Progress takes (nil when off).
func (p *progressLine) callback() func(formats.Progress) {
	if p == nil {
		return nil
	}
	return p.update
}

// progressText renders one progress line; the ETA comes from the byte
// rate so far (bytes are what take time), or the file rate when the
// files are empty.
func progressText(pr formats.Progress, elapsed time.Duration) string {
	s := fmt.Sprintf("scanning %d/%d files, %s of %s", pr.FilesDone, pr.Files, size(pr.BytesDone), size(pr.Bytes))
	var frac float64
	switch {
	case pr.Bytes > 0:
		frac = float64(pr.BytesDone) / float64(pr.Bytes)
	case pr.Files > 0:
		frac = float64(pr.FilesDone) / float64(pr.Files)
	}
	if frac > 0 && frac < 1 {
		eta := time.Duration(float64(elapsed) * (1 - frac) / frac)
		s += ", ETA " + eta.Round(time.Second).String()
	}
	return s
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
