package safetensors

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// build makes a safetensors file from a raw header and a data buffer of
// dataLen bytes, padding the header with spaces to 8 bytes like writers do.
func build(header string, dataLen int) []byte {
	h := []byte(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+dataLen)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, make([]byte, dataLen)...)
}

// realHeader is the header shape the safetensors library writes for a
// small model: __metadata__ first, tensors sorted by offset.
const realHeader = `{"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"weight":{"dtype":"BF16","shape":[4,4],"data_offsets":[16,48]}}`

func scan(t *testing.T, data []byte) *formats.FileResult {
	t.Helper()
	o := formats.DefaultOptions()
	o.Hash = false
	return formatstest.ScanBytes(t, "model.safetensors", data, &o)
}

func TestRealLayouts(t *testing.T) {
	cases := map[string][]byte{
		"small model as written by the library": build(realHeader, 48),
		"empty file with metadata only":         build(`{"__metadata__":{"format":"pt"}}`, 0),
		"zero-size tensor":                      build(`{"a":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2),
		"F4 packed pairs":                       build(`{"w":{"dtype":"F4","shape":[8,16],"data_offsets":[0,64]}}`, 64),
		"F6 sub-byte":                           build(`{"w":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}`, 3),
		"newer dtypes":                          build(`{"a":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"C64","shape":[1],"data_offsets":[2,10]}}`, 10),
		"tensors listed out of offset order":    build(`{"z":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 4),
		"scalar (empty shape)":                  build(`{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, 8),
		// AMD/ROCm FP8 checkpoints (safetensors >= 0.5).
		"FNUZ fp8 dtypes": build(`{"a":{"dtype":"F8_E4M3FNUZ","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"F8_E5M2FNUZ","shape":[2],"data_offsets":[2,4]}}`, 4),
		// serde_json::from_str, which the crate uses, skips it.
		"header with leading whitespace": build(" \n\t\r"+`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			res := scan(t, data)
			if res.Format != "safetensors" {
				t.Fatalf("format %q", res.Format)
			}
			if r := formatstest.Rules(res, formats.Low); len(r) > 0 {
				t.Errorf("real layout flagged: %s", formatstest.Describe(res))
			}
		})
	}
	res := scan(t, build(realHeader, 48))
	if res.Details["tensors"] != "2" || res.Details["parameters"] != "20" || res.Details["dtypes"] != "BF16:1,F32:1" {
		t.Errorf("details: %v", res.Details)
	}
}

func TestAttacks(t *testing.T) {
	big := make([]byte, 16)
	binary.LittleEndian.PutUint64(big, 1<<62)
	copy(big[8:], "{}")
	past := make([]byte, 16)
	binary.LittleEndian.PutUint64(past, 4096)
	copy(past[8:], `{"a":1}`)
	trailingNonSpace := func() []byte {
		h := `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}XYZ`
		out := make([]byte, 8)
		binary.LittleEndian.PutUint64(out, uint64(len(h)))
		return append(append(out, h...), 0)
	}()
	tabPadded := func() []byte {
		h := `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}` + "\t\t\t"
		out := make([]byte, 8)
		binary.LittleEndian.PutUint64(out, uint64(len(h)))
		return append(append(out, h...), 0)
	}()
	cases := []struct {
		name string
		data []byte
		rule string
	}{
		{"shorter than the length field", []byte{1, 2, 3}, "safetensors/truncated"},
		{"huge header length", big, "safetensors/header-too-large"},
		{"header length past EOF", past, "safetensors/truncated"},
		{"duplicate tensor key", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/duplicate-key"},
		{"duplicate key in nested metadata", build(`{"__metadata__":{"format":"pt","format":"tf"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/duplicate-key"},
		{"duplicate field inside a tensor", build(`{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/duplicate-key"},
		{"overlapping offsets", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6), "safetensors/overlapping-offsets"},
		{"gap between tensors", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}`, 12), "safetensors/gap"},
		{"gap at start", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, 8), "safetensors/gap"},
		{"bytes hidden after the last tensor", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4096), "safetensors/trailing-bytes"},
		{"data missing at the end", build(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, 4), "safetensors/truncated"},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}`, 8), "safetensors/size-mismatch"},
		{"negative offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, 1), "safetensors/bad-integer"},
		{"float offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0.0,1]}}`, 1), "safetensors/bad-integer"},
		{"exponent offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}`, 1), "safetensors/bad-integer"},
		{"offset past uint64", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}}`, 1), "safetensors/bad-integer"},
		{"negative dimension", build(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, 1), "safetensors/bad-integer"},
		{"string dimension", build(`{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, 1), "safetensors/bad-integer"},
		{"unknown dtype", build(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), "safetensors/bad-dtype"},
		{"lower-case dtype", build(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, 4), "safetensors/bad-dtype"},
		{"F4 odd element count", build(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), "safetensors/misaligned-subbyte"},
		{"F4 sized as bytes", build(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,4]}}`, 4), "safetensors/size-mismatch"},
		{"shape product overflow", build(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), "safetensors/size-overflow"},
		{"bit count overflow", build(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}`, 0), "safetensors/size-overflow"},
		{"NUL in a tensor name", build(`{"a\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/odd-name"},
		{"extra field", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"offset":7}}`, 1), "safetensors/unknown-field"},
		{"missing field", build(`{"a":{"dtype":"U8","shape":[1]}}`, 0), "safetensors/missing-field"},
		{"offsets end before begin", build(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4), "safetensors/bad-offsets"},
		{"three offsets", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 1), "safetensors/bad-offsets"},
		{"metadata value not a string", build(`{"__metadata__":{"n":1}}`, 0), "safetensors/bad-metadata"},
		{"metadata not an object", build(`{"__metadata__":"x"}`, 0), "safetensors/bad-metadata"},
		{"header starting with a letter", build(`x{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/bad-header-start"},
		{"header of whitespace only", build("  \n ", 0), "safetensors/bad-header-start"},
		{"garbage after the JSON object", trailingNonSpace, "safetensors/invalid-header"},
		{"tab padding", tabPadded, "safetensors/odd-padding"},
		{"invalid JSON", build(`{"a":{"dtype":"U8",}}`, 0), "safetensors/invalid-header"},
		{"invalid UTF-8 in a name", build("{\"a\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "safetensors/invalid-header"},
		{"duplicate key spelled with a unicode escape", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), "safetensors/duplicate-key"},
		{"byte order mark before the header", build("\xef\xbb\xbf"+`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/bad-header-start"},
		{"NUL padding after the header", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`+"\x00\x00\x00", 1), "safetensors/invalid-header"},
		{"two tensors aliasing the same bytes", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), "safetensors/overlapping-offsets"},
		{"zero-size tensor placed inside another", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}`, 4), "safetensors/overlapping-offsets"},
		{"deeply nested metadata", build(`{"__metadata__":{"x":[[[[[[[[[[[[1]]]]]]]]]]]]}}`, 0), "safetensors/invalid-header"},
		{"offsets past the end of the data", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[1000000,1000004]}}`, 4), "safetensors/gap"},
		{"leading zero in an offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[00,1]}}`, 1), "safetensors/invalid-header"},
		{"negative zero dimension", build(`{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}`, 0), "safetensors/bad-integer"},
		{"template escape in metadata", build(`{"__metadata__":{"chat_template":"{{ cycler.__init__.__globals__.os.popen('id').read() }}"}}`, 0), "template/sandbox-escape"},
		{"lone surrogate in a name", build(`{"a\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), "safetensors/invalid-header"},
		{"header is an array", build(`[1,2]`, 0), "safetensors/bad-header-start"},
		{"deep nesting", build(`{"__metadata__":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, 0), "safetensors/invalid-header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.data)
			rules := formatstest.Rules(res, formats.Medium)
			if !slices.Contains(rules, c.rule) {
				t.Errorf("want %s:%s", c.rule, formatstest.Describe(res))
			}
			if m, _ := res.Max(); c.rule != "safetensors/unknown-field" && c.rule != "safetensors/odd-padding" && c.rule != "safetensors/odd-name" && m < formats.High {
				t.Errorf("nothing at High:%s", formatstest.Describe(res))
			}
		})
	}
}

func TestSniff(t *testing.T) {
	data := build(realHeader, 48)
	o := formats.DefaultOptions()
	res := formatstest.ScanBytes(t, "weights.bin", data, &o)
	if res.Format != "safetensors" {
		t.Fatalf("a safetensors file named .bin was sniffed as %q", res.Format)
	}
	// A pickle named .safetensors is left to the pickle analyzer.
	if sniff(&formats.Probe{Name: "model.safetensors", Head: []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00"), Size: 11}) {
		t.Error("a pickle named .safetensors was claimed by the safetensors analyzer")
	}
	// A forged length under the safetensors name is still ours to explain.
	if !sniff(&formats.Probe{Name: "model.safetensors", Head: []byte("\xff\xff\xff\xff\xff\xff\xff\x7f{}"), Size: 10}) {
		t.Error("a .safetensors file with a forged length was not claimed")
	}
	res = formatstest.ScanBytes(t, "notes.txt", []byte("hello world, not a model"), &o)
	if res.Format == "safetensors" {
		t.Fatal("text sniffed as safetensors")
	}
	_ = fmt.Sprint
}

// BenchmarkHeader parses a header of 200k tensors (the size of the largest
// real single-file checkpoints' headers, ~15 MB).
func BenchmarkHeader(b *testing.B) {
	var names []string
	for i := 0; i < 200_000; i++ {
		names = append(names, fmt.Sprintf("model.layers.%d.mlp.experts.%d.weight", i/1000, i%1000))
	}
	data := shardHeader(names, 2)
	data = append(data, make([]byte, 2*len(names))...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for range b.N {
		n := 0
		h := Read(bytesReader(data), int64(len(data)), func(string, formats.Severity, string, int64, string, ...any) { n++ })
		if n != 0 || len(h.Tensors) != len(names) {
			b.Fatalf("%d findings, %d tensors", n, len(h.Tensors))
		}
	}
}
