package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDecisionLogReload: what a restarted service learns from its log —
// decided pushes only (an error is checked again), the last decision per
// digest, a torn last line (a crash mid-write) skipped and ended so the
// next record starts on its own line, an oversized line dropped, and the
// memory bound held.
func TestDecisionLogReload(t *testing.T) {
	dg := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	line := func(repo, d, verdict string) string {
		b, _ := json.Marshal(Decision{Repository: repo, Digest: d, Verdict: verdict, Time: time.Unix(0, 0).UTC()})
		return string(b) + "\n"
	}
	log := line("org/a", dg("1"), "admitted") +
		line("org/b", dg("2"), "error") +
		line("org/c", dg("3"), "rejected") +
		"{\"repository\":\"org/huge\",\"digest\":\"" + dg("4") + "\",\"verdict\":\"admitted\",\"x\":\"" + strings.Repeat("A", maxLogLine) + "\"}\n" +
		line("org/c", dg("3"), "admitted") +
		`{"repository":"org/torn","digest":"` + dg("5") + `","verd`
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	os.WriteFile(path, []byte(log), 0o600)
	d, err := openDecisions(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, digest string
		claim             bool   // a new push of it is checked
		last              string // its last decision, "" = none
	}{
		{"admitted", "org/a@" + dg("1"), dg("1"), false, "admitted"},
		{"error is checked again", "org/b@" + dg("2"), dg("2"), true, ""},
		{"decided twice: the last counts", "org/c@" + dg("3"), dg("3"), false, "admitted"},
		{"line over the cap dropped", "org/huge@" + dg("4"), dg("4"), true, ""},
		{"torn line", "org/torn@" + dg("5"), dg("5"), true, ""},
	}
	for _, tc := range cases {
		x, ok := d.lookup(tc.digest)
		got := ""
		if ok && x.Verdict != "pending" {
			got = x.Verdict
		}
		if got != tc.last {
			t.Errorf("%s: last decision %q, want %q", tc.name, got, tc.last)
		}
		if c := d.claim(tc.key, tc.digest, "") == claimNew; c != tc.claim {
			t.Errorf("%s: claim %v, want %v", tc.name, c, tc.claim)
		}
	}
	if _, err := d.record(Decision{Repository: "org/new", Digest: dg("6"), Verdict: "rejected"}, "org/new@"+dg("6")); err != nil {
		t.Fatal(err)
	}
	d.close()
	b, _ := os.ReadFile(path)
	last := b[bytes.LastIndexByte(b[:len(b)-1], '\n')+1:]
	var x Decision
	if err := json.Unmarshal(last, &x); err != nil || x.Digest != dg("6") {
		t.Fatalf("the record after a torn line is not a line of its own: %q (%v)", last, err)
	}

	// The memory bound: only the newest max decisions are kept.
	small, err := openDecisions(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer small.close()
	if len(small.keys) > 2 || len(small.last) > 2 {
		t.Fatalf("kept %d keys and %d decisions, bound 2", len(small.keys), len(small.last))
	}
	if _, ok := small.lookup(dg("6")); !ok {
		t.Fatal("the newest decision was evicted")
	}
}

// Any bytes as a decision log: no panic, bounded memory, and only
// admitted/rejected lines make a push a duplicate.
func FuzzDecisionLog(f *testing.F) {
	f.Add([]byte(`{"repository":"org/a","digest":"sha256:` + strings.Repeat("a", 64) + `","verdict":"admitted"}` + "\n"))
	f.Add([]byte("{\"verdict\":\"rejected\",\"digest\":\"x\"}\n\n\r\n{"))
	f.Add([]byte(strings.Repeat("\n", 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &decisions{keys: map[string]*keyState{}, pending: map[string]int{}, last: map[string]*Decision{}, max: 8}
		// As openDecisions reads it: the tail of the newest lines.
		start, err := tailStart(bytes.NewReader(data), int64(len(data)), d.max)
		if err != nil || start < 0 || start > int64(len(data)) {
			t.Fatalf("tail at %d of %d: %v", start, len(data), err)
		}
		if err := d.load(bytes.NewReader(data[start:])); err != nil {
			t.Fatal(err)
		}
		if len(d.keys) > 8 || len(d.last) > 8 {
			t.Fatalf("bound exceeded: %d keys, %d decisions", len(d.keys), len(d.last))
		}
		for _, x := range d.last {
			if x.Verdict != "admitted" && x.Verdict != "rejected" {
				t.Fatalf("a %q line was taken as a decision", x.Verdict)
			}
		}
	})
}

func BenchmarkDecisionLogLoad(b *testing.B) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for i := 0; i < 5000; i++ {
		x, _ := json.Marshal(Decision{Repository: "org/model", Digest: "sha256:" + strings.Repeat(string(rune('a'+i%6)), 58) + strings.Repeat("0", 6-len(itoa6(i))) + itoa6(i),
			Verdict: "rejected", Reasons: nil, Findings: map[string]int{"critical": 1}, Time: time.Unix(0, 0).UTC()})
		w.Write(x)
		w.WriteByte('\n')
	}
	w.Flush()
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d := &decisions{keys: map[string]*keyState{}, pending: map[string]int{}, last: map[string]*Decision{}, max: 100_000}
		if err := d.load(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa6(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestDecisionLogTail: a restart reads the newest lines of the log, as
// many as it remembers, not its whole history (a service running for
// months would otherwise start in time growing with it); what it
// remembers is what reading all of it would leave.
func TestDecisionLogTail(t *testing.T) {
	dg := func(i int) string { return fmt.Sprintf("sha256:%064d", i) }
	line := func(i int) string {
		b, _ := json.Marshal(Decision{Repository: "org/m", Digest: dg(i), Verdict: "rejected", Time: time.Unix(0, 0).UTC()})
		return string(b) + "\n"
	}
	var log strings.Builder
	for i := range 5000 {
		log.WriteString(line(i))
	}
	data := []byte(log.String())
	for _, c := range []struct {
		name string
		data []byte
		max  int
	}{
		{"long history, small memory", data, 50},
		{"long history, torn last line", append(append([]byte(nil), data...), `{"repository":"org/m","dig`...), 50},
		{"history shorter than memory", data[:len(line(0))*10], 50},
		{"one line, no newline", []byte(strings.TrimSuffix(line(7), "\n")), 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := &countingReaderAt{r: bytes.NewReader(c.data)}
			start, err := tailStart(cr, int64(len(c.data)), c.max)
			if err != nil {
				t.Fatal(err)
			}
			tail := &decisions{keys: map[string]*keyState{}, pending: map[string]int{}, last: map[string]*Decision{}, max: c.max}
			if err := tail.load(io.NewSectionReader(cr, start, int64(len(c.data))-start)); err != nil {
				t.Fatal(err)
			}
			all := &decisions{keys: map[string]*keyState{}, pending: map[string]int{}, last: map[string]*Decision{}, max: c.max}
			if err := all.load(bytes.NewReader(c.data)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tail.done, all.done) || !slices.Equal(tail.lastOrd, all.lastOrd) {
				t.Fatalf("the tail remembers %v, the whole log %v", tail.done, all.done)
			}
			if bound := int64(2*(c.max+1)*len(line(0))) + 64<<10; cr.n > bound {
				t.Fatalf("read %d bytes of a %d-byte log to remember %d decisions (bound %d)", cr.n, len(c.data), c.max, bound)
			}
		})
	}
}
