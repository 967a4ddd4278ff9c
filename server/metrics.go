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
	buckets  []uint64          // cumulative at write time; per-bucket here
	count    uint64
	sum      float64

	inFlight atomic.Int64 // checks running
	queued   atomic.Int64 // requests waiting for a slot
}

func newMetrics() *metrics {
	return &metrics{verdicts: map[string]uint64{}, codes: map[int]uint64{}, buckets: make([]uint64, len(durationBuckets))}
}

func (m *metrics) observe(verdict string, code int, d time.Duration, failed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[code]++
	if failed {
		m.errors++
	}
	if verdict == "" {
		return
	}
	m.verdicts[verdict]++
	s := d.Seconds()
	m.count++
	m.sum += s
	for i, b := range durationBuckets {
		if s <= b {
			m.buckets[i]++
			break
		}
	}
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP modelvet_checks_total Model checks that reached a verdict, by verdict.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_total counter")
	for _, v := range []string{"admitted", "rejected"} {
		fmt.Fprintf(w, "modelvet_checks_total{verdict=%q} %d\n", v, m.verdicts[v])
	}
	fmt.Fprintln(w, "# HELP modelvet_check_errors_total Check requests that ended without a verdict (bad request, refused path, timeout, internal error).")
	fmt.Fprintln(w, "# TYPE modelvet_check_errors_total counter")
	fmt.Fprintf(w, "modelvet_check_errors_total %d\n", m.errors)
	fmt.Fprintln(w, "# HELP modelvet_check_responses_total Responses to /v1/check by HTTP status code.")
	fmt.Fprintln(w, "# TYPE modelvet_check_responses_total counter")
	codes := make([]int, 0, len(m.codes))
	for c := range m.codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "modelvet_check_responses_total{code=\"%d\"} %d\n", c, m.codes[c])
	}
	fmt.Fprintln(w, "# HELP modelvet_check_duration_seconds Time from taking a slot to the verdict.")
	fmt.Fprintln(w, "# TYPE modelvet_check_duration_seconds histogram")
	var cum uint64
	for i, b := range durationBuckets {
		cum += m.buckets[i]
		fmt.Fprintf(w, "modelvet_check_duration_seconds_bucket{le=\"%g\"} %d\n", b, cum)
	}
	fmt.Fprintf(w, "modelvet_check_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(w, "modelvet_check_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(w, "modelvet_check_duration_seconds_count %d\n", m.count)
	fmt.Fprintln(w, "# HELP modelvet_checks_in_flight Checks running now.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_in_flight gauge")
	fmt.Fprintf(w, "modelvet_checks_in_flight %d\n", m.inFlight.Load())
	fmt.Fprintln(w, "# HELP modelvet_checks_queued Check requests waiting for a slot.")
	fmt.Fprintln(w, "# TYPE modelvet_checks_queued gauge")
	fmt.Fprintf(w, "modelvet_checks_queued %d\n", m.queued.Load())
}
