package paddle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// pirProgram is a Paddle 3 PIR program as paddle.jit.save writes it
// (the shape of the fc + relu example of Paddle's serialization design
// doc): parameters, data, matmul, add, relu, scale, fetch, with ops
// spliced in before fetch.
func pirProgram(ops ...string) string {
	extra := ""
	for _, o := range ops {
		extra += o + ","
	}
	return `{"base_code":{"magic":"pir","trainable":false,"version":1},` +
		`"program":{"regions":[{"#":"region_0","blocks":[{"#":"block_0","args":[],"ops":[` +
		`{"#":"p","A":[0,1,1,"fc_0.b_0"],"O":{"%":1,"TT":{"#":"0.t_dtensor","D":[{"#":"0.t_f32"},[30],"NCHW",[],0]}},"OA":[1,0,1]},` +
		`{"#":"1.data","A":[{"AT":{"#":"0.a_str","D":"A"},"N":"name"},{"AT":{"#":"1.a_intarray","D":[-1,30]},"N":"shape"}],"I":[],"O":[{"%":3}]},` +
		`{"#":"1.matmul","A":[{"AT":{"#":"0.a_bool","D":false},"N":"transpose_x"}],"I":[{"%":3},{"%":2}],"O":[{"%":4}]},` +
		`{"#":"1.add","A":[],"I":[{"%":4},{"%":1}],"O":[{"%":5}]},` +
		`{"#":"1.relu","A":[],"I":[{"%":5}],"O":[{"%":6}]},` + extra +
		`{"#":"1.fetch","A":[{"AT":{"#":"0.a_str","D":"fetch_name_0"},"N":"name"}],"I":[{"%":6}],"O":[{"%":9}]}]}]}]}}`
}

func TestPIR(t *testing.T) {
	cases := []struct {
		name, doc string
		rule      string
		sev       formats.Severity
	}{
		{"inference program (paddle.jit.save, Paddle 3)", pirProgram(), "", 0},
		{"control flow: if with two regions", pirProgram(`{"#":"1.if","I":[{"%":5}],"O":[{"%":7}],"regions":[{"#":"region_1","blocks":[{"#":"block_1","args":[],"ops":[{"#":"2.yield","I":[{"%":5}]}]}]}]}`), "", 0},
		{"read_file with a baked-in path", pirProgram(`{"#":"1.read_file","A":[{"N":"filename","AT":{"#":"0.a_str","D":"/home/u/.ssh/id_rsa"}}],"I":[],"O":[{"%":7}]}`), "paddle/file-read", formats.High},
		{"save inside an if body", pirProgram(`{"#":"1.if","I":[{"%":5}],"O":[],"regions":[{"#":"region_1","blocks":[{"#":"block_1","args":[],"ops":[{"#":"1.save_combine","A":[{"N":"file_path","AT":{"#":"0.a_str","D":"/etc/cron.d/x"}}]}]}]}]}`), "paddle/file-write", formats.High},
		{"custom operator dialect", pirProgram(`{"#":"3.my_nms","A":[],"I":[{"%":6}],"O":[{"%":7}]}`), "paddle/custom-op", formats.Medium},
		{"unknown dialect id", pirProgram(`{"#":"9.x","A":[]}`), "paddle/malformed", formats.High},
		{"broken JSON", pirProgram()[:80], "paddle/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "model.json", "paddle", []byte(c.doc), c.rule, c.sev)
		})
	}
}

func FuzzPIR(f *testing.F) {
	f.Add([]byte(pirProgram()))
	f.Add([]byte(pirProgram(`{"#":"1.read_file","A":[{"N":"filename","AT":{"#":"0.a_str","D":"/x"}}]}`, `{"#":"3.c"}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "model.json", data)
	})
}

// A program of 100k operators: the JSON is parsed once and walked.
func BenchmarkPIR(b *testing.B) {
	var ops []string
	for i := range 100_000 {
		ops = append(ops, fmt.Sprintf(`{"#":"1.relu","A":[],"I":[{"%%":%d}],"O":[{"%%":%d}]}`, i+10, i+11))
	}
	doc := []byte(pirProgram(strings.Join(ops, ",")))
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		res := formats.ScanReader("model.json", strings.NewReader(string(doc)), int64(len(doc)), &o)
		if res.Format != "paddle" {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
