package onnx

import (
	"io"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
)

// ONNX value files: a TensorProto, SequenceProto, MapProto or OptionalProto
// serialized on its own, as onnx.numpy_helper and the ONNX backend test
// suite write them (test_data_set_*/input_*.pb, output_*.pb) and as
// onnx.save_tensor does. They carry no graph and no operator, but a
// TensorProto may name external data, which a loader
// (onnx.load_tensor + load_external_data_for_tensor) reads from disk: that
// path is judged exactly as in a model.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "onnx-tensor",
		Extensions: []string{".pb"},
		// Above the TensorFlow .pb sniffer, which claims any .pb that
		// starts with field 1: a TensorProto does too (its dims).
		Priority: 28,
		Sniff:    sniffValue,
		Analyze:  analyzeValue,
	})
}

// valueWire is the wire type each field may have in TensorProto (packed
// repeated numbers may also come as bytes). SequenceProto, MapProto and
// OptionalProto use field numbers 1-7 with types this table also allows,
// so one pass over the head tells whether the content can be any of them.
var valueWire = map[protowire.Number][]protowire.Type{
	1:  {protowire.VarintType, protowire.BytesType},  // dims | name
	2:  {protowire.VarintType},                       // data_type | elem_type | key_type
	3:  {protowire.BytesType, protowire.VarintType},  // segment | tensor_values | keys
	4:  {protowire.Fixed32Type, protowire.BytesType}, // float_data | sparse values | string_keys
	5:  {protowire.VarintType, protowire.BytesType},  // int32_data | sequence values
	6:  {protowire.BytesType},                        // string_data | map values
	7:  {protowire.VarintType, protowire.BytesType},  // int64_data | optional values
	8:  {protowire.BytesType},                        // name
	9:  {protowire.BytesType},                        // raw_data
	10: {protowire.Fixed64Type, protowire.BytesType}, // double_data
	11: {protowire.VarintType, protowire.BytesType},  // uint64_data
	12: {protowire.BytesType},                        // doc_string
	13: {protowire.BytesType},                        // external_data
	14: {protowire.VarintType},                       // data_location
	16: {protowire.BytesType},                        // metadata_props
}

// maxValueType bounds data_type / elem_type: TensorProto.DataType ends in
// the twenties today (FLOAT4E2M1 = 23 and the 2-bit types after it);
// leaving room keeps a newer exporter from becoming a false alarm while
// ruling out what is plainly another message.
const maxValueType = 64

// sniffValue recognizes an ONNX value by structure: every field in the
// head has a wire type the schemas allow, and field 2 is a small varint
// (data_type or elem_type). TensorFlow's .pb messages never have a varint
// field 2 (SavedModel's meta_graphs and GraphDef's library are messages),
// and an ONNX ModelProto's field 2 is its producer name.
func sniffValue(p *formats.Probe) bool {
	b := p.Head
	var pos int64
	sawType, body := false, false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		ok := false
		for _, t := range valueWire[num] {
			ok = ok || t == typ
		}
		if !ok {
			return false
		}
		b = b[n:]
		pos += int64(n)
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return p.Ext() == ".pb" && len(b) < 10 && int64(len(p.Head)) < p.Size && sawType
			}
			if num == 2 {
				// 0 is UNDEFINED, which onnx.numpy_helper.from_optional
				// writes for an empty optional (the backend test
				// test_optional_has_element_empty_optional_input holds
				// one); it is still a varint field 2, which no TensorFlow
				// message has.
				if v > maxValueType {
					return false
				}
				sawType = true
			}
			b = b[m:]
			pos += int64(m)
		case protowire.Fixed32Type, protowire.Fixed64Type:
			w := 4
			if typ == protowire.Fixed64Type {
				w = 8
			}
			if len(b) < w {
				return p.Ext() == ".pb" && int64(len(p.Head)) < p.Size && sawType
			}
			b = b[w:]
			pos += int64(w)
			body = true
		case protowire.BytesType:
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			pos += int64(m)
			if l > uint64(p.Size-pos) {
				// Cut short: a .pb that began as a tensor is reported as a
				// malformed one, not as an unknown file.
				return sawType && p.Ext() == ".pb"
			}
			if num != 1 && num != 8 && num != 12 {
				body = true
			}
			if l > uint64(len(b)-m) {
				b = nil // runs past the head: what was seen fits
				break
			}
			b = b[m+int(l):]
			pos += int64(l)
		}
	}
	if p.Ext() == ".pb" {
		return sawType
	}
	// Other names: only when the whole content was seen and parsed. A head
	// that merely starts like a tensor is too weak a sign: raw weight shards
	// (TF.js, OpenVINO, ONNX external data) are random bytes that can, now
	// and then, begin with a few valid fields.
	return sawType && body && b != nil && pos == p.Size
}

// valueKinds are the messages such a file may hold, tried in turn.
var valueKinds = []struct {
	name string
	walk func(w *walker, start, end int64) error
}{
	{"tensor", func(w *walker, s, e int64) error { return w.tensor(s, e, 1, "tensor file") }},
	{"sequence", func(w *walker, s, e int64) error { return w.sequence(s, e, 1, "sequence file") }},
	{"map", func(w *walker, s, e int64) error { return w.mapValue(s, e, 1, "map file") }},
	{"optional", func(w *walker, s, e int64) error { return w.optional(s, e, 1, "optional file") }},
}

// analyzeValue walks the content as each kind of value. The same bytes can
// parse as more than one (a SequenceProto's tensor_values is a
// TensorProto's segment field, which a tensor walk skips): which one a
// loader reads depends on the model's input type, not on the file, so the
// checks of every kind that parses apply. None parsing is malformed.
func analyzeValue(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("onnx-tensor")
	var parsed []string
	var firstErr error
	seen := map[formats.Finding]bool{}
	for _, k := range valueKinds {
		res := &formats.FileResult{}
		o := *s.Options()
		w := newWalker(formats.NewScope(s.Path(), &o, res), r, size)
		w.onDisk = onDisk(s)
		err := k.walk(w, 0, size)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		w.finishReports()
		parsed = append(parsed, k.name)
		for _, f := range res.Findings {
			if !seen[f] {
				seen[f] = true
				s.Report(f)
			}
		}
		for key, v := range res.Details {
			s.Detail(key, v)
		}
	}
	if len(parsed) == 0 {
		off, msg := int64(formats.NoOffset), firstErr.Error()
		if m, ok := firstErr.(*protowalk.Malformed); ok {
			off, msg = m.Off, m.Msg
		}
		s.Reportf("onnx/malformed", formats.High, off,
			"the content starts like an ONNX tensor file but is no valid TensorProto, SequenceProto, MapProto or OptionalProto (%s); a loader would reject or misread it", msg)
		return
	}
	s.Detail("value_kind", parsed[0])
}

// sequence walks a SequenceProto: name 1, elem_type 2, tensor_values 3,
// sparse_tensor_values 4, sequence_values 5, map_values 6,
// optional_values 7 (onnx/onnx-data.proto).
func (w *walker) sequence(start, end int64, depth int, where string) error {
	return w.valueFields(start, end, depth, where, true)
}

// optional walks an OptionalProto: the same numbers as SequenceProto, each
// singular.
func (w *walker) optional(start, end int64, depth int, where string) error {
	return w.valueFields(start, end, depth, where, false)
}

func (w *walker) valueFields(start, end int64, depth int, where string, _ bool) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			_, err := w.str(f, "name")
			return err
		case 2:
			return protowalk.Want(f, protowire.VarintType, false)
		case 3, 4, 5, 6, 7:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			switch f.Num {
			case 3:
				return w.tensor(f.Start, f.End, depth+1, where+" element")
			case 4:
				return w.sparse(f.Start, f.End, depth+1, where+" element")
			case 5:
				return w.sequence(f.Start, f.End, depth+1, where+" element")
			case 6:
				return w.mapValue(f.Start, f.End, depth+1, where+" element")
			default:
				return w.optional(f.Start, f.End, depth+1, where+" element")
			}
		}
		return protowalk.Bad(f.Off, "field %d is not part of an ONNX sequence or optional value", f.Num)
	})
}

// mapValue walks a MapProto: name 1, key_type 2, keys 3 (int64, packable),
// string_keys 4, values 5 (a SequenceProto).
func (w *walker) mapValue(start, end int64, depth int, where string) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			_, err := w.str(f, "name")
			return err
		case 2:
			return protowalk.Want(f, protowire.VarintType, false)
		case 3:
			return protowalk.Want(f, protowire.VarintType, true)
		case 4:
			return protowalk.Want(f, protowire.BytesType, false)
		case 5:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.sequence(f.Start, f.End, depth+1, where+" values")
		}
		return protowalk.Bad(f.Off, "field %d is not part of an ONNX map value", f.Num)
	})
}
