// Package joblib reads joblib files: pickles written by joblib's
// NumpyPickler, whose array bytes follow inline after each array wrapper
// (the pickle machine knows the wrapper and skips exactly those bytes; see
// formats/pickle/joblib.go), and the compressed single streams joblib.dump
// writes with compress= (zlib, gzip, bz2, xz, lzma, lz4, and the old "ZF"
// zlib file). A compressed stream is inflated within the scan's budget and
// its content is scanned as a member, whatever format it turns out to be.
package joblib

import (
	"bytes"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name: "joblib",
		// joblib.dump's usual names; raw pickles under these names are
		// joblib's too when they carry its array wrapper.
		Extensions: []string{".joblib", ".pkl", ".pickle", ".sav"},
		Priority:   11, // just above the generic pickle analyzer
		Sniff: func(p *formats.Probe) bool {
			if !pickle.Sniff(p) {
				return false
			}
			return p.Ext() == ".joblib" || bytes.Contains(p.Head, []byte("NumpyArrayWrapper")) ||
				bytes.Contains(p.Head, []byte("NDArrayWrapper"))
		},
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			res := pickle.Scan(s, r, size)
			if s.TopLevel() && res != nil {
				s.Detail("pickle.count", strconv.Itoa(res.Pickles))
			}
		},
	})
}
