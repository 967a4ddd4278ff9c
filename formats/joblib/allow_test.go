package joblib_test

import (
	"os"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestSklearnAllow: a real scikit-learn model is unknown to the strict
// profile by design; trusting its package as the README says
// (--allow 'sklearn.*') makes it pass with nothing at Medium or above.
func TestSklearnAllow(t *testing.T) {
	data, err := os.ReadFile("testdata/logreg.joblib")
	if err != nil {
		t.Fatal(err)
	}
	o := formats.DefaultOptions()
	if res := formatstest.ScanBytes(t, "logreg.joblib", data, &o); !has(res, "pickle/unknown-import", formats.High, "") {
		t.Fatalf("strict without --allow should refuse sklearn classes:\n%s", formatstest.Describe(res))
	}
	o.Allow = []string{"sklearn.*"}
	res := formatstest.ScanBytes(t, "logreg.joblib", data, &o)
	if r := formatstest.Rules(res, formats.Medium); len(r) > 0 {
		t.Errorf("with --allow sklearn.*: %s", formatstest.Describe(res))
	}
}
