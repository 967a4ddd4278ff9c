// Package xgboost reads XGBoost models saved as JSON or UBJSON
// (Booster.save_model("model.json" / "model.ubj")). Nothing in such a model
// is code: objectives, boosters and metrics are names looked up in
// XGBoost's registry. What can hurt is the C++ reader, so the document is
// walked with bounds on depth, counts and lengths, and it must have
// XGBoost's shape (a "learner" and a "version").
package xgboost

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "xgboost",
		Extensions: []string{".ubj", ".json"},
		Priority:   9, // above the generic JSON config reader
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

// maxJSON bounds a JSON model read whole (real ones: tens of MB).
const (
	maxJSON  = 1 << 30
	maxDepth = 64
)

func sniff(p *formats.Probe) bool {
	h := bytes.TrimLeft(p.Head, " \t\r\n")
	if isUBJ(h) {
		return true
	}
	return bytes.HasPrefix(h, []byte("{")) && bytes.Contains(h, []byte(`"learner"`)) &&
		(bytes.Contains(h, []byte(`"gradient_booster"`)) || bytes.Contains(h, []byte(`"learner_model_param"`)))
}

// isUBJ: '{' then a key written with a length marker, and the key is
// "learner" or "version" (XGBoost's two top-level keys).
func isUBJ(h []byte) bool {
	if len(h) < 3 || h[0] != '{' {
		return false
	}
	d := &ubj{b: h, pos: 1}
	n, err := d.length()
	if err != nil || n > int64(len(h)-d.pos) {
		return false
	}
	k := string(h[d.pos : d.pos+int(n)])
	return k == "learner" || k == "version"
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("xgboost")
	if size > maxJSON {
		// xgboost/too-large: a model past the read cap is not shown safe.
		s.Reportf("xgboost/too-large", formats.Medium, formats.NoOffset, "the model is %d bytes, more than the %d modelvet reads; it was not checked", size, maxJSON)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the model: %v", err)
		return
	}
	var learner, version bool
	var err error
	if isUBJ(bytes.TrimLeft(b, " \t\r\n")) {
		s.Detail("encoding", "ubjson")
		d := &ubj{b: b}
		err = d.value(0, func(key string) {
			learner = learner || key == "learner"
			version = version || key == "version"
		})
		if err == nil && d.pos != len(b) {
			err = &jsonx.Error{Off: d.pos, Msg: "data follows the model's value"}
		}
		if err == nil {
			// The skipper proved the encoding; decode it to prove the trees.
			n := 0
			doc, derr := (&ubj{b: b}).decode(0, &n, "")
			switch {
			case derr == errTooMany:
				// xgboost/trees-unproven: see trees.go.
				s.Reportf("xgboost/trees-unproven", formats.Low, formats.NoOffset, "the model has more than %d values; its trees were not proven safe for XGBoost's predictor", maxDecoded)
			case derr == nil:
				checkTrees(s, doc)
			}
		}
	} else {
		s.Detail("encoding", "json")
		var doc *jsonx.Value
		doc, _, err = jsonx.Parse(b, jsonx.Limits{MaxDepth: maxDepth, MaxNodes: 1 << 26})
		if err == nil {
			checkTrees(s, doc)
			learner, version = doc.Get("learner") != nil, doc.Get("version") != nil
			if v := doc.Get("version"); v != nil && v.Kind == jsonx.Array {
				var parts []string
				for _, x := range v.Vals {
					parts = append(parts, x.Str)
				}
				s.Detail("xgboost_version", fmt.Sprint(parts))
			}
		}
	}
	if err != nil {
		off := int64(formats.NoOffset)
		if e, ok := err.(*jsonx.Error); ok {
			off = int64(e.Off)
		}
		// xgboost/malformed: a model XGBoost's C++ reader would reject or
		// misread (its readers have had out-of-bounds bugs on bad input).
		s.Reportf("xgboost/malformed", formats.High, off, "the model does not parse (%v)", err)
		return
	}
	if !learner || !version {
		s.Reportf("xgboost/malformed", formats.Medium, formats.NoOffset, "the document lacks XGBoost's \"learner\" or \"version\"; XGBoost would not load it")
	}
}

// ubj is a bounded UBJSON reader (the subset XGBoost writes, plus the rest
// of the spec so that a forged file is read, not guessed).
type ubj struct {
	b   []byte
	pos int
}

func (d *ubj) bad(format string, args ...any) error {
	return &jsonx.Error{Off: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *ubj) byte1() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, d.bad("unexpected end of data")
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

// size of a fixed-width UBJSON type, or -1.
func fixed(t byte) int {
	switch t {
	case 'Z', 'N', 'T', 'F':
		return 0
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return -1
}

// integer reads an integer of type t.
func (d *ubj) integer(t byte) (int64, error) {
	w := fixed(t)
	if w <= 0 || t == 'd' || t == 'D' || t == 'C' {
		return 0, d.bad("type %q is not an integer", t)
	}
	if len(d.b)-d.pos < w {
		return 0, d.bad("an integer runs past the end")
	}
	p := d.b[d.pos : d.pos+w]
	d.pos += w
	switch t {
	case 'i':
		return int64(int8(p[0])), nil
	case 'U':
		return int64(p[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(p))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(p))), nil
	}
	v := binary.BigEndian.Uint64(p)
	if v > math.MaxInt64 {
		return 0, d.bad("a length overflows")
	}
	return int64(v), nil
}

// length reads a type marker and an integer, checked non-negative.
func (d *ubj) length() (int64, error) {
	t, err := d.byte1()
	if err != nil {
		return 0, err
	}
	n, err := d.integer(t)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, d.bad("negative length %d", n)
	}
	return n, nil
}

func (d *ubj) skip(n int64) error {
	if n < 0 || n > int64(len(d.b)-d.pos) {
		return d.bad("%d bytes run past the end (%d remain)", n, len(d.b)-d.pos)
	}
	d.pos += int(n)
	return nil
}

func (d *ubj) value(depth int, key func(string)) error {
	t, err := d.byte1()
	if err != nil {
		return err
	}
	return d.typed(t, depth, key)
}

func (d *ubj) typed(t byte, depth int, key func(string)) error {
	if depth > maxDepth {
		return d.bad("values nest more than %d deep", maxDepth)
	}
	if w := fixed(t); w >= 0 {
		return d.skip(int64(w))
	}
	switch t {
	case 'S', 'H':
		n, err := d.length()
		if err != nil {
			return err
		}
		return d.skip(n)
	case '[', '{':
		obj := t == '{'
		var elem byte
		count := int64(-1)
		if d.pos < len(d.b) && d.b[d.pos] == '$' {
			d.pos++
			var err error
			if elem, err = d.byte1(); err != nil {
				return err
			}
			if d.pos >= len(d.b) || d.b[d.pos] != '#' {
				return d.bad("a typed container without a count")
			}
		}
		if d.pos < len(d.b) && d.b[d.pos] == '#' {
			d.pos++
			var err error
			if count, err = d.length(); err != nil {
				return err
			}
			if count > int64(len(d.b)-d.pos) && !(elem != 0 && fixed(elem) == 0) {
				return d.bad("a container of %d values cannot fit in the %d bytes left", count, len(d.b)-d.pos)
			}
			if elem != 0 && !obj {
				if w := fixed(elem); w >= 0 {
					if w > 0 && count > int64(len(d.b)-d.pos)/int64(w) {
						return d.bad("a typed array of %d values cannot fit in the %d bytes left", count, len(d.b)-d.pos)
					}
					return d.skip(count * int64(w))
				}
			}
		}
		for i := int64(0); count < 0 || i < count; i++ {
			if count < 0 {
				if d.pos >= len(d.b) {
					return d.bad("a container is not closed")
				}
				if (obj && d.b[d.pos] == '}') || (!obj && d.b[d.pos] == ']') {
					d.pos++
					return nil
				}
			}
			if obj {
				n, err := d.length()
				if err != nil {
					return err
				}
				start := d.pos
				if err := d.skip(n); err != nil {
					return err
				}
				if depth == 0 {
					key(string(d.b[start:d.pos]))
				}
			}
			var err error
			if elem != 0 {
				err = d.typed(elem, depth+1, key)
			} else {
				err = d.value(depth+1, key)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return d.bad("byte %q is not a UBJSON type", t)
}
