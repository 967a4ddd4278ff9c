package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// BodyLimits pace request bodies. A client that sends a byte now and then
// (slowloris) would otherwise hold a connection, a goroutine and, before
// this was fixed, a check slot for the whole request timeout.
type BodyLimits struct {
	// Header is how long the request line and headers (and a TLS
	// handshake) may take (default 10 s).
	Header time.Duration
	// Idle is the longest wait for the next bytes of a body (default 10 s).
	Idle time.Duration
	// MinRate is the slowest a body may arrive on average, in bytes per
	// second, once Grace has passed (default 64 KiB/s).
	MinRate int64
	// Grace is how long a body may take before MinRate applies (default
	// 5 s): a small JSON body or the start of a large upload.
	Grace time.Duration
}

func (b *BodyLimits) defaults() {
	if b.Header <= 0 {
		b.Header = 10 * time.Second
	}
	if b.Idle <= 0 {
		b.Idle = 10 * time.Second
	}
	if b.MinRate <= 0 {
		b.MinRate = 64 << 10
	}
	if b.Grace <= 0 {
		b.Grace = 5 * time.Second
	}
}

var errTooSlow = errors.New("the body arrives too slowly")

// pacedBody reads a request body under BodyLimits: each read has a
// deadline (Idle, and never past the request's end), and after Grace the
// bytes received must keep up with MinRate.
type pacedBody struct {
	r     io.Reader
	rc    *http.ResponseController
	lim   BodyLimits
	start time.Time
	end   time.Time // the request's deadline
	n     int64
}

func (s *Server) paced(w http.ResponseWriter, r *http.Request, limit int64) *pacedBody {
	end := time.Now().Add(s.cfg.Timeout)
	if dl, ok := r.Context().Deadline(); ok && dl.Before(end) {
		end = dl
	}
	return &pacedBody{r: http.MaxBytesReader(w, r.Body, limit), rc: http.NewResponseController(w), lim: s.cfg.Body, start: time.Now(), end: end}
}

func (p *pacedBody) Read(b []byte) (int, error) {
	dl := time.Now().Add(p.lim.Idle)
	if dl.After(p.end) {
		dl = p.end
	}
	p.rc.SetReadDeadline(dl)
	n, err := p.r.Read(b)
	p.n += int64(n)
	if el := time.Since(p.start) - p.lim.Grace; el > 0 && err == nil && float64(p.n) < float64(p.lim.MinRate)*el.Seconds() {
		return n, errTooSlow
	}
	return n, err
}

// done lifts the read deadline once the body is read: net/http's
// background read, which notices a client that goes away during the
// check, would otherwise hit it and cancel the check.
func (p *pacedBody) done() { p.rc.SetReadDeadline(time.Time{}) }

// bodyError turns a failed body read into the answer for it.
func (p *pacedBody) bodyError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, errTooSlow):
		return errorf(http.StatusRequestTimeout, "the body arrived at %.0f bytes/s, slower than the %d bytes/s the service requires", float64(p.n)/time.Since(p.start).Seconds(), p.lim.MinRate)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(http.StatusRequestTimeout, "no body bytes arrived for %s (or the request's time limit passed) after %d bytes", p.lim.Idle, p.n)
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The connection closed before Content-Length bytes: the client
		// is gone and will read no answer.
		return &httpError{code: statusClientGone, msg: fmt.Sprintf("the client closed the connection after %d body bytes", p.n)}
	}
	return errorf(http.StatusBadRequest, "reading the body: %v", err)
}

// readBody reads a small body into memory.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	p := s.paced(w, r, limit)
	b, err := io.ReadAll(p)
	if err != nil {
		return nil, p.bodyError(err)
	}
	p.done()
	return b, nil
}
