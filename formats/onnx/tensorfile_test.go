package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func varintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// realTensor is what onnx.numpy_helper.from_array writes for a float32
// array of shape [1, 3]: dims, data_type FLOAT, name, raw_data.
func realTensor(name string) []byte {
	return cat(varintField(1, 1), varintField(1, 3), varintField(2, 1), lenField(8, []byte(name)), lenField(9, make([]byte, 12)))
}

func TestValueFiles(t *testing.T) {
	escape := cat(varintField(2, 1), extTensor("x", "../../etc/shadow"))
	cases := []struct {
		name string
		data []byte
		want string // rule expected at high or above; "" for none
	}{
		// onnx backend test data: test_data_set_0/input_0.pb
		{"backend test input tensor", realTensor("x"), ""},
		{"packed dims and int64_data", cat(lenField(1, []byte{2, 2}), varintField(2, 7), lenField(8, []byte("y")), lenField(7, []byte{1, 2, 3, 4})), ""},
		{"string tensor", cat(varintField(1, 2), varintField(2, 8), lenField(6, []byte("a")), lenField(6, []byte("b")), lenField(8, []byte("s"))), ""},
		{"sequence of tensors (test_sequence_* outputs)", cat(lenField(1, []byte("seq")), varintField(2, 1), lenField(3, realTensor("a")), lenField(3, realTensor("b"))), ""},
		{"optional tensor", cat(lenField(1, []byte("opt")), varintField(2, 1), lenField(3, realTensor("a"))), ""},
		// An empty optional: elem_type UNDEFINED (0), no value, as
		// onnx.numpy_helper.from_optional(None) writes it.
		{"empty optional (backend test_optional_has_element_empty_optional_input)", cat(lenField(1, []byte("optional_input")), varintField(2, 0)), ""},
		{"map of int64 keys", cat(lenField(1, []byte("m")), varintField(2, 7), lenField(3, []byte{1, 2}), lenField(5, cat(varintField(2, 1), lenField(3, realTensor("v"))))), ""},
		// Attack: a tensor file whose data a loader reads from outside.
		{"tensor with external data escaping the folder", escape, "onnx/external-data-escape"},
		// Attack: the same reference inside a sequence element, where a
		// tensor-only walk would skip it as the segment field.
		{"sequence element with external data escaping", cat(lenField(1, []byte("seq")), varintField(2, 1), lenField(3, escape)), "onnx/external-data-escape"},
		{"tensor truncated mid raw_data", realTensor("x")[:20], "onnx/malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "input_0.pb")
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			res := scanFile(t, p)
			if res.Format != "onnx-tensor" {
				t.Fatalf("format %q: %s", res.Format, formatstest.Describe(res))
			}
			got := formatstest.Rules(res, formats.High)
			if c.want == "" && len(got) > 0 {
				t.Errorf("real-shaped value flagged: %s", formatstest.Describe(res))
			}
			if c.want != "" && !contains(got, c.want) {
				t.Errorf("want %s: %s", c.want, formatstest.Describe(res))
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TensorFlow .pb files must still go to the TensorFlow analyzer, and an
// ONNX model is not a tensor file.
func TestValueSniffLeavesOtherProtobufs(t *testing.T) {
	savedModel := cat(varintField(1, 1), lenField(2, lenField(1, []byte("meta"))))
	graphDef := cat(lenField(1, cat(lenField(1, []byte("n")), lenField(2, []byte("Const")))), lenField(4, nil))
	onnxModel := model(lenField(7, lenField(1, lenField(4, []byte("Relu")))))
	for name, data := range map[string][]byte{"saved model": savedModel, "frozen graph": graphDef, "onnx model": onnxModel} {
		if sniffValue(&formats.Probe{Name: "x.pb", Head: data, Size: int64(len(data))}) {
			t.Errorf("%s sniffed as an ONNX tensor file", name)
		}
	}
}

func FuzzONNXTensorFile(f *testing.F) {
	f.Add(realTensor("x"))
	f.Add(cat(lenField(1, []byte("seq")), varintField(2, 1), lenField(3, realTensor("a"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := formats.DefaultOptions()
		o.Hash = false
		res := formatstest.ScanBytes(t, "input_0.pb", data, &o)
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

// A 2 GiB tensor file is judged from its tags: raw_data is skipped by
// length, so the time does not depend on the tensor's size.
func BenchmarkONNXTensorFile(b *testing.B) {
	const size = 2 << 30
	head := cat(varintField(1, size/4), varintField(2, 1), lenField(8, []byte("x")))
	head = protowire.AppendTag(head, 9, protowire.BytesType)
	head = protowire.AppendVarint(head, size-uint64(len(head))-5)
	r := &formatstest.Sparse{Head: head, Size: int64(len(head)) + int64(size-uint64(len(head))-5)}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(r.Size)
	for b.Loop() {
		res := formats.ScanReader("input_0.pb", r, r.Size, &o)
		if res.Format != "onnx-tensor" {
			b.Fatalf("format %q", res.Format)
		}
	}
}

// Under another name only a whole, fully parsed value is an ONNX tensor:
// a weight shard that happens to begin like one is not.
func TestValueSniffOtherNames(t *testing.T) {
	whole := realTensor("x")
	if !sniffValue(&formats.Probe{Name: "tensor.bin", Head: whole, Size: int64(len(whole))}) {
		t.Error("a whole tensor under another name was not recognized")
	}
	// field 2 = 5, then field 9 (raw_data) of 65535 bytes in a 1 MB shard.
	shard := []byte{0x10, 0x05, 0x4a, 0xff, 0xff, 0x03}
	if sniffValue(&formats.Probe{Name: "group1-shard1of1.bin", Head: shard, Size: 1 << 20}) {
		t.Error("a shard starting like a tensor was taken for one")
	}
}
