package openvino

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// ir is the shape of what ovc / mo write (IR v11): Parameter, Const with
// weights in the .bin, an op, Result, edges, rt_info.
func ir(constVersion, opVersion, opType string, offset, size int) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<net name="Model0" version="11">
	<layers>
		<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1,4" element_type="f32"/><output><port id="0" precision="FP32"/></output></layer>
		<layer id="1" name="w" type="Const" version="%s"><data element_type="f32" shape="4" offset="%d" size="%d"/><output><port id="0" precision="FP32"/></output></layer>
		<layer id="2" name="y" type="%s" version="%s"><input><port id="0"/><port id="1"/></input><output><port id="2" precision="FP32"/></output></layer>
		<layer id="3" name="out" type="Result" version="opset1"><input><port id="0"/></input></layer>
	</layers>
	<edges><edge from-layer="0" from-port="0" to-layer="2" to-port="0"/></edges>
	<rt_info><Runtime_version value="2024.0.0"/></rt_info>
</net>
`, constVersion, offset, size, opType, opVersion)
}

func TestOpenVINO(t *testing.T) {
	cases := []struct {
		name  string
		xml   string
		bin   int // bytes of model.bin; -1 for none
		rule  string
		sev   formats.Severity
		extra string // another file name, for custom-layer configs
	}{
		{"IR v11 as ovc writes it", ir("opset1", "opset1", "Add", 0, 16), 16, "", 0, ""},
		{"newer opset", ir("opset1", "opset13", "ScaledDotProductAttention", 0, 16), 16, "", 0, ""},
		// Attacks / dependencies on native code.
		{"operation from an extension library", ir("opset1", "custom_opset", "MyOp", 0, 16), 16, "openvino/custom-layer", formats.Medium, ""},
		{"extension op registered under a standard opset name", ir("opset1", "opset8", "StealCredentials", 0, 16), 16, "openvino/custom-layer", formats.Medium, ""},
		{"unknown type without an opset version", ir("opset1", "", "StealCredentials", 0, 16), 16, "openvino/custom-layer", formats.Medium, ""},
		{"extension re-registering Gelu under opset1, before Gelu exists", ir("opset1", "opset1", "Gelu", 0, 16), 16, "openvino/custom-layer", formats.Medium, ""},
		{"extension re-registering ScaledDotProductAttention under opset8", ir("opset1", "opset8", "ScaledDotProductAttention", 0, 16), 16, "openvino/custom-layer", formats.Medium, ""},
		{"Gelu of opset2, where it was introduced", ir("opset1", "opset2", "Gelu", 0, 16), 16, "", 0, ""},
		{"Gelu of opset7 (v7 Gelu)", ir("opset1", "opset7", "Gelu", 0, 16), 16, "", 0, ""},
		{"opset1 op declared in a later opset (Add of opset6, as stateful IRs write it)", ir("opset1", "opset6", "Add", 0, 16), 16, "", 0, ""},
		{"MVN declared opset1 (the reader takes it from opset2)", ir("opset1", "opset1", "MVN", 0, 16), 16, "", 0, ""},
		{"type in another case (the reader ignores case)", ir("opset1", "opset1", "relu", 0, 16), 16, "", 0, ""},
		{"IR spelling of a standard op (ReLU)", ir("opset1", "opset1", "ReLU", 0, 16), 16, "", 0, ""},
		{"type of an opset newer than the table", ir("opset1", "opset18", "FutureOp", 0, 16), 16, "", 0, ""},
		{"an attribute given twice (parser differential)", strings.Replace(ir("opset1", "opset1", "Add", 0, 16), `type="Add"`, `type="Add" type="Evil"`, 1), 16, "openvino/malformed", formats.High, ""},
		{"Const reading past the weights", ir("opset1", "opset1", "Add", 8, 16), 16, "openvino/weights-out-of-range", formats.High, ""},
		{"Const with a negative offset", ir("opset1", "opset1", "Add", -4, 4), 16, "openvino/weights-out-of-range", formats.High, ""},
		{"GPU custom layer config with an OpenCL kernel", `<CustomLayer name="ReLU1" type="SimpleGPU" version="1"><Kernel entry="relu"><Source filename="relu.cl"/></Kernel></CustomLayer>`, -1, "openvino/custom-kernel", formats.High, ""},
		{"DTD entity", `<?xml version="1.0"?><!DOCTYPE net [<!ENTITY x "y">]><net name="m" version="11"><layers></layers></net>`, -1, "openvino/xml-directive", formats.Medium, ""},
		{"broken XML", `<net name="m" version="11"><layers><layer></net>`, -1, "openvino/malformed", formats.High, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "model.xml"), []byte(c.xml), 0o644)
			if c.bin >= 0 {
				os.WriteFile(filepath.Join(dir, "model.bin"), make([]byte, c.bin), 0o644)
			}
			res := formatstest.ScanDir(t, false, dir)
			for _, f := range res.Files {
				if strings.HasSuffix(f.Path, ".bin") {
					if f.Format != "openvino-weights" || len(formatstest.Rules(f, formats.Low)) > 0 {
						t.Errorf("weights: %s %s", f.Format, formatstest.Describe(f))
					}
					continue
				}
				if f.Format != "openvino" {
					t.Fatalf("format %q", f.Format)
				}
				m, _ := f.Max()
				if c.rule == "" {
					if m > formats.Info && len(f.Findings) > 0 {
						t.Errorf("real IR flagged: %s", formatstest.Describe(f))
					}
					return
				}
				found := false
				for _, x := range f.Findings {
					found = found || (x.Rule == c.rule && x.Severity == c.sev)
				}
				if !found {
					t.Errorf("want %v %s: %s", c.sev, c.rule, formatstest.Describe(f))
				}
			}
		})
	}
}

// Other XML that merely contains a <net> element is not an IR.
func TestSniffRoot(t *testing.T) {
	eagle := `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE eagle SYSTEM "eagle.dtd">
<eagle version="9.6.2"><drawing><schematic><nets><net name="GND" class="0"></net></nets></schematic></drawing></eagle>`
	if sniff(&formats.Probe{Name: "board.xml", Head: []byte(eagle)}) {
		t.Error("an EAGLE schematic sniffed as OpenVINO IR")
	}
	if !sniff(&formats.Probe{Name: "model.xml", Head: []byte(ir("opset1", "opset1", "Add", 0, 16))}) {
		t.Error("an IR was not recognized")
	}
	if !sniff(&formats.Probe{Name: "model.xml", Head: []byte("\xef\xbb\xbf<!-- converted --><net name=\"m\" version=\"11\"><layers/></net>")}) {
		t.Error("an IR after a BOM and a comment was not recognized")
	}
}

func FuzzOpenVINO(f *testing.F) {
	f.Add([]byte(ir("opset1", "opset1", "Add", 0, 16)))
	f.Add([]byte(strings.Replace(ir("opset1", "opset8", "StealCredentials", 0, 16), `type="Const"`, `type="Const" type="X"`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "model.xml", data)
	})
}

// An IR of 20,000 layers (a large transformer's .xml is tens of MB).
func BenchmarkOpenVINO(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0"?><net name="m" version="11"><layers>`)
	for i := range 20000 {
		fmt.Fprintf(&sb, `<layer id="%d" name="l%d" type="Add" version="opset1"><input><port id="0"/></input><output><port id="1" precision="FP32"/></output></layer>`, i, i)
	}
	sb.WriteString(`</layers></net>`)
	data := []byte(sb.String())
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		formatstest.ScanBytes(b, "model.xml", data, &o)
	}
}
