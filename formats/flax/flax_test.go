package flax

import (
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// mp builds msgpack the way msgpack-python packs Flax state dicts.
type mp []byte

func (b mp) mapN(n int) mp { return append(b, 0x80|byte(n)) }
func (b mp) arr(n int) mp  { return append(b, 0x90|byte(n)) }
func (b mp) str(s string) mp {
	return append(append(b, 0xa0|byte(len(s))), s...)
}
func (b mp) int(v int) mp { return append(b, byte(v)) }
func (b mp) bin(n int) mp {
	b = append(b, 0xc6)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, make([]byte, n)...)
}
func (b mp) ext(code int8, payload mp) mp {
	b = append(b, 0xc9)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(append(b, byte(code)), payload...)
}

// array is Flax's ndarray ext payload: [shape, dtype, buffer].
func array(dtype string, bytes int, dims ...int) mp {
	p := mp(nil).arr(3).arr(len(dims))
	for _, d := range dims {
		p = p.int(d)
	}
	return p.str(dtype).bin(bytes)
}

// checkpoint is flax.serialization.to_bytes({"params": {"Dense_0": {...}}}).
func checkpoint(kernel mp) []byte {
	return mp(nil).mapN(1).str("params").mapN(1).str("Dense_0").mapN(2).
		str("bias").ext(1, array("float32", 16, 4)).str("kernel").ext(1, kernel)
}

func TestFlax(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"Dense layer params", checkpoint(array("float32", 48, 3, 4)), "", 0},
		{"bfloat16 params", checkpoint(array("bfloat16", 24, 3, 4)), "", 0},
		{"object dtype array", checkpoint(array("object", 8, 1)), "flax/odd-dtype", formats.Medium},
		{"buffer shorter than the shape", checkpoint(array("float32", 40, 3, 4)), "flax/bad-array", formats.High},
		{"unknown ext type", mp(nil).mapN(1).str("x").ext(42, mp("payload")), "flax/unknown-ext", formats.Medium},
		{"container count past the end", mp(nil).mapN(1).str("x").append(0xdd, 0xff, 0xff, 0xff, 0xff), "flax/malformed", formats.High},
		{"trailing data", append(checkpoint(array("float32", 48, 3, 4)), 0xc0), "flax/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "flax_model.msgpack", "flax-msgpack", c.data, c.rule, c.sev)
		})
	}
	// Content sniffing without the name needs an ndarray ext in the head.
	o := formats.DefaultOptions()
	if res := formatstest.ScanBytes(t, "weights", checkpoint(array("float32", 48, 3, 4)), &o); res.Format != "flax-msgpack" {
		t.Errorf("unnamed checkpoint sniffed as %q", res.Format)
	}
}

func (b mp) append(c ...byte) mp { return append(b, c...) }

func FuzzFlax(f *testing.F) {
	f.Add(checkpoint(array("float32", 48, 3, 4)))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.msgpack", data)
	})
}

// A 2 GiB checkpoint of one array: its buffer is skipped by length.
func BenchmarkFlax2GiB(b *testing.B) {
	const n = 2 << 30 // 16384 x 32768 float32
	head := mp(nil).mapN(1).str("params").append(0xc9)
	payload := mp(nil).arr(3).arr(2).append(0xce, 0, 0, 0x40, 0).append(0xce, 0, 0, 0x80, 0).str("float32").append(0xc6)
	total := len(payload) + 4 + n
	head = binary.BigEndian.AppendUint32(head, uint32(total))
	head = append(append(head, 1), payload...)
	head = binary.BigEndian.AppendUint32(head, uint32(n))
	r := &formatstest.Sparse{Head: head, Size: int64(len(head)) + n}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(r.Size)
	for b.Loop() {
		res := formats.ScanReader("flax_model.msgpack", r, r.Size, &o)
		if m, _ := res.Max(); res.Format != "flax-msgpack" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
