package joblib

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// dribble is a decoder that hands out one byte per Read with an empty,
// error-free Read between each (io.Reader allows both), and that may stop
// producing anything without ever reporting the end of the stream.
type dribble struct {
	data    []byte
	pos     int
	idle    bool
	stallAt int // -1: never stall
}

func (d *dribble) Read(p []byte) (int, error) {
	if d.stallAt >= 0 && d.pos >= d.stallAt {
		return 0, nil
	}
	if d.idle = !d.idle; d.idle {
		return 0, nil
	}
	if d.pos >= len(d.data) {
		return 0, io.EOF
	}
	p[0] = d.data[d.pos]
	d.pos++
	return 1, nil
}

// TestDecoderEmptyReads: the inflate loop used to give up after 100 empty
// reads in total, so a long stream from a decoder that now and then
// returns (0, nil) was cut short with no finding and the payload after
// the cut was never scanned; a decoder that stops producing output for
// good must be a finding, not a quiet partial scan.
func TestDecoderEmptyReads(t *testing.T) {
	// A 400-byte string literal, POP, then os.system('id').
	payload := []byte("\x80\x02X\x90\x01\x00\x00" + strings.Repeat("a", 400) + "0cos\nsystem\n(S'id'\ntR.")
	cases := []struct {
		name    string
		stallAt int
		want    string
		wantSev formats.Severity
	}{
		{"payload after many sporadic empty reads", -1, "pickle/dangerous-import", formats.Critical},
		{"decoder that stops producing output", 50, "compressed/corrupt", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := &compressor{name: "test", open: func(io.Reader) (io.Reader, error) {
				return &dribble{data: payload, stallAt: c.stallAt}, nil
			}}
			opts := formats.DefaultOptions()
			res := &formats.FileResult{Path: "m.joblib"}
			raw := bytes.Repeat([]byte{0}, 64)
			inflate(formats.NewScope("m.joblib", &opts, res), comp, bytes.NewReader(raw), int64(len(raw)))
			found := false
			for _, f := range res.Findings {
				if f.Rule == c.want && f.Severity >= c.wantSev {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding at %v or above; got %+v", c.want, c.wantSev, res.Findings)
			}
		})
	}
}
