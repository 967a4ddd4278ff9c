package pickle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/pickle"
)

// rawPickle reports whether a peer file is a plain pickle stream (not a
// zip, npy or other container): those are this package's to judge.
func rawPickle(t *testing.T, path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 {
		return false
	}
	switch {
	case b[0] == 'P' && b[1] == 'K', b[0] == 0x93 && b[1] == 'N', b[0] == '7' && b[1] == 'z':
		return false
	}
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".pkl" || ext == ".pickle" || ext == ".dill" || (ext == ".bin" && !strings.HasPrefix(filepath.Base(path), "pytorch_model"))
}

// TestPeerCorpora runs the raw-pickle rows of the peers' labelled corpora:
// malicious files need a finding at High or above, benign ones none.
func TestPeerCorpora(t *testing.T) {
	var okMal, badMal, okBen, badBen int
	for _, corpus := range []string{"picklescan", "modelaudit"} {
		for _, row := range formatstest.Labels(t, corpus) {
			path := row.Abs
			if !rawPickle(t, path) || (row.Want != "malicious" && row.Want != "benign") {
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := formatstest.ScanBytes(t, filepath.Base(path), data, nil)
			high := len(formatstest.Rules(res, formats.High)) > 0
			switch {
			case row.Want == "malicious" && high:
				okMal++
			case row.Want == "malicious":
				badMal++
				t.Errorf("%s/%s is malicious but scanned clean:\n%s", corpus, row.Path, formatstest.Describe(res))
			case !high:
				okBen++
			default:
				badBen++
				t.Errorf("%s/%s is benign but has findings:\n%s", corpus, row.Path, formatstest.Describe(res))
			}
			if testing.Verbose() {
				t.Logf("%s %s: %s", row.Want, row.Path, formatstest.Describe(res))
			}
		}
	}
	t.Logf("malicious caught %d/%d, benign clean %d/%d", okMal, okMal+badMal, okBen, okBen+badBen)
}
