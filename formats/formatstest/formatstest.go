// Package formatstest holds helpers shared by the analyzers' tests.
package formatstest

import (
	"bytes"
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
