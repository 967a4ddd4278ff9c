package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
		if err := d.load(bytes.NewReader(data)); err != nil {
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
