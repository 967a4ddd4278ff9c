package main

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// TestSignatureSectionShowsFilesHiddenBySigner: a verified model with a
// file under the signature's ignore_paths says so in the report, naming
// the file (it passed verification but nothing vouches for it).
func TestSignatureSectionShowsFilesHiddenBySigner(t *testing.T) {
	res := &verify.Result{Verified: true, Model: "m", Signature: "m/model.sig", Resources: 2, NotCovered: []string{"pytorch_model.bin"}}
	sec := SignatureSection(res)
	text := strings.Join(sec.Lines, "\n")
	if !strings.Contains(text, "NOT covered by the signature") || !strings.Contains(text, "pytorch_model.bin") {
		t.Fatalf("section does not report the uncovered file:\n%s", text)
	}
}
