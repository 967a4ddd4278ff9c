package gguf

import (
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// le builds little-endian files.
type le []byte

func (b le) u32(vs ...uint32) le {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}
func (b le) str(s string) le { return append(b.u32(uint32(len(s))), s...) }
func (b le) raw(n int) le    { return append(b, make([]byte, n)...) }
func (b le) pad32() le {
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return b
}

// tensor appends one record: dims, name, type, (aligned) data of n bytes.
func (b le) tensor(name string, typ uint32, align bool, dims ...uint32) le {
	b = b.u32(uint32(len(dims)), uint32(len(name)), typ).u32(dims...)
	b = append(b, name...)
	if align {
		b = b.pad32()
	}
	n := uint64(1)
	for _, d := range dims {
		n *= uint64(d)
	}
	t := ggmlTypes[typ]
	return b.raw(int(n / t.blck * t.bytes))
}

// whisperFile is the layout of whisper.cpp's ggml-*.bin (and its
// for-tests-ggml-*.bin): 11 hparams, mel filters, vocabulary, tensors.
func whisperFile() le {
	b := le("lmgg").u32(4, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1)
	b = b.u32(2, 3).raw(4 * 2 * 3)
	b = b.u32(3).str("!").str("\"").str("hello")
	return b.tensor("encoder.conv1.weight", 1, false, 3, 80, 4).tensor("decoder.ln.bias", 0, false, 4)
}

// ggjtFile is llama.cpp's May-2023 ggjt v3: 7 hparams, scored vocab,
// 32-byte aligned tensors.
func ggjtFile() le {
	b := le("tjgg").u32(3, 2, 64, 256, 2, 1, 32, 1)
	b = append(b.str("a"), 0, 0, 0, 0)
	b = append(b.str("b"), 0, 0, 0, 0)
	return b.tensor("tok_embeddings.weight", 2, true, 64, 2).tensor("norm.weight", 0, true, 64)
}

func TestGGML(t *testing.T) {
	gptExample := le("lmgg").u32(2, 1024, 64, 4, 2, 1).u32(2).str("a").str("b").tensor("model/wte", 0, false, 64, 2)
	lora := le("algg").u32(1, 8, 16).tensor("layers.0.attention.wq.weight.loraA", 0, true, 64, 8)
	cases := []struct {
		name string
		data []byte
		sev  formats.Severity // highest severity expected; -1 for none
		rule string
	}{
		{"whisper.cpp model", whisperFile(), -1, ""},
		{"llama ggjt v3", ggjtFile(), -1, ""},
		{"ggml gpt-2 example (6 hparams)", gptExample, -1, ""},
		{"llama LoRA adapter (ggla)", lora, -1, ""},
		{"whisper header only (for-tests files)", whisperFile()[:4+44+8+24+4+4+1+4+1+4+5], -1, ""},
		// Attacks on the C loaders' trust in counts and lengths.
		{"vocabulary token length past the end", append(le("tjgg").u32(3, 1, 64, 256, 2, 1, 32, 1), le(nil).u32(1<<30)...), formats.High, "ggml/malformed"},
		{"tensor with 5 dimensions", ggjtFile().u32(5, 1, 0, 1, 1, 1, 1, 1), formats.High, "ggml/malformed"},
		{"tensor with a negative dimension", ggjtFile().u32(1, 1, 0, 0xffffffff), formats.High, "ggml/malformed"},
		{"tensor data past the end", ggjtFile()[:len(ggjtFile())-1], formats.High, "ggml/malformed"},
		{"ggjt version from the future", le("tjgg").u32(9), formats.High, "ggml/bad-version"},
		{"unversioned magic, unknown layout", le("lmgg").u32(0xffffffff, 0xffffffff), formats.Medium, "ggml/unverified-layout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "ggml-model.bin", c.data, &o)
			if res.Format != "ggml" {
				t.Fatalf("format %q", res.Format)
			}
			m, any := res.Max()
			if c.sev < 0 {
				if any && m > formats.Info {
					t.Errorf("real layout flagged: %s", formatstest.Describe(res))
				}
				return
			}
			if m != c.sev || !contains(formatstest.Rules(res, formats.Info), c.rule) {
				t.Errorf("want %v %s: %s", c.sev, c.rule, formatstest.Describe(res))
			}
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func FuzzGGML(f *testing.F) {
	f.Add([]byte(whisperFile()))
	f.Add([]byte(ggjtFile()))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := formats.DefaultOptions()
		o.Hash = false
		res := formatstest.ScanBytes(t, "m.bin", data, &o)
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

// A 2 GiB ggjt model: one tensor's data is skipped by its size.
func BenchmarkGGML2GiB(b *testing.B) {
	head := le("tjgg").u32(3, 1, 64, 256, 2, 1, 32, 0).str("a").raw(4)
	head = head.u32(2, 1, 0, 1<<14, 1<<15).append("w").pad32()
	r := &formatstest.Sparse{Head: head, Size: int64(len(head)) + 4<<29}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(r.Size)
	for b.Loop() {
		res := formats.ScanReader("ggml-model-f32.bin", r, r.Size, &o)
		if m, _ := res.Max(); res.Format != "ggml" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}

func (b le) append(s string) le { return append(b, s...) }
