// Package onnx reads ONNX models (protobuf ModelProto) without loading
// them: it walks the wire format field by field, skipping tensor bytes by
// length, and checks what makes a runtime touch the world outside the
// file: external tensor data paths, custom operator domains, execution
// provider context blobs.
package onnx

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "onnx",
		Extensions: []string{".onnx"},
		Priority:   20,
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

// modelField says how each ModelProto field is encoded; the sniffer uses
// it to recognize a model from its first bytes (ONNX has no magic).
var modelField = map[protowire.Number]protowire.Type{
	1:  protowire.VarintType, // ir_version
	2:  protowire.BytesType,  // producer_name
	3:  protowire.BytesType,  // producer_version
	4:  protowire.BytesType,  // domain
	5:  protowire.VarintType, // model_version
	6:  protowire.BytesType,  // doc_string
	7:  protowire.BytesType,  // graph
	8:  protowire.BytesType,  // opset_import
	14: protowire.BytesType,  // metadata_props
	20: protowire.BytesType,  // training_info
	25: protowire.BytesType,  // functions
	26: protowire.BytesType,  // configuration
}

// sniff parses the head as ModelProto fields. Every field seen must be a
// ModelProto field with its schema's wire type, lengths must fit in the
// file, and ir_version must be there with a plausible value plus at least
// one other field. Protobuf writers emit fields in number order, so
// ir_version (1) comes first and the huge graph (7) soon after.
//
// A file named .onnx only needs to start like a ModelProto (ir_version
// first): then a broken body is reported as onnx/malformed with its offset
// instead of as an unrecognized file.
func sniff(p *formats.Probe) bool {
	if p.Ext() == ".onnx" && len(p.Head) >= 2 && p.Head[0] == 0x08 && p.Head[1] >= 1 && p.Head[1] <= 100 {
		return true
	}
	b := p.Head
	var pos int64
	sawIR, others := false, 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		wt, ok := modelField[num]
		if !ok || wt != typ {
			return false
		}
		b = b[n:]
		pos += int64(n)
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			if num == 1 {
				if v < 1 || v > 100 {
					return false
				}
				sawIR = true
			} else {
				others++
			}
			b = b[m:]
			pos += int64(m)
		case protowire.BytesType:
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			pos += int64(m)
			if l > uint64(p.Size-pos) {
				return false
			}
			if num == 7 || num == 8 {
				others++ // a graph or an opset: the body of a model
			}
			text := num == 2 || num == 3 || num == 4 || num == 6
			if l >= uint64(len(b)-m) {
				// The field runs past the head; what we saw fits. A long
				// doc_string must at least start as text.
				if text && !isText(b[m:]) {
					return false
				}
				if text {
					others++
				}
				b = nil
				break
			}
			if text && !isText(b[m:m+int(l)]) {
				// producer_name and friends are text; a binary message in
				// field 2 is a TensorFlow SavedModel, not ONNX.
				return false
			}
			b = b[m+int(l):]
			pos += int64(l)
		}
	}
	return sawIR && others > 0
}

// isText reports whether b is UTF-8 without control characters other than
// white space (a cut rune at the end is allowed: the head may end mid-rune).
func isText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[n:]
	}
	return true
}

// Limits on what one model may make the walk keep.
const (
	maxDepth       = 48   // nested graphs/messages; protobuf's own default limit is 100
	maxNameLen     = 512  // names and domains shown in findings
	maxLocationLen = 4096 // external data locations
	maxPerRule     = 25   // findings of one rule before they are summarized
	maxUses        = 4096 // distinct (domain, op) pairs remembered
)

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	w := newWalker(s, r, size)
	w.onDisk = onDisk(s)
	err := w.model(0, size)
	if err != nil {
		off := int64(formats.NoOffset)
		msg := err.Error()
		if m, ok := err.(*protowalk.Malformed); ok {
			off, msg = m.Off, m.Msg
		}
		w.report("onnx/malformed", formats.High, off,
			"the protobuf encoding is broken (%s); the model cannot be read as a loader would read it, and what follows was not checked", msg)
	}
	w.checkRecursion()
	w.judgeDomains()
	w.finishReports()
	publishRefs(s, size, w.locs)

	s.SetFormat("onnx")
	if w.irVersion > 0 {
		s.Detail("ir_version", strconv.FormatUint(w.irVersion, 10))
	}
	if w.producer != "" {
		s.Detail("producer", w.producer)
	}
	if len(w.opsets) > 0 {
		var ops []string
		for d, v := range w.opsets {
			if d == "" {
				d = "ai.onnx"
			}
			ops = append(ops, fmt.Sprintf("%s:%d", d, v))
		}
		sort.Strings(ops)
		s.Detail("opsets", strings.Join(ops, ","))
	}
	s.Detail("nodes", strconv.Itoa(w.nodes))
	s.Detail("initializers", strconv.Itoa(w.initializers))
	if w.external > 0 {
		s.Detail("external_tensors", strconv.Itoa(w.external))
	}
}

// newWalker is the one place a walker is made, so that every map the walk
// writes exists whichever caller (the analyzer, the companion lookup) walks.
// A walker built field by field elsewhere once lacked the call graph map,
// and a model-local function (export_modules_as_functions=True) then
// panicked during sniffing of the files beside it.
func newWalker(s *formats.Scope, r io.ReaderAt, size int64) *walker {
	return &walker{
		s:       s,
		win:     protowalk.NewWindow(r, size),
		opsets:  map[string]int64{},
		funcs:   map[string]bool{},
		uses:    map[opUse]int64{},
		perRule: map[string]int{},
		files:   map[string]*extFile{},
		calls:   map[string]map[string]bool{},
		funcOff: map[string]int64{},
		locs:    map[string]bool{},
	}
}

// report records a finding, keeping at most maxPerRule of each rule so a
// model with a million bad tensors does not produce a million findings.
func (w *walker) report(rule string, sev formats.Severity, off int64, format string, args ...any) {
	w.perRule[rule]++
	if w.perRule[rule] > maxPerRule {
		if sev > w.droppedSev[rule] {
			if w.droppedSev == nil {
				w.droppedSev = map[string]formats.Severity{}
			}
			w.droppedSev[rule] = sev
		}
		return
	}
	w.s.Reportf(rule, sev, off, format, args...)
}

func (w *walker) finishReports() {
	var rules []string
	for r, n := range w.perRule {
		if n > maxPerRule {
			rules = append(rules, r)
		}
	}
	sort.Strings(rules)
	for _, r := range rules {
		w.s.Reportf(r, w.droppedSev[r], formats.NoOffset, "%d more findings of this rule were not listed", w.perRule[r]-maxPerRule)
	}
}
