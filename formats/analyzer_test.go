package formats

import (
	"bytes"
	"testing"
)

// A name that promises a model with content nothing can read fails closed;
// names that real model folders use for other things (a SentencePiece
// tokenizer.model, SPSS .sav data) must not.
func TestUnrecognizedOnlyForModelNames(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	sentencepiece := []byte("\n\x0b\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02")
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{
		{"weights.pt", png, 1}, // a PNG renamed .pt (picklescan's not-a-model)
		{"model.bin", png, 1},  // what a loader picks by name must be readable
		{"tokenizer.model", sentencepiece, 0},
		{"survey.sav", []byte("$FL2@(#) IBM SPSS"), 0},
		{"notes.txt", png, 0},
	} {
		opts := DefaultOptions()
		res := ScanReader(c.name, bytes.NewReader(c.data), int64(len(c.data)), &opts)
		if len(res.Findings) != c.want {
			t.Errorf("%s: %d findings %+v, want %d", c.name, len(res.Findings), res.Findings, c.want)
		}
	}
}
