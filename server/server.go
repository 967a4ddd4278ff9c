// Package server is the admission service: model registries and CI ask it
// whether a model may be admitted, and it answers with the same report as
// `modelvet check --format json`. Plain net/http; no framework.
//
//	POST /v1/check   {"model": "org/name"}          a folder under the root
//	POST /v1/check   Content-Type: application/x-tar  an uploaded model
//	POST /v1/check   Content-Type: application/zip
//	POST /v1/registry/events                  a registry's push notifications
//	GET  /v1/registry/decisions/{digest}      the last admission decision
//	GET  /healthz
//	GET  /metrics    Prometheus text format
//
// A hostile client is the design case: bodies are read (at a minimum
// rate, within caps) into the private temporary folder before a check slot
// is taken, connections are capped globally and per client, names are
// resolved under the root without following links, and uploaded archives
// are checked as archives before anything is extracted.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
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
	// AnyFolder lets a name select any folder under Root, including a
	// parent of several models. By default a named folder must hold a
	// model file or a JSON config at its top level, so that one request
	// cannot list (and hash) a whole organization's tree.
	AnyFolder bool
	// TempDir is the private folder (mode 0700, created if missing) that
	// holds uploads while they are checked. "" refuses uploads: they are
	// never written to the shared system temporary folder.
	TempDir string
	// MaxConcurrent checks run at once (default GOMAXPROCS).
	MaxConcurrent int
	// MaxQueue requests wait for a slot; beyond it the answer is 429
	// (default 256).
	MaxQueue int
	// MaxUploads are received, extracted or checked at once; beyond it the
	// answer is 429 (default 4 x MaxConcurrent, at least 8). With Limits it
	// bounds the disk the temporary folder can take.
	MaxUploads int
	// Timeout bounds one request, queueing, upload and check together
	// (default 10 minutes).
	Timeout time.Duration
	// Limits bound uploads (defaults: 8 GiB body, 16 GiB extracted,
	// 100000 members, ratio 200).
	Limits Limits
	// Body paces request bodies (slowloris).
	Body BodyLimits
	// Conns caps open connections (file descriptors).
	Conns ConnLimits
	// Clients bound what one client (token, certificate or address) may
	// ask at once and per second.
	Clients ClientLimits
	// TLS, when set, serves HTTPS with it (see TLSConfig).
	TLS *tls.Config
	// Tokens, when set, are the bearer tokens accepted (see LoadTokens).
	Tokens []string
	// Log receives one line per request (default: discard).
	Log *log.Logger
	// Admission, when set, serves POST /v1/registry/events (a registry's
	// push notifications) and GET /v1/registry/decisions/{digest}.
	Admission *Admission
}

// maxJSONBody bounds a by-name request: it is a name, not a model.
const maxJSONBody = 64 << 10

// Server is the admission service.
type Server struct {
	cfg     Config
	root    *modelRoot
	tmp     string
	slots   chan struct{}
	uploads chan struct{}
	clients *clientLimiter
	tokens  *tokenSet
	m       *metrics
	adm     *admitter
}

// New checks the configuration, prepares the temporary folder (removing
// what an earlier run left there) and returns a service.
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
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = max(8, 4*cfg.MaxConcurrent)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	cfg.Limits.defaults()
	cfg.Body.defaults()
	cfg.Conns.defaults()
	cfg.Clients.defaults()
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	s := &Server{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent), uploads: make(chan struct{}, cfg.MaxUploads),
		clients: newClientLimiter(cfg.Clients), m: newMetrics()}
	if len(cfg.Tokens) > 0 {
		ts, err := newTokenSet(cfg.Tokens)
		if err != nil {
			return nil, err
		}
		s.tokens = ts
	}
	if cfg.Root != "" {
		r, err := openModelRoot(cfg.Root)
		if err != nil {
			return nil, err
		}
		s.root = r
	}
	if cfg.TempDir != "" {
		tmp, err := prepareTemp(cfg.TempDir, cfg.Log)
		if err != nil {
			return nil, err
		}
		s.tmp = tmp
	}
	if cfg.Admission != nil {
		a, err := newAdmitter(s, *cfg.Admission)
		if err != nil {
			return nil, err
		}
		s.adm = a
	}
	return s, nil
}

// Close stops the registry admission's workers, letting running checks
// finish for up to grace, and closes the decision log. Serve calls it when
// it stops.
func (s *Server) Close(grace time.Duration) {
	if s.adm != nil {
		s.adm.close(grace)
	}
}

// Handler routes the service's endpoints. /healthz answers anyone (load
// balancers probe it); /metrics and /v1/check need the credentials the
// service was started with.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/check", s.handleCheck)
	mux.HandleFunc("POST /v1/registry/events", s.handleEvents)
	mux.HandleFunc("GET /v1/registry/decisions/{digest}", s.handleDecision)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.refuseAuth(w, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.m.write(w)
	})
	return mux
}

// Serve answers on l until ctx ends, then stops accepting, lets running
// checks finish (up to grace) and returns. Connections beyond the limits
// are closed as they are accepted; with TLS configured, l carries TLS.
func (s *Server) Serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	l = newConnLimiter(l, s.cfg.Conns, s.m)
	if s.cfg.TLS != nil {
		l = tls.NewListener(l, s.cfg.TLS)
	}
	hs := &http.Server{
		Handler: s.Handler(),
		// Headers (and a TLS handshake) must arrive within this; bodies
		// are paced by the handler (BodyLimits).
		ReadHeaderTimeout: s.cfg.Body.Header,
		// The default deadline for the rest of a request: a handler that
		// does not read the body (/healthz, a 405) leaves net/http to
		// drain it, which must not wait on a slow client forever. Check
		// bodies move the deadline as they arrive (pacedBody).
		ReadTimeout:    s.cfg.Body.Header + s.cfg.Body.Idle,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       s.cfg.Log,
		// A slow reader of the answer cannot hold a goroutine and a
		// connection forever: the whole request has Timeout, the write a
		// little more.
		WriteTimeout: s.cfg.Timeout + 30*time.Second,
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
	s.Close(grace)
	return err
}

type errorBody struct {
	Error string `json:"error"`
}

// statusClientGone is logged and counted for a request whose client went
// away before the answer (nginx's 499): it is not the service's error and
// must not show as a 500.
const statusClientGone = 499

func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	tm := &timing{}
	rep, err := s.serveCheck(ctx, w, r, tm)
	code := http.StatusOK
	verdict := ""
	if err != nil {
		var he *httpError
		switch {
		case errors.As(err, &he):
			code = he.code
		case r.Context().Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			code = statusClientGone
		case errors.Is(err, context.DeadlineExceeded):
			code = http.StatusGatewayTimeout
			err = fmt.Errorf("the check took longer than %s: %w", s.cfg.Timeout, err)
		default:
			// Unusable trust material, an unreadable model: the service
			// cannot decide, which is its problem, not a verdict.
			code = http.StatusInternalServerError
		}
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		if code != statusClientGone {
			writeJSON(w, code, errorBody{Error: err.Error()})
		}
	} else {
		verdict = rep.Verdict
		w.Header().Set("X-Modelvet-Verdict", rep.Verdict)
		writeJSON(w, code, rep)
	}
	s.m.observe(verdict, code, tm)
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
// goroutines without limit. Only requests whose body is already read
// wait here: a slow client never holds or blocks a slot.
func (s *Server) acquire(ctx context.Context, tm *timing) (func(), error) {
	if s.m.queued.Add(1) > int64(s.cfg.MaxQueue) {
		s.m.queued.Add(-1)
		return nil, errorf(http.StatusTooManyRequests, "the service is busy (%d checks running, %d waiting); retry later", s.cfg.MaxConcurrent, s.cfg.MaxQueue)
	}
	defer s.m.queued.Add(-1)
	start := time.Now()
	select {
	case s.slots <- struct{}{}:
		tm.queued = time.Since(start)
		tm.slot = time.Now()
		s.m.inFlight.Add(1)
		return func() { s.m.inFlight.Add(-1); <-s.slots }, nil
	case <-ctx.Done():
		tm.queued = time.Since(start)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errorf(http.StatusServiceUnavailable, "no check slot became free before the request's time limit")
		}
		return nil, ctx.Err()
	}
}
