package onepass

import (
	"bytes"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestReaderDeliversEveryByteOnce: however the read-ahead runs (alone,
// never, or handing over to the consumer part way when the other cores
// start hashing), the chunks are the file's bytes, in order, each once,
// and every buffer goes back.
func TestReaderDeliversEveryByteOnce(t *testing.T) {
	size := formats.HashBufSize*5 + 77
	data := content(size, 3)
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	for _, c := range []struct {
		name      string
		busyAfter int32 // busy() turns true after this many calls (-1: never)
	}{
		{"read-ahead throughout (one pass, a core free)", -1},
		{"consumer reads from the start (every core hashing)", 0},
		{"read-ahead hands over after two chunks (other passes started)", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			busy := func() bool { return c.busyAfter >= 0 && calls.Add(1) > c.busyAfter }
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hooked := 0
			r := newReader(f, 0, int64(size), func() { hooked++ }, busy)
			var got []byte
			for {
				ch, ok := r.next()
				if !ok {
					break
				}
				if ch.pos != int64(len(got)) {
					t.Fatalf("chunk at %d, want %d", ch.pos, len(got))
				}
				got = append(got, ch.b...)
				r.release(&ch)
			}
			r.close()
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, not the file's %d", len(got), len(data))
			}
			if hooked != 1 {
				t.Fatalf("the after-first-chunk hook ran %d times", hooked)
			}
		})
	}
}
