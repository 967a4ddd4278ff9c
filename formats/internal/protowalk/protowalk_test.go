package protowalk

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// msg builds a message from encoded fields.
func msg(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func varintField(n protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, n, protowire.VarintType), v)
}

func lenField(n protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), b)
}

// seen is one field as a test records it.
type seen struct {
	Num protowire.Number
	Typ protowire.Type
	Val uint64
	Len int64
}

func walkAll(data []byte) ([]seen, error) {
	w := NewWindow(bytes.NewReader(data), int64(len(data)))
	var got []seen
	err := w.Fields(0, int64(len(data)), func(f Field) error {
		got = append(got, seen{f.Num, f.Typ, f.Val, f.End - f.Start})
		return nil
	})
	return got, err
}

func TestFields(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		want    []seen
		errAt   int64  // offset of the *Malformed, -1 for none
		errText string // part of its message
	}{
		{"empty message", nil, nil, -1, ""},
		{"varint and string", msg(varintField(1, 7), lenField(2, []byte("abc"))),
			[]seen{{1, protowire.VarintType, 7, 0}, {2, protowire.BytesType, 0, 3}}, -1, ""},
		{"fixed32 and fixed64 skipped by size",
			msg(protowire.AppendFixed32(protowire.AppendTag(nil, 3, protowire.Fixed32Type), 1),
				protowire.AppendFixed64(protowire.AppendTag(nil, 4, protowire.Fixed64Type), 2)),
			[]seen{{3, protowire.Fixed32Type, 0, 0}, {4, protowire.Fixed64Type, 0, 0}}, -1, ""},
		// A length that claims more bytes than the message holds: a reader
		// that trusted it would allocate or read past the message.
		{"length past the end", msg(varintField(1, 1), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), 1<<40)),
			[]seen{{1, protowire.VarintType, 1, 0}}, 2, "runs past the end"},
		{"truncated varint", msg(protowire.AppendTag(nil, 1, protowire.VarintType), []byte{0x80, 0x80}), nil, 1, "bad varint"},
		{"field number zero", []byte{0x02, 0x00}, nil, 0, "invalid field tag"},
		{"fixed64 cut short", msg(protowire.AppendTag(nil, 5, protowire.Fixed64Type), []byte{1, 2, 3}), nil, 1, "fixed64"},
		// Groups are not written by ONNX or TensorFlow: bytes that parse as
		// one are not what the loader expects.
		{"start group", protowire.AppendTag(nil, 6, protowire.StartGroupType), nil, 0, "groups"},
		// Parser differential: C++ and upb read a tag as 32 bits and refuse
		// field numbers past 2^29-1, which protowire would decode.
		{"field number past 2^29-1", msg(varintField(1, 1), protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3|uint64(protowire.BytesType)), []byte{1, 'x'}),
			[]seen{{1, protowire.VarintType, 1, 0}}, 2, "past protobuf's limit"},
		{"largest valid field number", msg(protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber)<<3|uint64(protowire.VarintType)), []byte{5}),
			[]seen{{protowire.MaxValidNumber, protowire.VarintType, 5, 0}}, -1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := walkAll(c.data)
			if len(got) != len(c.want) {
				t.Fatalf("fields %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("field %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
			if c.errAt < 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var m *Malformed
			if !errors.As(err, &m) {
				t.Fatalf("error %v, want a *Malformed", err)
			}
			if m.Off != c.errAt || !strings.Contains(m.Msg, c.errText) {
				t.Fatalf("error at %d %q, want at %d containing %q", m.Off, m.Msg, c.errAt, c.errText)
			}
		})
	}
}

func TestStrAcrossWindow(t *testing.T) {
	long := bytes.Repeat([]byte("x"), windowSize+100)
	data := msg(lenField(1, []byte("name")), lenField(2, long))
	w := NewWindow(bytes.NewReader(data), int64(len(data)))
	var strs []string
	var cuts []bool
	err := w.Fields(0, int64(len(data)), func(f Field) error {
		s, cut, err := w.Str(f, windowSize+50)
		strs, cuts = append(strs, s), append(cuts, cut)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strs[0] != "name" || cuts[0] {
		t.Fatalf("first string %q cut=%v", strs[0], cuts[0])
	}
	if len(strs[1]) != windowSize+50 || !cuts[1] {
		t.Fatalf("long string has %d bytes, cut=%v; want %d bytes, cut", len(strs[1]), cuts[1], windowSize+50)
	}
}

func TestAtOutsideFile(t *testing.T) {
	w := NewWindow(bytes.NewReader([]byte("abc")), 3)
	if _, err := w.At(4, 1); err == nil {
		t.Fatal("offset past the end accepted")
	}
	if _, err := w.At(-1, 1); err == nil {
		t.Fatal("negative offset accepted")
	}
	// A size larger than what the reader holds: the read comes up short.
	w = NewWindow(bytes.NewReader([]byte("abc")), 10)
	if _, err := w.At(0, 5); err == nil {
		t.Fatal("short read accepted")
	}
}

func TestWant(t *testing.T) {
	packed := Field{Num: 1, Typ: protowire.BytesType}
	if Want(packed, protowire.VarintType, true) != nil {
		t.Fatal("packed repeated varint refused")
	}
	if Want(packed, protowire.VarintType, false) == nil {
		t.Fatal("length-delimited field accepted where a varint is required")
	}
}

// FuzzFields walks every length-delimited field as a nested message, as
// the analyzers do, and checks the walk stays inside the input.
func FuzzFields(f *testing.F) {
	f.Add(msg(varintField(1, 7), lenField(2, msg(lenField(1, []byte("Conv")), varintField(2, 3)))))
	f.Add(msg(lenField(7, msg(lenField(1, msg(lenField(1, []byte("x")))))), varintField(1, 9)))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x82, 0x80, 0x80, 0x80, 0x10, 0x01, 0x78}) // field number 2^29: past the limit
	f.Fuzz(func(t *testing.T, data []byte) {
		w := NewWindow(bytes.NewReader(data), int64(len(data)))
		n := 0
		var walk func(start, end int64, depth int) error
		walk = func(start, end int64, depth int) error {
			return w.Fields(start, end, func(fl Field) error {
				n++
				if fl.Off < start || fl.Off >= end {
					t.Fatalf("field at %d outside [%d,%d)", fl.Off, start, end)
				}
				if fl.IsLen() {
					if fl.Start < start || fl.End > end || fl.Start > fl.End {
						t.Fatalf("payload [%d,%d) outside [%d,%d)", fl.Start, fl.End, start, end)
					}
					if _, _, err := w.Str(fl, 64); err != nil {
						return err
					}
					if depth < 8 {
						_ = walk(fl.Start, fl.End, depth+1) // a payload need not be a message
					}
				}
				return nil
			})
		}
		_ = walk(0, int64(len(data)), 0)
		// Each field takes at least one byte of its enclosing message, and
		// one byte of input sits in at most 9 nested messages.
		if n > 9*len(data) {
			t.Fatalf("%d fields from %d bytes", n, len(data))
		}
	})
}
