package safetensors

import (
	"bytes"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func FuzzSafetensors(f *testing.F) {
	f.Add(build(realHeader, 48))
	f.Add(build(`{"a":{"dtype":"F4","shape":[8,16],"data_offsets":[0,64]}}`, 64))
	f.Add(build(`{"__metadata__":{"format":"pt","format":"tf"}}`, 0))
	f.Add(build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6))
	f.Add(shardHeader([]string{"x", "y"}, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		h := Read(bytes.NewReader(data), int64(len(data)), func(string, formats.Severity, string, int64, string, ...any) { n++ })
		if h.Valid && len(h.Tensors) == 0 && n > 0 && h.N == 0 {
			t.Fatal("valid header with N=0")
		}
		if n > 100+len(h.Tensors)*4 {
			t.Fatalf("%d findings for %d tensors: unbounded reporting", n, len(h.Tensors))
		}
		res := formatstest.ScanBytes(t, "x.safetensors", data, nil)
		for _, f := range res.Findings {
			if f.Rule == "formats/analyzer-failure" {
				t.Fatal(f.Message)
			}
		}
	})
}

func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":16},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x","b":"C:\\x","c":"\\\\srv\\s\\x","d":"CON.bin"}}`))
	f.Add([]byte(`{"weight_map":{"a":"x","a":"y"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := ParseIndex(data, func(formats.Finding) {})
		for _, e := range entries {
			if unsafeName(e.Shard) == "" {
				if bytes.ContainsAny([]byte(e.Shard), "/\\\x00") || e.Shard == ".." || e.Shard == "" {
					t.Fatalf("unsafe shard name %q accepted", e.Shard)
				}
			}
		}
	})
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
