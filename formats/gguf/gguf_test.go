package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// w builds GGUF files the way llama.cpp's gguf writer lays them out.
type w struct {
	bo  binary.ByteOrder
	v1  bool
	buf bytes.Buffer
}

func (g *w) u32(v uint32) { binary.Write(&g.buf, g.bo, v) }
func (g *w) u64(v uint64) { binary.Write(&g.buf, g.bo, v) }
func (g *w) n(v uint64) {
	if g.v1 {
		g.u32(uint32(v))
	} else {
		g.u64(v)
	}
}
func (g *w) str(s string) { g.n(uint64(len(s))); g.buf.WriteString(s) }

type kv struct {
	key string
	fn  func(g *w) // writes type and value
}

func kvStr(k, v string) kv        { return kv{k, func(g *w) { g.u32(tString); g.str(v) }} }
func kvU32(k string, v uint32) kv { return kv{k, func(g *w) { g.u32(tU32); g.u32(v) }} }
func kvF32(k string, v float32) kv {
	return kv{k, func(g *w) { g.u32(tF32); g.u32(math.Float32bits(v)) }}
}
func kvStrs(k string, vs []string) kv {
	return kv{k, func(g *w) {
		g.u32(tArray)
		g.u32(tString)
		g.n(uint64(len(vs)))
		for _, s := range vs {
			g.str(s)
		}
	}}
}
func kvF32s(k string, n int) kv {
	return kv{k, func(g *w) {
		g.u32(tArray)
		g.u32(tF32)
		g.n(uint64(n))
		for i := 0; i < n; i++ {
			g.u32(0)
		}
	}}
}

type ti struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
}

// file assembles header, metadata, tensor infos, padding and dataLen bytes.
func file(version uint32, bo binary.ByteOrder, kvs []kv, ts []ti, dataLen int) []byte {
	g := &w{bo: bo, v1: version == 1}
	g.buf.WriteString("GGUF")
	g.u32(version)
	g.n(uint64(len(ts)))
	g.n(uint64(len(kvs)))
	for _, e := range kvs {
		g.str(e.key)
		e.fn(g)
	}
	for _, t := range ts {
		g.str(t.name)
		g.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			g.n(d)
		}
		g.u32(t.typ)
		g.u64(t.offset)
	}
	for g.buf.Len()%32 != 0 {
		g.buf.WriteByte(0)
	}
	g.buf.Write(make([]byte, dataLen))
	return g.buf.Bytes()
}

func llamaKVs(template string) []kv {
	toks := []string{"<unk>", "<s>", "</s>", "▁the", "▁a"}
	kvs := []kv{
		kvStr("general.architecture", "llama"),
		kvStr("general.name", "TinyLlama"),
		kvU32("general.file_type", 7),
		kvU32("llama.context_length", 2048),
		kvU32("llama.embedding_length", 64),
		kvU32("llama.block_count", 1),
		kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5),
		kvStr("tokenizer.ggml.model", "llama"),
		kvStrs("tokenizer.ggml.tokens", toks),
		kvF32s("tokenizer.ggml.scores", len(toks)),
		kvU32("tokenizer.ggml.bos_token_id", 1),
		kvU32("general.quantization_version", 2),
	}
	if template != "" {
		kvs = append(kvs, kvStr("tokenizer.chat_template", template))
	}
	return kvs
}

// llamaTensors: an F32 norm (64*4=256 bytes) then a Q8_0 matrix (64x2
// elements = 4 blocks of 34 bytes = 136 bytes) at offset 256.
var llamaTensors = []ti{
	{"output_norm.weight", []uint64{64}, 0, 0},
	{"token_embd.weight", []uint64{64, 2}, 8, 256},
}

const llamaData = 256 + 136 + 24 // + padding to 32

const zephyr = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% endif %}\n{% endfor %}"

func scan(t testing.TB, data []byte) *formats.FileResult {
	o := formats.DefaultOptions()
	o.Hash = false
	return formatstest.ScanBytes(t, "model.gguf", data, &o)
}

func TestRealLayouts(t *testing.T) {
	cases := map[string][]byte{
		"llama v3 with chat template": file(3, binary.LittleEndian, llamaKVs(zephyr), llamaTensors, llamaData),
		"llama v2":                    file(2, binary.LittleEndian, llamaKVs(""), llamaTensors, llamaData),
		"v1 (u32 counts)":             file(1, binary.LittleEndian, llamaKVs(""), llamaTensors, llamaData),
		"vocab-only (no tensors)":     file(3, binary.LittleEndian, llamaKVs(zephyr), nil, 0),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			res := scan(t, data)
			if res.Format != "gguf" {
				t.Fatalf("format %q", res.Format)
			}
			if r := formatstest.Rules(res, formats.Low); len(r) > 0 {
				t.Errorf("flagged: %s", formatstest.Describe(res))
			}
		})
	}
	res := scan(t, file(3, binary.LittleEndian, llamaKVs(zephyr), llamaTensors, llamaData))
	if res.Details["architecture"] != "llama" || res.Details["tensors"] != "2" || res.Details["parameters"] != "192" {
		t.Errorf("details %v", res.Details)
	}
	be := scan(t, file(3, binary.BigEndian, llamaKVs(zephyr), llamaTensors, llamaData))
	if r := formatstest.Rules(be, formats.Medium); len(r) > 0 || be.Details["byte_order"] != "big-endian" {
		t.Errorf("big-endian: %s %v", formatstest.Describe(be), be.Details)
	}
}

// TestRealTemplatesInGGUF: every real chat template stored as
// tokenizer.chat_template passes.
func TestRealTemplatesInGGUF(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(formatstest.Peers(t), "chat-templates", "templates.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	json.Unmarshal(b, &m)
	for id, tmpl := range m {
		res := scan(t, file(3, binary.LittleEndian, llamaKVs(tmpl), llamaTensors, llamaData))
		if r := formatstest.Rules(res, formats.Medium); len(r) > 0 {
			t.Errorf("%s: %s", id, formatstest.Describe(res))
		}
	}
}

func TestAttacks(t *testing.T) {
	le := binary.LittleEndian
	hugeCount := func() []byte {
		g := &w{bo: le}
		g.buf.WriteString("GGUF")
		g.u32(3)
		g.u64(1 << 63)
		g.u64(1)
		return g.buf.Bytes()
	}()
	hugeKV := func() []byte {
		g := &w{bo: le}
		g.buf.WriteString("GGUF")
		g.u32(3)
		g.u64(0)
		g.u64(math.MaxUint64)
		return g.buf.Bytes()
	}()
	nested := func(depth int) kv {
		return kv{"evil.nested", func(g *w) {
			g.u32(tArray)
			for i := 0; i < depth; i++ {
				g.u32(tArray)
				g.u64(1)
			}
			g.u32(tU8)
			g.u64(0)
		}}
	}
	hugeArray := kv{"tokenizer.ggml.tokens", func(g *w) { g.u32(tArray); g.u32(tString); g.u64(1 << 62) }}
	hugeString := kv{"general.name", func(g *w) { g.u32(tString); g.u64(1 << 62) }}
	withKV := func(extra ...kv) []byte {
		return file(3, le, append(llamaKVs(""), extra...), llamaTensors, llamaData)
	}
	withTensors := func(ts []ti, data int) []byte { return file(3, le, llamaKVs(""), ts, data) }
	cases := []struct {
		name string
		data []byte
		rule string
	}{
		{"tensor count 2^63", hugeCount, "gguf/bad-count"},
		{"kv count 2^64-1", hugeKV, "gguf/bad-count"},
		{"nested arrays too deep", withKV(nested(8)), "gguf/nesting-too-deep"},
		{"array of arrays", withKV(nested(2)), "gguf/nested-array"},
		{"array length 2^62", withKV(hugeArray), "gguf/truncated"},
		{"string length 2^62", withKV(hugeString), "gguf/truncated"},
		{"chat template reaching __globals__", withKV(kvStr("tokenizer.chat_template", "{{ cycler.__init__.__globals__.os.popen('id').read() }}")), "template/sandbox-escape"},
		{"named chat template with attr filter", withKV(kvStr("tokenizer.chat_template.tool_use", "{{ x|attr('__class__') }}")), "template/sandbox-escape"},
		{"template under a non-standard key", withKV(kvStr("general.prompt_template", "{{ x['_'*2 ~ 'globals' ~ '_'*2] }}")), "template/sandbox-escape"},
		{"alignment given as a string", withKV(kvStr("general.alignment", "32")), "gguf/bad-alignment"},
		{"template key hidden behind a NUL", withKV(kvStr("tokenizer.chat_template\x00x", "{{ m }}")), "gguf/nul-in-key"},
		{"duplicate key", withKV(kvStr("general.architecture", "gpt2")), "gguf/duplicate-key"},
		{"duplicate tensor name", withTensors([]ti{{"a", []uint64{8}, 0, 0}, {"a", []uint64{8}, 0, 32}}, 64), "gguf/duplicate-tensor"},
		{"unknown tensor type", withTensors([]ti{{"a", []uint64{8}, 4, 0}}, 32), "gguf/bad-tensor-type"},
		{"too many dims", withTensors([]ti{{"a", []uint64{1, 1, 1, 1, 1}, 0, 0}}, 32), "gguf/too-many-dims"},
		{"tensor past EOF", withTensors([]ti{{"a", []uint64{1 << 20}, 0, 0}}, 32), "gguf/tensor-out-of-bounds"},
		{"tensor offset huge", withTensors([]ti{{"a", []uint64{8}, 0, 1 << 62}}, 32), "gguf/tensor-out-of-bounds"},
		{"misaligned tensor", withTensors([]ti{{"a", []uint64{8}, 0, 4}}, 64), "gguf/misaligned-tensor"},
		{"overlapping tensors", withTensors([]ti{{"a", []uint64{16}, 0, 0}, {"b", []uint64{8}, 0, 32}}, 96), "gguf/overlapping-tensors"},
		{"dims overflow", withTensors([]ti{{"a", []uint64{1 << 40, 1 << 40}, 0, 0}}, 32), "gguf/size-overflow"},
		{"quantized row not whole blocks", withTensors([]ti{{"a", []uint64{33}, 8, 0}}, 64), "gguf/bad-shape"},
		{"bad alignment", withKV(kvU32("general.alignment", 3)), "gguf/bad-alignment"},
		{"unknown value type", withKV(kv{"x", func(g *w) { g.u32(77) }}), "gguf/bad-value-type"},
		{"unknown version", []byte("GGUF\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "gguf/unsupported-version"},
		{"truncated header", []byte("GGUF\x03\x00\x00\x00\x01"), "gguf/truncated"},
		{"trailing bytes", withTensors([]ti{{"a", []uint64{8}, 0, 0}}, 4096), "gguf/trailing-bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.data)
			if !slices.Contains(formatstest.Rules(res, formats.Medium), c.rule) {
				t.Errorf("want %s:%s", c.rule, formatstest.Describe(res))
			}
			if strings.Contains(formatstest.Describe(res), "analyzer-failure") {
				t.Errorf("panic: %s", formatstest.Describe(res))
			}
		})
	}
}

// BenchmarkGGUFMetadata parses a header with a 150k-token vocabulary (the
// bulk of a real GGUF's metadata) and 300 tensors.
func BenchmarkGGUFMetadata(b *testing.B) {
	toks := make([]string, 150_000)
	for i := range toks {
		toks[i] = "▁token" + strings.Repeat("x", i%7)
	}
	kvs := append(llamaKVs(zephyr), kvStrs("tokenizer.ggml.merges", toks))
	var ts []ti
	for i := 0; i < 300; i++ {
		ts = append(ts, ti{name: "blk." + strings.Repeat("a", i%5) + string(rune('a'+i%26)) + ".weight" + string(rune('0'+i/26)), dims: []uint64{64}, typ: 0, offset: uint64(i) * 256})
	}
	data := file(3, binary.LittleEndian, kvs, ts, 300*256)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for range b.N {
		res := scan(b, data)
		if r := formatstest.Rules(res, formats.Medium); len(r) > 0 {
			b.Fatal(formatstest.Describe(res))
		}
	}
}

// TestLicenseMetadata: the GGUF spec's general.license keys reach the
// details the ML-BOM reads, cleaned of control characters.
func TestLicenseMetadata(t *testing.T) {
	kvs := append(llamaKVs(""), kvStr("general.license", "apache-2.0"), kvStr("general.license.name", "Custom\x1b[2J licence"),
		kvStr("general.license.link", "https://example.com/license"))
	r := scan(t, file(3, binary.LittleEndian, kvs, llamaTensors, llamaData))
	for k, want := range map[string]string{"license": "apache-2.0", "license_name": "Custom[2J licence", "license_link": "https://example.com/license"} {
		if got := r.Details[k]; got != want {
			t.Errorf("%s = %q, want %q (%v)", k, got, want, r.Details)
		}
	}
	if rules := formatstest.Rules(r, formats.Low); len(rules) > 0 {
		t.Errorf("findings %v", rules)
	}
}
