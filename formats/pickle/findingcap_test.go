package pickle_test

import (
	"fmt"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestFindingCapKeepsCritical: the per-stream cap on distinct findings
// used to drop everything after it, so padding a pickle with more than a
// thousand distinct unknown imports pushed a later os.system out of the
// report; the file came out at High and passed --fail-on critical.
func TestFindingCapKeepsCritical(t *testing.T) {
	b := &op{}
	b.proto(2)
	for i := range 1100 {
		b.global(fmt.Sprintf("padding%d", i), "Thing").raw('0') // GLOBAL, POP
	}
	b.global("os", "system").str0("id").tuple1().reduce().stop()
	res := formatstest.ScanBytes(t, "model.pkl", b.bytesOf(), nil)
	crit, capped := false, false
	for _, f := range res.Findings {
		crit = crit || f.Rule == "pickle/dangerous-import" && f.Severity == formats.Critical && f.Import == "os.system"
		capped = capped || f.Rule == "pickle/limit-exceeded"
	}
	if !crit || !capped {
		t.Fatalf("want the os.system import at critical and the cap reported; got %s", formatstest.Describe(res))
	}
}
