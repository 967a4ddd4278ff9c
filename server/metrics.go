package server

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// durationBuckets are the histogram's upper bounds in seconds: a small
// model checks in milliseconds, a 70B checkpoint in minutes.
var durationBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// metrics are written in the Prometheus text exposition format (version
// 0.0.4) by hand: a counter map, a histogram and two gauges do not need a
// client library and its dependencies in a security tool.
type metrics struct {
	mu       sync.Mutex
	verdicts map[string]uint64 // checks by verdict
	codes    map[int]uint64    // responses to /v1/check by HTTP status
	errors   uint64            // checks that ended without a verdict
	check    histogram         // slot taken to verdict

	regPushes    map[string]uint64 // pushes named by notifications, by what became of them
	regDecisions map[string]uint64 // admission decisions by verdict
	regCodes     map[int]uint64    // responses to /v1/registry/events
	regLogErrors uint64            // decisions that could not be written to the log
	queue        histogram         // waiting for a slot

	inFlight     atomic.Int64 // checks running
	queued       atomic.Int64 // requests waiting for a slot
	uploading    atomic.Int64 // uploads being received, extracted or checked
	connsOpen    atomic.Int64 // connections open
	connsRefused atomic.Int64 // connections closed at accept (over a cap)
}

type histogram struct {
	buckets []uint64 // per bucket here; cumulative at write time
	count   uint64
	sum     float64
}

func (h *histogram) add(d time.Duration) {
	if h.buckets == nil {
		h.buckets = make([]uint64, len(durationBuckets))
	}
	s := d.Seconds()
	h.count++
	h.sum += s
	for i, b := range durationBuckets {
		if s <= b {
			h.buckets[i]++
			break
		}
	}
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n", name, help)
	fmt.Fprintf(w, "# TYPE %s histogram\n", name)
	var cum uint64
	for i, b := range durationBuckets {
		if h.buckets != nil {
			cum += h.buckets[i]
		}
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, b, cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n", name, h.count)
	fmt.Fprintf(w, "%s_sum %g\n", name, h.sum)
	fmt.Fprintf(w, "%s_count %d\n", name, h.count)
}

func newMetrics() *metrics {
	return &metrics{verdicts: map[string]uint64{}, codes: map[int]uint64{},
		regPushes: map[string]uint64{}, regDecisions: map[string]uint64{}, regCodes: map[int]uint64{}}
}

// observe counts one answered (or abandoned) /v1/check request, once:
// the response counters add up to the requests received.
func (m *metrics) observe(verdict string, code int, tm *timing) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[code]++
	if !tm.slot.IsZero() {
		m.queue.add(tm.queued)
	}
	if verdict == "" {
		m.errors++
		return
	}
	m.verdicts[verdict]++
	m.check.add(tm.check)
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP modelvet_checks_total Model checks that reached a verdict, by verdict.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_total counter")
	for _, v := range []string{"admitted", "rejected"} {
		fmt.Fprintf(w, "modelvet_checks_total{verdict=%q} %d\n", v, m.verdicts[v])
	}
	fmt.Fprintln(w, "# HELP modelvet_check_errors_total Check requests that ended without a verdict (bad request, refused path, limit, timeout, client gone, internal error).")
	fmt.Fprintln(w, "# TYPE modelvet_check_errors_total counter")
	fmt.Fprintf(w, "modelvet_check_errors_total %d\n", m.errors)
	fmt.Fprintln(w, "# HELP modelvet_check_responses_total Requests to /v1/check by HTTP status code answered; 499 counts clients that went away before the answer.")
	fmt.Fprintln(w, "# TYPE modelvet_check_responses_total counter")
	codes := make([]int, 0, len(m.codes))
	for c := range m.codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "modelvet_check_responses_total{code=\"%d\"} %d\n", c, m.codes[c])
	}
	m.check.write(w, "modelvet_check_duration_seconds", "Time from taking a check slot to the verdict (upload and queueing excluded).")
	m.queue.write(w, "modelvet_check_queue_seconds", "Time a request whose body was read waited for a check slot.")
	fmt.Fprintln(w, "# HELP modelvet_checks_in_flight Checks running now.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_in_flight gauge")
	fmt.Fprintf(w, "modelvet_checks_in_flight %d\n", m.inFlight.Load())
	fmt.Fprintln(w, "# HELP modelvet_checks_queued Check requests waiting for a slot.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_queued gauge")
	fmt.Fprintf(w, "modelvet_checks_queued %d\n", m.queued.Load())
	fmt.Fprintln(w, "# HELP modelvet_uploads_in_progress Uploads being received, extracted or checked.")
	fmt.Fprintln(w, "# TYPE modelvet_uploads_in_progress gauge")
	fmt.Fprintf(w, "modelvet_uploads_in_progress %d\n", m.uploading.Load())
	fmt.Fprintln(w, "# HELP modelvet_connections_open Client connections open.")
	fmt.Fprintln(w, "# TYPE modelvet_connections_open gauge")
	fmt.Fprintf(w, "modelvet_connections_open %d\n", m.connsOpen.Load())
	fmt.Fprintln(w, "# HELP modelvet_connections_refused_total Connections closed when accepted, over the global or per-client cap.")
	fmt.Fprintln(w, "# TYPE modelvet_connections_refused_total counter")
	fmt.Fprintf(w, "modelvet_connections_refused_total %d\n", m.connsRefused.Load())
	m.writeRegistry(w)
}

func (m *metrics) registryPush(result string) {
	m.mu.Lock()
	m.regPushes[result]++
	m.mu.Unlock()
}

func (m *metrics) registryDecision(verdict string) {
	m.mu.Lock()
	m.regDecisions[verdict]++
	m.mu.Unlock()
}

func (m *metrics) registryResponse(code int) {
	m.mu.Lock()
	m.regCodes[code]++
	m.mu.Unlock()
}

func (m *metrics) registryLogError() {
	m.mu.Lock()
	m.regLogErrors++
	m.mu.Unlock()
}

// writeRegistry writes the registry admission's counters (called with mu held).
func (m *metrics) writeRegistry(w io.Writer) {
	fmt.Fprintln(w, "# HELP modelvet_registry_pushes_total Model pushes named by registry notifications: queued, duplicate (already queued or decided), ignored (signatures, attestations, the promotion repository), dropped (queue full; the registry resends).")
	fmt.Fprintln(w, "# TYPE modelvet_registry_pushes_total counter")
	for _, v := range []string{"queued", "duplicate", "ignored", "dropped"} {
		fmt.Fprintf(w, "modelvet_registry_pushes_total{result=%q} %d\n", v, m.regPushes[v])
	}
	fmt.Fprintln(w, "# HELP modelvet_registry_decisions_total Admission decisions about pushed artifacts: admitted (and promoted), rejected, error (not checked or not promoted).")
	fmt.Fprintln(w, "# TYPE modelvet_registry_decisions_total counter")
	for _, v := range []string{"admitted", "rejected", VerdictError} {
		fmt.Fprintf(w, "modelvet_registry_decisions_total{verdict=%q} %d\n", v, m.regDecisions[v])
	}
	fmt.Fprintln(w, "# HELP modelvet_registry_event_responses_total Requests to /v1/registry/events by HTTP status code.")
	fmt.Fprintln(w, "# TYPE modelvet_registry_event_responses_total counter")
	codes := make([]int, 0, len(m.regCodes))
	for c := range m.regCodes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "modelvet_registry_event_responses_total{code=\"%d\"} %d\n", c, m.regCodes[c])
	}
	fmt.Fprintln(w, "# HELP modelvet_registry_decision_log_errors_total Decisions that could not be written to the decision log.")
	fmt.Fprintln(w, "# TYPE modelvet_registry_decision_log_errors_total counter")
	fmt.Fprintf(w, "modelvet_registry_decision_log_errors_total %d\n", m.regLogErrors)
}
