package executorch

import (
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
)

type T = flatbuf.T

// program is the shape exir's to_executorch writes: version, one "forward"
// plan with its operators and delegates, segments after the FlatBuffer.
func program(ops []string, delegates []string, segments []T) []byte {
	var o, d []T
	for _, n := range ops {
		o = append(o, T{n, ""})
	}
	for _, n := range delegates {
		d = append(d, T{n})
	}
	plan := T{"forward", nil, nil, nil, nil, nil, o, d}
	return flatbuf.Build("ET12", T{uint32(0), []T{plan}, nil, nil, segments})
}

// withExtendedHeader inserts exir's 32-byte extended header ("eh00" at 8,
// its length, the program size, the segment base) after the file
// identifier, moving the FlatBuffer (its offsets are relative) 24 bytes on.
func withExtendedHeader(prog []byte, segBase uint64) []byte {
	h := []byte("eh00")
	h = binary.LittleEndian.AppendUint32(h, 24)
	h = binary.LittleEndian.AppendUint64(h, uint64(len(prog)+24))
	h = binary.LittleEndian.AppendUint64(h, segBase)
	out := append(append(append([]byte(nil), prog[:8]...), h...), prog[8:]...)
	binary.LittleEndian.PutUint32(out, binary.LittleEndian.Uint32(out)+24)
	return out
}

func TestExecuTorch(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"portable kernels", program([]string{"aten::add", "aten::mm"}, nil, nil), "", 0},
		{"XNNPACK-delegated model", program([]string{"aten::view_copy", "dim_order_ops::_to_dim_order_copy"}, []string{"XnnpackBackend"}, nil), "", 0},
		{"custom kernel namespace", program([]string{"aten::add", "mycompany::secret_op"}, nil, nil), "executorch/custom-op", formats.Medium},
		{"delegate to an unknown backend", program(nil, []string{"EvilBackend"}, nil), "executorch/unknown-delegate", formats.Medium},
		{"segment past the end of the file", program(nil, nil, []T{{uint64(1 << 40), uint64(16)}}), "executorch/segment-out-of-range", formats.High},
		{"truncated", program([]string{"aten::add"}, nil, nil)[:24], "executorch/malformed", formats.High},
		{"extended header with segments after the program", append(withExtendedHeader(program([]string{"aten::add"}, nil, []T{{uint64(0), uint64(16)}}), 512), make([]byte, 512)...), "", 0},
		{"extended header putting the segments past the end", withExtendedHeader(program([]string{"aten::add"}, nil, nil), 1<<40), "executorch/segment-out-of-range", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "model.pte", "executorch", c.data, c.rule, c.sev)
		})
	}
}

func FuzzExecuTorch(f *testing.F) {
	f.Add(program([]string{"aten::add"}, []string{"XnnpackBackend"}, []T{{uint64(0), uint64(4)}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.pte", data)
	})
}

// A 2 GiB program whose weights are one segment after the FlatBuffer.
func BenchmarkExecuTorch2GiB(b *testing.B) {
	const size = 2 << 30
	head := program([]string{"aten::mm"}, []string{"XnnpackBackend"}, []T{{uint64(0), uint64(size - 4096)}})
	r := &formatstest.Sparse{Head: head, Size: size}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(size)
	for b.Loop() {
		res := formats.ScanReader("model.pte", r, size, &o)
		if m, _ := res.Max(); res.Format != "executorch" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
