package paddle

import (
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func lenField(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func op(typ string, attrs ...[2]string) []byte {
	b := lenField(3, []byte(typ))
	for _, a := range attrs {
		attr := append(lenField(1, []byte(a[0])), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 2)...)
		attr = append(attr, lenField(5, []byte(a[1]))...)
		b = append(b, lenField(4, attr)...)
	}
	return b
}

// program is what paddle.jit.save / save_inference_model write: one block
// (idx 0, parent -1) with feed, compute and fetch ops.
func program(ops ...[]byte) []byte {
	block := append([]byte(nil), blockStart...)
	for _, o := range ops {
		block = append(block, lenField(4, o)...)
	}
	return lenField(1, block)
}

func TestPaddle(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"inference program", program(op("feed"), op("conv2d"), op("relu"), op("fetch")), "", 0},
		{"py_func operator", program(op("feed"), op("py_func"), op("fetch")), "paddle/python-call", formats.High},
		{"save operator writing a file", program(op("save", [2]string{"file_path", "/home/u/.bashrc"})), "paddle/file-write", formats.High},
		{"load operator", program(op("load_combine", [2]string{"file_path", "params"})), "paddle/file-read", formats.Medium},
		{"read_file with a baked-in path (exfiltration)", program(op("feed"), op("read_file", [2]string{"filename", "/home/u/.ssh/id_rsa"}), op("fetch")), "paddle/file-read", formats.High},
		{"parameter server in the program", program(op("listen_and_serv", [2]string{"endpoint", "0.0.0.0:6174"})), "paddle/network", formats.High},
		{"truncated", program(op("feed"), op("conv2d"))[:20], "paddle/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "inference.pdmodel", "paddle", c.data, c.rule, c.sev)
		})
	}
}

func FuzzPaddle(f *testing.F) {
	f.Add(program(op("feed"), op("py_func")))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.pdmodel", data)
	})
}

func BenchmarkPaddle(b *testing.B) {
	var ops [][]byte
	for range 20000 {
		ops = append(ops, op("conv2d", [2]string{"data_format", "NCHW"}))
	}
	data := program(ops...)
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		formatstest.ScanBytes(b, "m.pdmodel", data, &o)
	}
}

// lodTensor is one parameter as save_inference_model writes it.
func lodTensor(typ uint64, data int, dims ...uint64) []byte {
	desc := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), typ)
	for _, d := range dims {
		desc = protowire.AppendVarint(protowire.AppendTag(desc, 2, protowire.VarintType), d)
	}
	b := make([]byte, 12) // version 0, no LoD
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = append(b, desc...)
	return append(b, make([]byte, data)...)
}

func TestParams(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		bad  bool
	}{
		{"two FP32 parameters", append(lodTensor(5, 64, 4, 4), lodTensor(5, 16, 4)...), false},
		{"INT64 and BF16", append(lodTensor(3, 16, 2), lodTensor(22, 8, 2, 2)...), false},
		{"data shorter than dims x size", lodTensor(5, 60, 4, 4), true},
		{"TensorDesc size past the end", append(make([]byte, 16), 0xff, 0xff, 0xff, 0x7f), true},
		{"unknown data type", lodTensor(99, 4, 1), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "inference.pdiparams", c.data, &o)
			if res.Format != "paddle-params" {
				t.Fatalf("format %q", res.Format)
			}
			if got := len(formatstest.Rules(res, formats.High)) > 0; got != c.bad {
				t.Errorf("want flagged %v: %s", c.bad, formatstest.Describe(res))
			}
		})
	}
}

func FuzzParams(f *testing.F) {
	f.Add(append(lodTensor(5, 64, 4, 4), lodTensor(3, 16, 2)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.pdiparams", data)
	})
}

// 2 GiB of parameters in one tensor: the data is skipped by its size.
func BenchmarkParams2GiB(b *testing.B) {
	head := lodTensor(5, 0, 1<<14, 1<<15)
	r := &formatstest.Sparse{Head: head, Size: int64(len(head)) + 2<<30}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(r.Size)
	for b.Loop() {
		res := formats.ScanReader("inference.pdiparams", r, r.Size, &o)
		if m, _ := res.Max(); res.Format != "paddle-params" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
