package numpy

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "npz",
		Kinds:    []string{"zip"},
		Priority: 50,
		Match: func(a *archive.Archive) bool {
			files := 0
			for _, m := range a.Members {
				if m.IsDir {
					continue
				}
				if !strings.HasSuffix(m.Name, ".npy") {
					return false
				}
				files++
			}
			return files > 0
		},
		Analyze: analyzeNpz,
	})
}

// analyzeNpz checks every member of an np.savez archive as an array. A
// member without the .npy magic is what np.load returns as raw bytes; it
// is still sniffed and scanned for what it really is.
func analyzeNpz(s *formats.Scope, a *archive.Archive) {
	s.Detail("arrays", strconv.Itoa(len(a.Members)))
	for _, m := range a.Members {
		if m.IsDir {
			continue
		}
		r, n, err := a.Open(m)
		if err != nil {
			continue // the archive reader reported why
		}
		var head [6]byte
		k, _ := r.ReadAt(head[:], 0)
		if bytes.Equal(head[:k], []byte(magic)) {
			if c := s.Child(m.Name); c != nil {
				c.SetFormat("numpy")
				AnalyzeNpy(c, r, n)
			}
		} else {
			s.ScanMember(m.Name, r, n)
		}
		archive.Release(r)
	}
}
