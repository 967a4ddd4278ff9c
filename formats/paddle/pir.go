package paddle

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// Paddle 3 saves inference programs as PIR JSON (model.json beside
// model.pdiparams: paddle/fluid/pir/serialize_deserialize). The same
// operators as in a ProgramDesc reach outside the model, under dialect-
// compressed names: "1.read_file" is pd_op.read_file, and dialect "3" is
// custom_op, the operators a separately loaded native library provides.
// Attack class: the program-level attacks of a .pdmodel (file reads and
// writes, Python callbacks, servers) in the newer file that a reader of
// ProgramDesc protobufs alone never looks at, plus custom operators,
// which PIR marks explicitly.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "paddle-pir",
		Extensions: []string{".json"},
		Priority:   9, // above the generic JSON config reader; TF.js manifests never have base_code
		Sniff:      sniffPIR,
		Analyze:    analyzePIR,
	})
}

// sniffPIR: nlohmann::json writes keys sorted, so a PIR program starts
// with base_code and its magic "pir".
func sniffPIR(p *formats.Probe) bool {
	h := bytes.TrimLeft(p.Head, " \t\r\n")
	if !bytes.HasPrefix(h, []byte("{")) {
		return false
	}
	i := bytes.Index(h, []byte(`"base_code"`))
	return i >= 0 && i < 64 && bytes.Contains(h[i:min(len(h), i+256)], []byte(`"pir"`))
}

const (
	maxPIR      = 512 << 20
	maxPIRNodes = 50_000_000
)

// pirDialects are the compressed dialect ids of schema.cc (DialectIdMap);
// Paddle refuses any other id.
var pirDialects = map[string]string{"0": "builtin", "1": "pd_op", "2": "cf", "3": "custom_op", "4": "pd_dist"}

func analyzePIR(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("paddle")
	if size > maxPIR {
		s.Reportf("paddle/malformed", formats.Medium, formats.NoOffset, "the PIR program is %d bytes, more than the %d modelvet reads; it was not checked", size, maxPIR)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	root, _, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 256, MaxNodes: maxPIRNodes})
	if err != nil {
		s.Reportf("paddle/malformed", formats.High, formats.NoOffset, "the PIR program is not valid JSON (%v); what follows was not checked", err)
		return
	}
	w := &pirWalker{s: s, capped: &formats.PerRule{S: s, Max: maxPerRule}}
	w.walk(root.Get("program"), 0)
	w.capped.Close()
	s.Detail("operators", strconv.Itoa(w.ops))
}

type pirWalker struct {
	s      *formats.Scope
	capped *formats.PerRule
	ops    int
}

// walk visits every op of every block of every region, nested ones (the
// bodies of control-flow ops) included.
func (w *pirWalker) walk(v *jsonx.Value, depth int) {
	if v == nil || depth > 128 {
		return
	}
	for _, region := range arr(v.Get("regions")) {
		for _, block := range arr(region.Get("blocks")) {
			for _, op := range arr(block.Get("ops")) {
				w.op(op)
				w.walk(op, depth+1)
			}
		}
	}
}

func arr(v *jsonx.Value) []*jsonx.Value {
	if v == nil || v.Kind != jsonx.Array {
		return nil
	}
	return v.Vals
}

func (w *pirWalker) op(op *jsonx.Value) {
	id := op.Get("#")
	if id == nil || id.Kind != jsonx.String {
		return
	}
	w.ops++
	name := id.Str
	if name == "p" { // the compressed builtin.parameter
		return
	}
	dialect, typ, ok := strings.Cut(name, ".")
	full, known := pirDialects[dialect]
	if !ok || !known {
		// paddle/malformed: GetDecompressOpName refuses unknown dialects.
		w.capped.Reportf("paddle/malformed", formats.High, int64(id.Off), "operation %q has no known dialect id; Paddle refuses the program", trunc(name))
		return
	}
	switch full {
	case "custom_op":
		// paddle/custom-op: the operator comes from a custom operator
		// library (paddle.utils.cpp_extension) the application loads: native
		// code outside the model.
		w.capped.Reportf("paddle/custom-op", formats.Medium, int64(id.Off), "the program uses the custom operator %q: it only runs with a native operator library loaded by the application", trunc(typ))
		return
	case "pd_op":
	default:
		return
	}
	r, risky := riskyOps[strings.TrimSuffix(typ, "_")] // "op_" is the in-place form
	if !risky {
		return
	}
	extra := ""
	for _, a := range arr(op.Get("A")) {
		if n := a.Get("N"); n != nil && pathAttrs[n.Str] {
			if d := a.Get("AT").Get("D"); d != nil && d.Kind == jsonx.String {
				extra = fmt.Sprintf(" (%s %q)", n.Str, trunc(d.Str))
			}
		}
	}
	w.capped.Reportf(r.rule, r.sev, int64(id.Off), "the program has a %q operator, which %s%s", "pd_op."+typ, r.why, extra)
}

func trunc(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}
