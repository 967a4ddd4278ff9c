package keras

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestHDF5DenseLinks: groups past 8 links in files saved with
// libver="latest" keep their links in a fractal heap indexed by a v2
// B-tree. The walk reads them, so a link out of the file hidden among
// many layers is found, a real Keras file with dense links stays clean,
// and forged heaps or trees end as h5-unreadable, never a panic or hang.
func TestHDF5DenseLinks(t *testing.T) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	clean := read("testdata/keras2_dense_links.h5")
	// patch changes the first structure with signature sig (after skip
	// of them) at byte off within it.
	patch := func(b []byte, sig string, skip, off int, val []byte) []byte {
		out := bytes.Clone(b)
		at := -1
		for i := 0; i <= skip; i++ {
			j := bytes.Index(out[at+1:], []byte(sig))
			if j < 0 {
				t.Fatalf("no %s #%d", sig, i)
			}
			at += 1 + j
		}
		copy(out[at+off:], val)
		return out
	}
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	cases := []struct {
		name string
		data []byte
		want string // "" = no medium-or-worse finding at all
	}{
		{"real Keras 2 file saved with libver=latest, 12 layers and 600 aliases", clean, ""},
		{"external link among 12 links in dense storage", read("../../testdata/redteam2/containers/h5/dense-links-external-link.h5"), "keras/h5-external-reference"},
		{"external link behind 600 links (indirect heap blocks, two-level B-tree)", read("../../testdata/redteam2/containers/h5/dense-links-600-external-link.h5"), "keras/h5-external-reference"},
		{"fractal heap signature destroyed", patch(clean, "FRHP", 0, 0, []byte("XXXX")), "keras/h5-unreadable"},
		{"fractal heap filtered (compressed link messages)", patch(clean, "FRHP", 0, 7, u16(12)), "keras/h5-unreadable"},
		{"name index B-tree claiming depth 60000", patch(clean, "BTHD", 0, 12, u16(60000)), "keras/h5-unreadable"},
		{"B-tree leaf claiming more records than its node holds", patch(clean, "BTLF", 0, 0, []byte("XXXX")), "keras/h5-unreadable"},
		{"indirect block signature destroyed", patch(clean, "FHIB", 0, 0, []byte("XXXX")), "keras/h5-unreadable"},
	}
	o := formats.DefaultOptions()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := &formats.FileResult{}
			analyzeH5(formats.NewScope("m.h5", &o, res), bytes.NewReader(c.data), int64(len(c.data)))
			got := formatstest.Rules(res, formats.Medium)
			if c.want == "" {
				if len(got) > 0 {
					t.Fatalf("false alarm:\n%s", formatstest.Describe(res))
				}
				return
			}
			if !slices.Contains(got, c.want) {
				t.Fatalf("want %s:\n%s", c.want, formatstest.Describe(res))
			}
		})
	}
}
