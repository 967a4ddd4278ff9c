package tensorrt

import (
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// engine is a plan's shape: "ptrt", a version, sizes, then opaque data.
func engine(body string) []byte {
	b := []byte("ptrt")
	b = binary.LittleEndian.AppendUint32(b, 0xef)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(24+len(body)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, body...)
}

// withMetadata is the Ultralytics export: u32 length, JSON, then the plan.
func withMetadata(e []byte) []byte {
	meta := `{"description":"Ultralytics YOLOv8n","task":"detect","imgsz":[640,640]}`
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(meta)))
	return append(append(b, meta...), e...)
}

func TestTensorRT(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want map[string]formats.Severity
	}{
		{"plain engine", engine("conv1 weights relu"), map[string]formats.Severity{"tensorrt/compiled-engine": formats.Medium}},
		{"Ultralytics engine with metadata", withMetadata(engine("layers")), map[string]formats.Severity{"tensorrt/compiled-engine": formats.Medium}},
		{"engine with a plugin layer", engine("EfficientNMS_TRT\x00plugin data"), map[string]formats.Severity{"tensorrt/plugin": formats.High}},
		{"engine carrying a shared library", engine("\x00\x00\x7fELF\x02\x01\x01 plugin library"), map[string]formats.Severity{"tensorrt/embedded-library": formats.High}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "model.engine", c.data, &o)
			if res.Format != "tensorrt" {
				t.Fatalf("format %q", res.Format)
			}
			for rule, sev := range c.want {
				found := false
				for _, f := range res.Findings {
					found = found || (f.Rule == rule && f.Severity == sev)
				}
				if !found {
					t.Errorf("want %v %s: %s", sev, rule, formatstest.Describe(res))
				}
			}
			if len(c.want) == 1 && c.want["tensorrt/compiled-engine"] != 0 {
				if m, _ := res.Max(); m > formats.Medium {
					t.Errorf("a plain engine is high: %s", formatstest.Describe(res))
				}
			}
		})
	}
}

func FuzzTensorRT(f *testing.F) {
	f.Add(withMetadata(engine("x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.engine", data)
	})
}

// A 2 GiB engine: the library search stops at scanLimit.
func BenchmarkTensorRT2GiB(b *testing.B) {
	const size = 2 << 30
	r := &formatstest.Sparse{Head: engine("weights"), Size: size}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(size)
	for b.Loop() {
		if res := formats.ScanReader("model.engine", r, size, &o); res.Format != "tensorrt" {
			b.Fatal(res.Format)
		}
	}
}
