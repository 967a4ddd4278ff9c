package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelvet/modelvet/report"
)

// VerdictError is a decision that is not a verdict: the artifact could not
// be checked (gone from the registry, unreachable) or an admitted one
// could not be promoted. Nothing is promoted, and the next push of the
// digest is checked again.
const VerdictError = "error"

// Decision is one line of the decision log and the answer of
// GET /v1/registry/decisions/{digest}.
type Decision struct {
	Time         time.Time       `json:"time"`
	Source       string          `json:"source"` // oci://registry/repo@digest that was checked
	Repository   string          `json:"repository"`
	Digest       string          `json:"digest"`
	Tag          string          `json:"tag,omitempty"`
	Verdict      string          `json:"verdict"` // admitted, rejected, error (pending: only from the endpoint)
	Reasons      []report.Reason `json:"reasons,omitempty"`
	Findings     map[string]int  `json:"findings,omitempty"` // by severity
	Promoted     string          `json:"promoted,omitempty"` // oci://promotion/repo@digest
	Error        string          `json:"error,omitempty"`
	PolicyDigest string          `json:"policy_digest,omitempty"`
	Seconds      float64         `json:"seconds,omitempty"`
}

// maxLogLine bounds one line read back from the decision log at start.
const maxLogLine = 1 << 20

// decisions keeps the log file and, bounded, what is pending and decided:
// keys (repository@digest) for idempotency, and the last decision per
// digest for the endpoint.
type decisions struct {
	mu      sync.Mutex
	f       *os.File
	keys    map[string]*keyState // repository@digest
	pending map[string]int       // digest -> pushes queued or running
	last    map[string]*Decision
	done    []string // decided keys, oldest first (eviction)
	lastOrd []string // digests in last, oldest first (eviction)
	max     int
}

// keyState is what is known of one repository@digest.
type keyState struct {
	decided  bool            // false: queued or running
	admitted bool            // decided and admitted (promoted)
	tags     map[string]bool // tags pushed for it, promoted or to be
	extra    []string        // tags pushed while its check was pending
}

// maxTags bounds the tags remembered for one digest.
const maxTags = 64

type claimResult int

const (
	claimNew        claimResult = iota // never seen: check it
	claimDuplicate                     // nothing new
	claimPendingTag                    // a new tag while the check is pending: promoted with it
	claimRetag                         // a new tag of an admitted digest: tag the promoted copy
)

// openDecisions reads what an earlier run decided (so a redelivered or
// repeated push is not checked again) and opens the log to append. A torn
// last line (a crash mid-write) is skipped and ended. Only the log's tail
// is read: the newest max lines, streamed, so a service restarts in time
// and memory bounded by what it remembers, not by its whole history.
func openDecisions(path string, max int) (*decisions, error) {
	d := &decisions{keys: map[string]*keyState{}, pending: map[string]int{}, last: map[string]*Decision{}, max: max}
	// One open, read for the tail and appended to.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("decision log: %v", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("decision log: %v", err)
	}
	if size := fi.Size(); size > 0 {
		start, err := tailStart(f, size, max)
		if err == nil {
			err = d.load(io.NewSectionReader(f, start, size-start))
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("decision log %s: %v", path, err)
		}
		// End a torn line so the next record starts on its own.
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
			f.Write([]byte("\n"))
		}
	}
	d.f = f
	return d, nil
}

// tailStart returns where the last n whole lines of the log begin (0 for
// a log of fewer), reading backwards in blocks: older lines could only be
// evicted again by the newer ones, since at most n decisions are kept.
// (Error lines or a digest decided twice among them leave fewer
// remembered than a full read would: those pushes are checked again.)
func tailStart(r io.ReaderAt, size int64, n int) (int64, error) {
	if n <= 0 {
		return size, nil
	}
	buf := make([]byte, 64<<10)
	lines := 0
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			// lines is how many whole lines follow this newline (a torn
			// last line, never a decision, is not counted).
			if b[i] == '\n' {
				if lines == n {
					return start + int64(i) + 1, nil
				}
				lines++
			}
		}
		end = start
	}
	return 0, nil
}

func (d *decisions) load(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, maxLogLine)
		if len(line) > 0 {
			var x Decision
			if json.Unmarshal(line, &x) == nil && x.Digest != "" && (x.Verdict == "admitted" || x.Verdict == "rejected") {
				d.decided(x.Repository+"@"+x.Digest, &x)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line, dropping (not keeping) a line longer than max.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	over := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !over {
			if len(line)+len(chunk) > max {
				over, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSpace(line), err
	}
}

// claim says what a push of tag (possibly "") of key brings that is new.
func (d *decisions) claim(key, digest, tag string) claimResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.keys[key]
	if !ok {
		st = &keyState{tags: map[string]bool{}}
		if tag != "" {
			st.tags[tag] = true
		}
		d.keys[key] = st
		d.pending[digest]++
		return claimNew
	}
	if tag == "" || st.tags[tag] || len(st.tags) >= maxTags || st.decided && !st.admitted {
		return claimDuplicate
	}
	st.tags[tag] = true
	if !st.decided {
		st.extra = append(st.extra, tag)
		return claimPendingTag
	}
	return claimRetag
}

// release forgets a push that was not decided (queue full, shutdown).
func (d *decisions) release(key, digest string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.keys[key]; ok && !st.decided {
		delete(d.keys, key)
	}
	d.unpend(digest)
}

// releaseTag forgets a tag whose retagging was not queued.
func (d *decisions) releaseTag(key, tag string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.keys[key]; ok {
		delete(st.tags, tag)
	}
}

func (d *decisions) unpend(digest string) {
	if d.pending[digest]--; d.pending[digest] <= 0 {
		delete(d.pending, digest)
	}
}

// record appends the decision to the log (synced: a rejection is on disk
// before anyone asks about it) and remembers it; an error is remembered
// for the endpoint but not for idempotency. For an admission it returns
// the tags pushed while the check was pending, to be promoted too.
func (d *decisions) record(x Decision, key string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unpend(x.Digest)
	var extra []string
	if x.Verdict == VerdictError {
		delete(d.keys, key)
		d.remember(&x)
	} else {
		if st := d.keys[key]; st != nil && x.Verdict == "admitted" {
			extra, st.extra = st.extra, nil
		}
		d.decided(key, &x)
	}
	return extra, d.write(x)
}

// write appends one line to the log and syncs it (called with mu held).
func (d *decisions) write(x Decision) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	if _, err := d.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the decision log: %v", err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("syncing the decision log: %v", err)
	}
	return nil
}

// note appends a line about a promoted tag; the endpoint keeps answering
// with the check's decision.
func (d *decisions) note(x Decision) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.write(x)
}

func (d *decisions) decided(key string, x *Decision) {
	st, ok := d.keys[key]
	if !ok {
		st = &keyState{tags: map[string]bool{}}
		d.keys[key] = st
	}
	if !st.decided {
		d.done = append(d.done, key)
	}
	st.decided, st.admitted = true, x.Verdict == "admitted"
	if x.Tag != "" && len(st.tags) < maxTags {
		st.tags[x.Tag] = true
	}
	for len(d.done) > d.max {
		if st := d.keys[d.done[0]]; st != nil && st.decided {
			delete(d.keys, d.done[0])
		}
		d.done = d.done[1:]
	}
	d.remember(x)
}

func (d *decisions) remember(x *Decision) {
	if _, ok := d.last[x.Digest]; !ok {
		d.lastOrd = append(d.lastOrd, x.Digest)
	}
	d.last[x.Digest] = x
	for len(d.lastOrd) > d.max {
		delete(d.last, d.lastOrd[0])
		d.lastOrd = d.lastOrd[1:]
	}
}

// lookup returns the last decision about a digest, or a pending one.
func (d *decisions) lookup(digest string) (*Decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending[digest] > 0 {
		return &Decision{Digest: digest, Verdict: "pending"}, true
	}
	x, ok := d.last[digest]
	if !ok {
		return nil, false
	}
	c := *x
	return &c, true
}

func (d *decisions) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

// handleDecision answers GET /v1/registry/decisions/{digest}: the last
// decision about the digest with its reasons (202 while it is queued or
// being checked, 404 when the service has none in memory).
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.refuseAuth(w, err)
		return
	}
	if s.adm == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "this service was started without registry admission (--registry)"})
		return
	}
	dg := r.PathValue("digest")
	if !validDigest(dg) {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "name a manifest digest: sha256: and 64 lower-case hex digits"})
		return
	}
	x, ok := s.adm.decs.lookup(dg)
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no decision about " + dg + " (never pushed here, or older than what the service keeps in memory: see the decision log)"})
	case x.Verdict == "pending":
		writeJSON(w, http.StatusAccepted, x)
	default:
		writeJSON(w, http.StatusOK, x)
	}
}

func validDigest(s string) bool {
	if len(s) != len("sha256:")+64 || s[:7] != "sha256:" {
		return false
	}
	for _, c := range s[7:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
