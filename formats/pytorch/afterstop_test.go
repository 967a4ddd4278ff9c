package pytorch_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/pickle"
)

const osSystemPickle = "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// pickleEnds returns where each of the first n pickles of b ends.
func pickleEnds(t *testing.T, b []byte, n int) []int64 {
	t.Helper()
	var ends []int64
	o := formats.DefaultOptions()
	at := int64(0)
	for range n {
		r := pickle.ScanFrom(formats.NewScope("probe", &o, &formats.FileResult{}), bytes.NewReader(b), at, int64(len(b)), true)
		if r == nil || r.Pickles != 1 {
			t.Fatalf("no pickle at offset %d", at)
		}
		at = r.End
		ends = append(ends, at)
	}
	return ends
}

// TestPickleAfterStop: torch.load reads data.pkl with one
// Unpickler.load(), so a pickle after its STOP runs under no loader: still
// flagged (a tool that reads on, or a scanner fooled by the differential,
// sees it), at High with a message saying so, never Critical as if
// torch.load ran it. The legacy format is read as several pickles in a row
// (magic, protocol, sys_info, the object): a payload there still runs.
func TestPickleAfterStop(t *testing.T) {
	needPickle(t)
	sd := fixture(t, "state_dict_dtypes.pt")
	afterStop := rezip(t, sd, func(n string, d []byte) (string, []byte, bool) {
		if strings.HasSuffix(n, "/data.pkl") {
			d = append(bytes.Clone(d), osSystemPickle...)
		}
		return n, d, true
	})
	benignAfterStop := rezip(t, sd, func(n string, d []byte) (string, []byte, bool) {
		if strings.HasSuffix(n, "/data.pkl") {
			d = append(bytes.Clone(d), "\x80\x02K\x01."...)
		}
		return n, d, true
	})
	legacy := fixture(t, "legacy_state_dict.pt")
	ends := pickleEnds(t, legacy, 3)
	sysInfoPayload := append(append(bytes.Clone(legacy[:ends[1]]), osSystemPickle...), legacy[ends[2]:]...)
	for _, c := range []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity // of rule, and the worst finding
		msg  string
	}{
		{"harmless pickle after data.pkl's STOP: content torch.load never reads", benignAfterStop, "pytorch/trailing-data", formats.Medium, "torch.load reads only the first"},
		{"os.system pickle after data.pkl's STOP (zip checkpoint)", afterStop, "pickle/dangerous-import", formats.High, "read by no loader: it is past the first pickle's STOP"},
		{"os.system pickle as the legacy sys_info pickle (torch.load reads it)", sysInfoPayload, "pickle/dangerous-import", formats.Critical, "torch.load"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pt", c.data, nil)
			found := false
			for _, f := range res.Findings {
				found = found || f.Rule == c.rule && f.Severity == c.sev && strings.Contains(f.Message, c.msg)
			}
			if !found {
				t.Fatalf("want %s at %s (%q):\n%s", c.rule, c.sev, c.msg, formatstest.Describe(res))
			}
			if worst, _ := res.Max(); worst != c.sev {
				t.Fatalf("worst finding %s, want %s:\n%s", worst, c.sev, formatstest.Describe(res))
			}
		})
	}
}
