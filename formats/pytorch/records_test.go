package pytorch_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// zipRootOf is the folder of a torch zip's first member.
func zipRootOf(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(zr.File) == 0 {
		t.Fatal("not a zip", err)
	}
	root, _, _ := strings.Cut(zr.File[0].Name, "/")
	return root + "/"
}

// TestRecordLoaders: a payload pickle is Critical in a record a loader
// reads (torch.load: data.pkl; torch.jit.load: code/*.debug_pkl; the lite
// interpreter: bytecode.pkl), and capped at High, labelled as read by no
// loader, in one none reads (extra.pkl beside data.pkl, traced_inputs.pkl
// of an archive torch.jit.load cannot open).
func TestRecordLoaders(t *testing.T) {
	needPickle(t)
	sd, ts := fixture(t, "state_dict_dtypes.pt"), fixture(t, "torchscript_tiny.pt")
	sdRoot, tsRoot := zipRootOf(t, sd), zipRootOf(t, ts)
	keep := func(n string, d []byte) (string, []byte, bool) { return n, d, true }
	with := func(b []byte, member string) []byte { return rezip(t, b, keep, [2]string{member, osSystemPickle}) }
	for _, c := range []struct {
		name string
		data []byte
		sev  formats.Severity // of the payload's finding, and the worst finding
		msg  string
	}{
		{"os.system as data.pkl: torch.load runs it", fixture(t, "malicious_data_pkl.pt"), formats.Critical, "[read by torch.load]"},
		{"os.system in extra.pkl beside data.pkl: no loader opens it", with(sd, sdRoot+"extra.pkl"), formats.High, "read by no loader: torch.load reads only"},
		{"os.system in traced_inputs.pkl of a state dict (torch.jit.load cannot open it)", with(sd, sdRoot+"traced_inputs.pkl"), formats.High, "read by no loader"},
		{"os.system in extra.pkl of a TorchScript archive", with(ts, tsRoot+"extra.pkl"), formats.High, "read by no loader: torch.load reads only"},
		{"os.system in a TorchScript code/*.debug_pkl: torch.jit.load reads source ranges", with(ts, tsRoot+"code/__torch__/evil.py.debug_pkl"), formats.Critical, "torch.jit.load, for the source ranges"},
		{"os.system in traced_inputs.pkl of a TorchScript archive", with(ts, tsRoot+"traced_inputs.pkl"), formats.Critical, "_restore_shapes=True"},
		{"os.system in a mobile bytecode.pkl: the lite interpreter reads it", with(sd, sdRoot+"bytecode.pkl"), formats.Critical, "PyTorch Mobile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pt", c.data, nil)
			found := false
			for _, f := range res.Findings {
				found = found || f.Rule == "pickle/dangerous-import" && f.Severity == c.sev && strings.Contains(f.Message, c.msg)
			}
			if !found {
				t.Fatalf("want pickle/dangerous-import at %s (%q):\n%s", c.sev, c.msg, formatstest.Describe(res))
			}
			if worst, _ := res.Max(); worst != c.sev {
				t.Fatalf("worst finding %s, want %s:\n%s", worst, c.sev, formatstest.Describe(res))
			}
		})
	}
}
