package server

import (
	"context"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelvet/modelvet/report"
)

// timing is what one request spent where, for the metrics: waiting for a
// slot apart from checking, so a saturated service is told from a slow one.
type timing struct {
	queued time.Duration // waiting for a check slot
	slot   time.Time     // when the slot was taken (zero: never)
	check  time.Duration // from the slot to the verdict
}

// serveCheck authenticates, applies the client's limits and runs the
// check the request asks for.
func (s *Server) serveCheck(ctx context.Context, w http.ResponseWriter, r *http.Request, tm *timing) (*report.Report, error) {
	id, err := s.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="modelvet"`)
		return nil, err
	}
	leave, err := s.clients.enter(id)
	if err != nil {
		return nil, err
	}
	defer leave()
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = ""
	}
	switch ct {
	case "application/json":
		return s.checkByName(ctx, w, r, tm)
	case "application/x-tar", "application/tar", "application/zip":
		return s.checkUpload(ctx, w, r, ct, tm)
	}
	return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type %q: send application/json naming a model, or the model as application/x-tar or application/zip", r.Header.Get("Content-Type"))
}

// checkByName reads the strict JSON request, pins the named folder and
// checks it.
func (s *Server) checkByName(ctx context.Context, w http.ResponseWriter, r *http.Request, tm *timing) (*report.Report, error) {
	body, err := s.readBody(w, r, maxJSONBody)
	if err != nil {
		return nil, err
	}
	name, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	if s.root == nil {
		return nil, errorf(http.StatusForbidden, "this service was started without --root; upload the model as a tar or zip instead")
	}
	m, err := s.root.open(name, s.cfg.AnyFolder)
	if err != nil {
		return nil, err
	}
	release, err := s.acquire(ctx, tm)
	if err != nil {
		m.close()
		return nil, err
	}
	rep, err := s.runCheck(ctx, m.path, name, tm, func() error { return m.unchanged(name) }, func() { m.close(); release() })
	sig := s.cfg.Gate.Policy.Signature
	if err != nil && vanished(err, append(append(append([]string{}, sig.Keys...), sig.CAChains...), sig.TrustedRoot)) {
		// The check failed because the folder's own path stopped
		// existing mid-check (moved away and back: the name-based
		// comparison after the check cannot see that).
		return nil, errChanged(name)
	}
	return rep, err
}

// runCheck runs the gate on dir. cleanup (which releases the slot and
// deletes an upload) runs when the check ends, even when the request has
// already been answered 504: until then the slot stays taken, so the
// bound on concurrent work holds, and the files stay while they are read.
// after, when set, is asked once the check is done whether the folder is
// still the one that was opened.
func (s *Server) runCheck(ctx context.Context, dir, display string, tm *timing, after func() error, cleanup func()) (*report.Report, error) {
	g := *s.cfg.Gate
	g.DisplayRoot = display
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	owned := false // the goroutine cleans up: the request has gone
	go func() {
		rep, err := g.Check(ctx, dir)
		if after != nil && ctx.Err() == nil {
			// A name swapped during the check explains a failed check
			// too (a folder gone mid-walk): that is a conflict, not the
			// service's failure.
			if aerr := after(); aerr != nil {
				rep, err = nil, aerr
			}
		}
		done <- result{rep, err}
		mu.Lock()
		defer mu.Unlock()
		if owned {
			cleanup()
		}
	}()
	finish := func(res result) (*report.Report, error) {
		tm.check = time.Since(tm.slot)
		cleanup()
		if res.err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return res.rep, res.err
	}
	select {
	case res := <-done:
		return finish(res)
	case <-ctx.Done():
		// The analyzers and hashing stop at their next context check; the
		// client gets its answer now.
		mu.Lock()
		select {
		case res := <-done: // finished meanwhile: clean up here as usual
			mu.Unlock()
			return finish(res)
		default:
			owned = true
			mu.Unlock()
		}
		tm.check = time.Since(tm.slot)
		return nil, ctx.Err()
	}
}

// removeAll deletes an upload's folder; a failure is logged, and the next
// start removes what is left.
func (s *Server) removeAll(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		s.cfg.Log.Printf("cannot remove %s: %v", dir, err)
	}
}
