package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/modelvet/modelvet/oci"
	"github.com/modelvet/modelvet/report"
)

// EventsMediaType is the media type of the distribution registry's push
// notifications (distribution/distribution notifications/event.go): v2
// from distribution v3, v1 from distribution v2.x (Harbor's, and docker's
// registry:2 image), with the same envelope as far as this service reads it.
const EventsMediaType = "application/vnd.docker.distribution.events.v2+json"

// eventsMediaTypes are the notification media types accepted.
var eventsMediaTypes = map[string]bool{
	EventsMediaType: true,
	"application/vnd.docker.distribution.events.v1+json": true,
}

// maxEventsBody bounds one notification: oci.MaxEvents events of about a
// kilobyte each.
const maxEventsBody = 1 << 20

// Admission configures registry admission: POST /v1/registry/events takes
// the registry's push notifications, and each pushed model manifest is
// checked by digest, in the background, under the service's policy.
type Admission struct {
	// Registry is the host[:port] whose notifications are accepted.
	// Artifacts are pulled from it and nowhere else: an event names a
	// repository and a digest, never where to fetch them (the event's
	// own URLs are ignored), so a forged event cannot point the service
	// at another host.
	Registry string
	// Promote is REGISTRY/PREFIX; an admitted artifact pushed to REPO is
	// copied to REGISTRY/PREFIX/REPO (same tag, same digest). "" records
	// decisions without promoting. Pushes to repositories under
	// PREFIX/ are the service's own and are ignored (no loops).
	Promote string
	// Signer signs the verdict attestation attached to each promoted
	// artifact; required when Promote is set.
	Signer signature.Signer
	// Check checks one oci://REGISTRY/REPO@DIGEST reference under the
	// policy and returns the report and the pulled artifact (whose
	// private copy is what gets promoted); the caller closes it.
	Check func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error)
	// OCI are the registry options for promotion (auth, --insecure-registry).
	OCI oci.Options
	// DecisionLog is the append-only JSON-lines file of decisions
	// (required). Decisions already in it are not re-checked after a
	// restart.
	DecisionLog string
	// PolicyDigest (sha256:...) names the policy's bytes in verdicts.
	PolicyDigest string
	// Workers check pushed artifacts at once (default 2); each also takes
	// one of the service's check slots, so MaxConcurrent bounds all checks.
	Workers int
	// Queue is how many pushes may wait (default 1024). A notification
	// that does not fit is answered 503, and the registry sends it again.
	Queue int
	// Remember is how many decisions are kept in memory for idempotency
	// and the decisions endpoint (default 100000); older ones stay in the
	// log only.
	Remember int
}

func (a *Admission) defaults() {
	if a.Workers <= 0 {
		a.Workers = 2
	}
	if a.Queue <= 0 {
		a.Queue = 1024
	}
	if a.Remember <= 0 {
		a.Remember = 100_000
	}
}

// admitter is the running admission: the queue, the workers and the
// decisions.
type admitter struct {
	s        *Server
	cfg      Admission
	prefix   string // the promotion repository's path (no host), "" = no promotion
	queue    chan push
	decs     *decisions
	stop     context.CancelFunc
	ctx      context.Context
	wg       sync.WaitGroup
	stopOnce sync.Once
	mu       sync.RWMutex // closed and sends on queue
	closed   bool
}

type push struct {
	oci.Push
	key   string // repository@digest
	retag bool   // only tag the promoted copy (an admitted digest under a new tag)
}

func newAdmitter(s *Server, cfg Admission) (*admitter, error) {
	cfg.defaults()
	if cfg.Registry == "" {
		return nil, errors.New("server: registry admission needs the registry's host (--registry)")
	}
	if _, err := name.NewRegistry(cfg.Registry, name.StrictValidation); err != nil || strings.ContainsAny(cfg.Registry, "/@") {
		return nil, fmt.Errorf("server: registry %q: give host[:port], nothing else", cfg.Registry)
	}
	if cfg.Check == nil {
		return nil, errors.New("server: registry admission has no check")
	}
	if cfg.DecisionLog == "" {
		return nil, errors.New("server: registry admission needs a decision log (--decision-log FILE): rejections must be recorded")
	}
	a := &admitter{s: s, cfg: cfg, queue: make(chan push, cfg.Queue)}
	if cfg.Promote != "" {
		if cfg.Signer == nil {
			return nil, errors.New("server: promotion needs a key to sign verdicts (--verdict-key)")
		}
		r, err := name.NewRepository(cfg.Promote)
		if err != nil {
			return nil, fmt.Errorf("server: promotion repository %q: %v", cfg.Promote, err)
		}
		a.prefix = r.RepositoryStr()
	}
	d, err := openDecisions(cfg.DecisionLog, cfg.Remember)
	if err != nil {
		return nil, err
	}
	a.decs = d
	a.ctx, a.stop = context.WithCancel(context.Background())
	for range cfg.Workers {
		a.wg.Add(1)
		go a.work()
	}
	return a, nil
}

// close stops taking work, lets running checks end (up to grace, then
// cancels them) and closes the log.
func (a *admitter) close(grace time.Duration) {
	a.stopOnce.Do(func() {
		done := make(chan struct{})
		go func() { a.wg.Wait(); close(done) }()
		a.mu.Lock()
		a.closed = true
		close(a.queue)
		a.mu.Unlock()
		select {
		case <-done:
		case <-time.After(grace):
			a.stop()
			<-done
		}
		a.stop()
		a.decs.close()
	})
}

// handleEvents answers the registry fast: it authenticates, reads the
// bounded body, parses it strictly, queues the model pushes it has not
// seen and answers 202. Only a full queue makes it answer 503 (the
// registry retries, and what was queued is not queued twice).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	code, msg := s.events(w, r)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="modelvet"`)
	}
	s.m.registryResponse(code)
	s.cfg.Log.Printf("%s %s %s %d %s", r.RemoteAddr, r.Method, r.URL.Path, code, msg)
	if code/100 == 2 {
		writeJSON(w, code, struct {
			Status string `json:"status"`
		}{msg})
		return
	}
	writeJSON(w, code, errorBody{Error: msg})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) (int, string) {
	id, err := s.authenticate(r)
	if err != nil {
		return errCode(err), err.Error()
	}
	leave, err := s.clients.enter(id)
	if err != nil {
		return errCode(err), err.Error()
	}
	defer leave()
	if s.adm == nil {
		return http.StatusNotFound, "this service was started without registry admission (--registry)"
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !eventsMediaTypes[ct] {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: registry notifications are %s (or events.v1+json)", r.Header.Get("Content-Type"), EventsMediaType)
	}
	body, err := s.readBody(w, r, maxEventsBody)
	if err != nil {
		return errCode(err), err.Error()
	}
	pushes, err := oci.ParseEvents(body)
	if err != nil {
		return http.StatusBadRequest, "not a registry notification: " + err.Error()
	}
	queued, dup, ignored, full := 0, 0, 0, 0
	for _, p := range pushes {
		switch s.adm.offer(p) {
		case offerQueued:
			queued++
		case offerDuplicate:
			dup++
		case offerIgnored:
			ignored++
		case offerFull:
			full++
		}
	}
	msg := fmt.Sprintf("%d queued, %d already seen, %d ignored", queued, dup, ignored)
	if full > 0 {
		return http.StatusServiceUnavailable, fmt.Sprintf("the check queue is full (%d waiting); %d pushes were not queued, send the notification again later (%s)", s.adm.cfg.Queue, full, msg)
	}
	return http.StatusAccepted, msg
}

func errCode(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	return http.StatusBadRequest
}

type offerResult int

const (
	offerQueued offerResult = iota
	offerDuplicate
	offerIgnored
	offerFull
)

// offer queues one push unless it is not a model (a cosign signature,
// attestation or SBOM tag), is the service's own promotion, or was seen.
func (a *admitter) offer(p oci.Push) offerResult {
	if oci.IsAttachedTag(p.Tag) || a.own(p.Repository) {
		a.s.m.registryPush("ignored")
		return offerIgnored
	}
	if _, err := name.NewRepository(a.cfg.Registry+"/"+p.Repository, name.StrictValidation); err != nil {
		a.s.m.registryPush("ignored")
		return offerIgnored
	}
	if !validTag.MatchString(p.Tag) {
		p.Tag = "" // by digest
	}
	pp := push{Push: p, key: p.Repository + "@" + p.Digest}
	switch a.decs.claim(pp.key, p.Digest, p.Tag) {
	case claimNew:
	case claimRetag:
		if a.prefix == "" {
			a.s.m.registryPush("duplicate")
			return offerDuplicate
		}
		pp.retag = true
	default:
		// Already queued, running or decided; a new tag of a pending
		// check is promoted with it.
		a.s.m.registryPush("duplicate")
		return offerDuplicate
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.queue <- pp:
			a.s.m.registryPush("queued")
			return offerQueued
		default:
		}
	}
	if pp.retag {
		a.decs.releaseTag(pp.key, p.Tag)
	} else {
		a.decs.release(pp.key, p.Digest)
	}
	a.s.m.registryPush("dropped")
	return offerFull
}

// own reports whether a repository is under the promotion prefix.
func (a *admitter) own(repo string) bool {
	return a.prefix != "" && (repo == a.prefix || strings.HasPrefix(repo, a.prefix+"/"))
}

func (a *admitter) work() {
	defer a.wg.Done()
	for p := range a.queue {
		switch {
		case a.ctx.Err() != nil && p.retag:
			a.decs.releaseTag(p.key, p.Tag)
		case a.ctx.Err() != nil:
			a.decs.release(p.key, p.Digest)
		case p.retag:
			a.retag(a.ctx, p.Push, time.Now())
		default:
			a.admit(p)
		}
	}
}

// admit checks one push and records the decision; an admitted artifact is
// promoted from the checked copy. A check that could not be made (the
// registry unreachable, the digest gone) or a failed promotion is recorded
// as an error and forgotten, so a later push of the same digest is checked
// again.
func (a *admitter) admit(p push) {
	ctx, cancel := context.WithTimeout(a.ctx, a.s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	d := Decision{Repository: p.Repository, Digest: p.Digest, Tag: p.Tag,
		Source: oci.Scheme + a.cfg.Registry + "/" + p.Repository + "@" + p.Digest, PolicyDigest: a.cfg.PolicyDigest}
	// A check slot, shared with /v1/check: MaxConcurrent bounds all checks.
	select {
	case a.s.slots <- struct{}{}:
	case <-ctx.Done():
		a.decs.release(p.key, p.Digest)
		return
	}
	a.s.m.inFlight.Add(1)
	rep, art, err := a.check(ctx, d.Source)
	a.s.m.inFlight.Add(-1)
	<-a.s.slots
	if art != nil {
		defer art.Close()
	}
	switch {
	case err != nil:
		d.Verdict, d.Error = VerdictError, "the artifact could not be checked: "+err.Error()
	case rep == nil:
		d.Verdict, d.Error = VerdictError, "the check returned no report"
	default:
		d.Verdict = rep.Verdict
		d.Findings = rep.Summary.BySeverity
		d.Reasons = rep.Reasons
		if d.Verdict != "admitted" && d.Verdict != "rejected" {
			d.Verdict, d.Error = VerdictError, fmt.Sprintf("the check's verdict is %q, not admitted or rejected", rep.Verdict)
		}
	}
	if d.Verdict == "admitted" && a.prefix != "" {
		if art == nil {
			d.Verdict, d.Error = VerdictError, "admitted, but the check kept no copy to promote"
		} else if ref, err := a.promote(ctx, p, art, rep); err != nil {
			d.Verdict, d.Error = VerdictError, "admitted, but the promotion failed: "+err.Error()
		} else {
			d.Promoted = ref
		}
	}
	d.Time = time.Now().UTC()
	d.Seconds = time.Since(start).Seconds()
	extra, err := a.decs.record(d, p.key)
	if err != nil {
		a.s.cfg.Log.Printf("registry admission: %v", err)
		a.s.m.registryLogError()
	}
	a.s.m.registryDecision(d.Verdict)
	a.s.cfg.Log.Printf("registry admission: %s %s %s %s", d.Source, d.Verdict, d.Promoted, d.Error)
	for _, tag := range extra {
		if a.prefix == "" || d.Promoted == "" {
			break // nothing promoted to tag
		}
		// Pushed under another tag while it was being checked.
		pp := p.Push
		pp.Tag = tag
		a.retag(ctx, pp, time.Now())
	}
}

// retag tags the promoted copy of an admitted digest with a tag pushed
// after (or while) it was checked, and notes it in the decision log.
func (a *admitter) retag(ctx context.Context, p oci.Push, start time.Time) {
	d := Decision{Repository: p.Repository, Digest: p.Digest, Tag: p.Tag, Verdict: "admitted", PolicyDigest: a.cfg.PolicyDigest,
		Source: oci.Scheme + a.cfg.Registry + "/" + p.Repository + "@" + p.Digest}
	ref, err := oci.Retag(ctx, a.cfg.Promote+"/"+p.Repository+"@"+p.Digest, p.Tag, a.cfg.OCI)
	if err != nil {
		d.Verdict, d.Error = VerdictError, "admitted earlier, but tagging the promoted copy failed: "+err.Error()
		a.decs.releaseTag(p.Repository+"@"+p.Digest, p.Tag)
	} else {
		d.Promoted = ref
	}
	d.Time = time.Now().UTC()
	d.Seconds = time.Since(start).Seconds()
	if err := a.decs.note(d); err != nil {
		a.s.cfg.Log.Printf("registry admission: %v", err)
		a.s.m.registryLogError()
	}
	a.s.cfg.Log.Printf("registry admission: %s tag %s %s %s", d.Source, p.Tag, d.Promoted, d.Error)
}

// check runs the configured check; a panic in it is an error decision
// about this push, not the end of the service (the worker goes on).
func (a *admitter) check(ctx context.Context, ref string) (rep *report.Report, art *oci.Artifact, err error) {
	defer func() {
		if v := recover(); v != nil {
			if art != nil {
				art.Close()
			}
			rep, art, err = nil, nil, fmt.Errorf("the check failed: %v", v)
		}
	}()
	return a.cfg.Check(ctx, ref)
}

// promote copies the checked artifact to PREFIX/REPO (by the pushed tag,
// or by digest for a push without one) with its signed verdict.
func (a *admitter) promote(ctx context.Context, p push, art *oci.Artifact, rep *report.Report) (string, error) {
	dst := a.cfg.Promote + "/" + p.Repository
	if p.Tag != "" {
		dst += ":" + p.Tag
	} else {
		dst += "@" + p.Digest
	}
	v := oci.Verdict{Verdict: rep.Verdict, Source: art.Pinned(), PolicyDigest: a.cfg.PolicyDigest, Tool: "modelvet", Version: report.Version,
		CheckedAt: time.Now().UTC(), Findings: map[string]int{}}
	for k, n := range rep.Summary.BySeverity {
		v.Findings[k] = n
	}
	for _, r := range rep.Reasons {
		v.Reasons = append(v.Reasons, r.Rule+": "+r.Detail)
	}
	return oci.Promote(ctx, art, dst, v, a.cfg.Signer, a.cfg.OCI)
}

// validTag is the OCI distribution spec's tag grammar.
var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
