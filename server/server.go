// Package server is the admission service: model registries and CI ask it
// whether a model may be admitted, and it answers with the same report as
// `modelvet check --format json`. Plain net/http; no framework.
//
//	POST /v1/check   {"model": "org/name"}          a folder under the root
//	POST /v1/check   Content-Type: application/x-tar  an uploaded model
//	POST /v1/check   Content-Type: application/zip
//	GET  /healthz
//	GET  /metrics    Prometheus text format
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
)

// Config configures the service. Zero fields take the defaults shown.
type Config struct {
	// Gate decides; its DisplayRoot is set per request.
	Gate *policy.Gate
	// Root is the folder models may be named under. "" refuses named
	// models (uploads only).
	Root string
	// TempDir holds uploads while they are checked (default os.TempDir()).
	TempDir string
	// MaxConcurrent checks run at once (default GOMAXPROCS).
	MaxConcurrent int
	// MaxQueue requests wait for a slot; beyond it the answer is 429
	// (default 256).
	MaxQueue int
	// Timeout bounds one request, queueing, upload and check together
	// (default 10 minutes).
	Timeout time.Duration
	// Limits bound uploads (defaults: 8 GiB body, 16 GiB extracted,
	// 100000 members).
	Limits Limits
	// Log receives one line per request (default: discard).
	Log *log.Logger
}

// maxJSONBody bounds a by-name request: it is a name, not a model.
const maxJSONBody = 64 << 10

// Server is the admission service.
type Server struct {
	cfg      Config
	realRoot string
	slots    chan struct{}
	m        *metrics
}

// New checks the configuration and returns a service.
func New(cfg Config) (*Server, error) {
	if cfg.Gate == nil || cfg.Gate.Policy == nil {
		return nil, errors.New("server: no policy")
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 256
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Limits.MaxUpload <= 0 {
		cfg.Limits.MaxUpload = 8 << 30
	}
	if cfg.Limits.MaxExtract <= 0 {
		cfg.Limits.MaxExtract = 16 << 30
	}
	if cfg.Limits.MaxMembers <= 0 {
		cfg.Limits.MaxMembers = 100_000
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	s := &Server{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent), m: newMetrics()}
	if cfg.Root != "" {
		abs, err := filepath.Abs(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("server: models root: %w", err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("server: models root: %w", err)
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("server: models root %s is not a folder", cfg.Root)
		}
		s.realRoot = real
	}
	if fi, err := os.Stat(cfg.TempDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("server: temporary folder %s is not usable", cfg.TempDir)
	}
	return s, nil
}

// Handler routes the service's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/check", s.handleCheck)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.m.write(w)
	})
	return mux
}

// Serve answers on l until ctx ends, then stops accepting, lets running
// checks finish (up to grace) and returns.
func (s *Server) Serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          s.cfg.Log,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

type errorBody struct {
	Error string `json:"error"`
}

func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	rep, err := s.check(ctx, w, r)
	code := http.StatusOK
	verdict := ""
	if err != nil {
		var he *httpError
		switch {
		case errors.As(err, &he):
			code = he.code
		case errors.Is(err, context.DeadlineExceeded):
			code = http.StatusGatewayTimeout
			err = fmt.Errorf("the check took longer than %s: %w", s.cfg.Timeout, err)
		default:
			code = http.StatusInternalServerError
		}
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		writeJSON(w, code, errorBody{Error: err.Error()})
	} else {
		verdict = rep.Verdict
		w.Header().Set("X-Modelvet-Verdict", rep.Verdict)
		writeJSON(w, code, rep)
	}
	s.m.observe(verdict, code, time.Since(start), err != nil)
	s.cfg.Log.Printf("%s %s %s %d %s %s", r.RemoteAddr, r.Method, r.URL.Path, code, verdict, time.Since(start).Round(time.Millisecond))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if rep, ok := v.(*report.Report); ok {
		report.WriteJSON(w, rep) // the exact bytes `check --format json` prints
		return
	}
	json.NewEncoder(w).Encode(v)
}

// acquire waits for a check slot. The queue is bounded: past MaxQueue
// waiting requests the answer is 429 at once, so a burst cannot pile up
// goroutines and uploads without limit.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	if s.m.queued.Add(1) > int64(s.cfg.MaxQueue) {
		s.m.queued.Add(-1)
		return nil, errorf(http.StatusTooManyRequests, "the service is busy (%d checks running, %d waiting); retry later", s.cfg.MaxConcurrent, s.cfg.MaxQueue)
	}
	defer s.m.queued.Add(-1)
	select {
	case s.slots <- struct{}{}:
		s.m.inFlight.Add(1)
		return func() { s.m.inFlight.Add(-1); <-s.slots }, nil
	case <-ctx.Done():
		return nil, errorf(http.StatusServiceUnavailable, "no check slot became free before the request ended: %v", ctx.Err())
	}
}

func (s *Server) check(ctx context.Context, w http.ResponseWriter, r *http.Request) (rep *report.Report, err error) {
	// A slow client must not hold a slot past the request's time limit.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.Timeout))
	// cleanups release the slot and delete the upload. They run when check
	// returns, unless a check outlived the time limit: then the goroutine
	// still running it owns them, so the slot stays taken (the bound on
	// concurrent work holds) and the files stay until it is done with them.
	var cleanups []func()
	owned := false
	defer func() {
		if !owned {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = ""
	}
	var modelDir, display string
	switch ct {
	case "application/json":
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		var req struct {
			Model string `json:"model"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, errorf(http.StatusBadRequest, `the body must be {"model": "folder/under/the/root"}: %v`, err)
		}
		if s.realRoot == "" {
			return nil, errorf(http.StatusForbidden, "this service was started without --root; upload the model as a tar or zip instead")
		}
		if modelDir, err = resolveModel(s.realRoot, req.Model); err != nil {
			return nil, err
		}
		display = req.Model
		release, err := s.acquire(ctx)
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, release)
	case "application/x-tar", "application/tar", "application/zip":
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxUpload)
		// The slot is taken before the upload is written: the temporary
		// area then holds at most MaxConcurrent uploads.
		release, err := s.acquire(ctx)
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, release)
		tmp, err := os.MkdirTemp(s.cfg.TempDir, "modelvet-upload-")
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(tmp) })
		modelDir = filepath.Join(tmp, "model")
		if err := os.Mkdir(modelDir, 0o700); err != nil {
			return nil, err
		}
		if ct == "application/zip" {
			err = extractZip(r.Body, modelDir, filepath.Join(tmp, "upload.zip"), s.cfg.Limits)
		} else {
			err = extractTar(r.Body, modelDir, s.cfg.Limits)
		}
		if err != nil {
			return nil, err
		}
		display = "upload"
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type %q: send application/json naming a model, or the model as application/x-tar or application/zip", r.Header.Get("Content-Type"))
	}
	g := *s.cfg.Gate
	g.DisplayRoot = display
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	go func() {
		rep, err := g.Check(ctx, modelDir)
		done <- result{rep, err}
		mu.Lock()
		defer mu.Unlock()
		if owned {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()
	select {
	case res := <-done:
		if res.err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return res.rep, res.err
	case <-ctx.Done():
		// The analyzers and hashing stop at their next context check; the
		// client gets its answer now.
		mu.Lock()
		select {
		case res := <-done: // finished meanwhile: clean up here as usual
			mu.Unlock()
			if res.err != nil {
				return nil, ctx.Err()
			}
			return res.rep, nil
		default:
			owned = true
			mu.Unlock()
		}
		return nil, ctx.Err()
	}
}
