package joblib_test

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// BenchmarkJoblibArray: a joblib pickle with one 64 MiB inline array, the
// shape of a real model dump: the joblib view skips the array, the plain
// view stops at its first byte.
func BenchmarkJoblibArray(b *testing.B) {
	const n = 64 << 20
	shape := "\x8a\x04" + string([]byte{0, 0, 0, 4}) + "\x85" // LONG1 64 Mi
	data := []byte("\x80\x02" + wrapper(u("dtype")+dtype("u1", binint(-1), "K\x00")+u("shape")+shape+u("order")+u("C")) +
		strings.Repeat("\xff", n) + ".")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res := formatstest.ScanBytes(b, "big.joblib", data, nil)
		if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
			b.Fatalf("%s", formatstest.Describe(res))
		}
	}
}
