package all_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestPeerCorpora scans every file the other scanners' corpora label and
// checks the exit decision modelvet scan would take with its defaults:
// malicious, not-a-model and unscannable files must fail (exit 1), benign
// ones must pass (exit 0). The corpora are read in place from
// ../shared/peers; nothing is copied.
func TestPeerCorpora(t *testing.T) {
	for _, corpus := range []string{"picklescan", "modelaudit"} {
		rows := formatstest.Labels(t, corpus)
		t.Run(corpus, func(t *testing.T) {
			got := map[string]int{}
			for _, row := range rows {
				path, want := row.Abs, row.Want
				t.Run(row.Path, func(t *testing.T) {
					res := formatstest.ScanDir(t, false, path)
					failing := res.Count(formats.High) > 0
					if failing != (want != "benign") {
						t.Errorf("labelled %s, but modelvet would exit %d:%s", want, map[bool]int{false: 0, true: 1}[failing], formatstest.DescribeResult(res))
						return
					}
					got[want]++
				})
			}
			t.Logf("%s: correct by label: %v of %d rows", corpus, got, len(rows))
		})
	}
}
