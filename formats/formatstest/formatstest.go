// Package formatstest holds helpers shared by the analyzers' tests.
package formatstest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// RepoRoot returns the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// Peers returns ../shared/peers beside the checkout (others' corpora, read
// in place, never copied), or skips the test when it is absent.
func Peers(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "..", "shared", "peers")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("peer corpora not found at %s (they live beside the checkout in ../shared/peers); skipping", p)
	}
	return p
}

// ScanBytes runs the full sniff-and-analyze path on data as if it were a
// file called name, with opts or the defaults when opts is nil.
func ScanBytes(t testing.TB, name string, data []byte, opts *formats.Options) *formats.FileResult {
	t.Helper()
	if opts == nil {
		o := formats.DefaultOptions()
		opts = &o
	}
	return formats.ScanReader(name, bytes.NewReader(data), int64(len(data)), opts)
}

// Rules returns the rule names of the findings at or above min.
func Rules(r *formats.FileResult, min formats.Severity) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity >= min {
			out = append(out, f.Rule)
		}
	}
	return out
}

// Describe renders findings for a test failure message.
func Describe(r *formats.FileResult) string {
	var b strings.Builder
	b.WriteString(r.Format)
	for _, f := range r.Findings {
		b.WriteString("\n  " + f.Severity.String() + " " + f.Rule + " " + f.Where() + ": " + f.Message)
	}
	return b.String()
}

// Label is one row of a peer corpus's labels.tsv.
type Label struct {
	Path string // as written in labels.tsv, '/'-separated, relative to the corpus
	Abs  string // the file on this machine
	Want string // malicious, benign, not-a-model or unscannable
}

// Labels reads ../shared/peers/CORPUS/labels.tsv (skipping the test when
// the peers are absent, failing it when the file is empty or unreadable).
func Labels(t testing.TB, corpus string) []Label {
	t.Helper()
	dir := filepath.Join(Peers(t), corpus)
	data, err := os.ReadFile(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []Label
	for _, line := range strings.Split(string(data), "\n") {
		path, want, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		if !ok || path == "path" {
			continue
		}
		rows = append(rows, Label{Path: path, Abs: filepath.Join(dir, filepath.FromSlash(path)), Want: want})
	}
	if len(rows) == 0 {
		t.Fatalf("%s/labels.tsv has no rows", dir)
	}
	return rows
}

// ExpectLabel scans the row's file as `modelvet scan` would (defaults, no
// hashing) and checks the exit decision its label calls for: benign files
// pass, every other label (malicious, not-a-model, unscannable) fails.
func ExpectLabel(t *testing.T, row Label) {
	t.Helper()
	res := ScanDir(t, false, row.Abs)
	failing := res.Count(formats.High) > 0
	if failing != (row.Want != "benign") {
		t.Errorf("labelled %s, but a finding at High or above is %v:%s", row.Want, failing, DescribeResult(res))
	}
}

// ScanDir runs formats.Scan on paths with the default options, hashing
// only when asked (hashing reads every byte, which most tests do not need).
func ScanDir(t testing.TB, hash bool, paths ...string) *formats.Result {
	t.Helper()
	opts := formats.DefaultOptions()
	opts.Hash = hash
	res, err := formats.Scan(context.Background(), paths, opts)
	if err != nil {
		t.Fatalf("scan %v: %v", paths, err)
	}
	return res
}

// ResultRules returns the rule names at or above min across every file.
func ResultRules(res *formats.Result, min formats.Severity) []string {
	var out []string
	for _, f := range res.Files {
		out = append(out, Rules(f, min)...)
	}
	return out
}

// DescribeResult renders every file's findings for a test failure message.
func DescribeResult(res *formats.Result) string {
	var b strings.Builder
	for _, f := range res.Files {
		b.WriteString("\n" + f.Path + ": " + Describe(f))
	}
	return b.String()
}
