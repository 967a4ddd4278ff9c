package xgboost

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// maxDecoded bounds the values a UBJSON model is decoded into for the tree
// proofs (the JSON reader's own bound); a larger model's trees are left
// unproven, which is reported.
const maxDecoded = 1 << 22

// provedArrays are the arrays the tree proofs read; every other array
// (split conditions, weights, statistics: most of a model's bytes) is
// checked by the skipper and decoded empty, so memory stays a few values
// per tree node.
var provedArrays = map[string]bool{"trees": true, "left_children": true, "right_children": true, "parents": true, "split_indices": true}

// decode reads one UBJSON value into the jsonx form the JSON reader
// produces, so that one tree proof (trees.go) serves both encodings.
// Numbers keep their decimal text in Str. It returns nil past maxDecoded.
func (d *ubj) decode(depth int, n *int, key string) (*jsonx.Value, error) {
	t, err := d.byte1()
	if err != nil {
		return nil, err
	}
	return d.decodeTyped(t, depth, n, key)
}

func (d *ubj) decodeTyped(t byte, depth int, n *int, key string) (*jsonx.Value, error) {
	if depth > maxDepth {
		return nil, d.bad("values nest more than %d deep", maxDepth)
	}
	if *n++; *n > maxDecoded {
		return nil, errTooMany
	}
	off := d.pos
	switch t {
	case 'Z', 'N':
		return &jsonx.Value{Kind: jsonx.Null, Off: off}, nil
	case 'T', 'F':
		return &jsonx.Value{Kind: jsonx.Bool, Off: off, Str: map[byte]string{'T': "true", 'F': "false"}[t]}, nil
	case 'i', 'U', 'I', 'l', 'L':
		v, err := d.integer(t)
		if err != nil {
			return nil, err
		}
		return &jsonx.Value{Kind: jsonx.Number, Off: off, Str: strconv.FormatInt(v, 10)}, nil
	case 'd', 'D':
		w := fixed(t)
		if len(d.b)-d.pos < w {
			return nil, d.bad("a number runs past the end")
		}
		var f float64
		if w == 4 {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(d.b[d.pos:])))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(d.b[d.pos:]))
		}
		d.pos += w
		return &jsonx.Value{Kind: jsonx.Number, Off: off, Str: strconv.FormatFloat(f, 'g', -1, 64)}, nil
	case 'C':
		c, err := d.byte1()
		return &jsonx.Value{Kind: jsonx.String, Off: off, Str: string(rune(c))}, err
	case 'S', 'H':
		l, err := d.length()
		if err != nil {
			return nil, err
		}
		start := d.pos
		if err := d.skip(l); err != nil {
			return nil, err
		}
		k := jsonx.String
		if t == 'H' {
			k = jsonx.Number
		}
		return &jsonx.Value{Kind: k, Off: off, Str: string(d.b[start:d.pos])}, nil
	case '[', '{':
		if t == '[' && !provedArrays[key] {
			return &jsonx.Value{Kind: jsonx.Array, Off: off}, d.typed(t, depth, func(string) {})
		}
		obj := t == '{'
		v := &jsonx.Value{Kind: jsonx.Array, Off: off}
		if obj {
			v.Kind = jsonx.Object
		}
		var elem byte
		count := int64(-1)
		if d.pos < len(d.b) && d.b[d.pos] == '$' {
			d.pos++
			var err error
			if elem, err = d.byte1(); err != nil {
				return nil, err
			}
			if d.pos >= len(d.b) || d.b[d.pos] != '#' {
				return nil, d.bad("a typed container without a count")
			}
		}
		if d.pos < len(d.b) && d.b[d.pos] == '#' {
			d.pos++
			var err error
			if count, err = d.length(); err != nil {
				return nil, err
			}
			if w := fixed(elem); count > int64(len(d.b)-d.pos) && !(elem != 0 && w == 0) {
				return nil, d.bad("a container of %d values cannot fit in the %d bytes left", count, len(d.b)-d.pos)
			}
		}
		for i := int64(0); count < 0 || i < count; i++ {
			if count < 0 {
				if d.pos >= len(d.b) {
					return nil, d.bad("a container is not closed")
				}
				if (obj && d.b[d.pos] == '}') || (!obj && d.b[d.pos] == ']') {
					d.pos++
					return v, nil
				}
			}
			if obj {
				l, err := d.length()
				if err != nil {
					return nil, err
				}
				koff := d.pos
				if err := d.skip(l); err != nil {
					return nil, err
				}
				v.Keys = append(v.Keys, string(d.b[koff:d.pos]))
				v.KOff = append(v.KOff, koff)
			}
			var e *jsonx.Value
			var err error
			k := ""
			if obj {
				k = v.Keys[len(v.Keys)-1]
			}
			if elem != 0 {
				e, err = d.decodeTyped(elem, depth+1, n, k)
			} else {
				e, err = d.decode(depth+1, n, k)
			}
			if err != nil {
				return nil, err
			}
			v.Vals = append(v.Vals, e)
		}
		return v, nil
	}
	return nil, d.bad("byte %q is not a UBJSON type", t)
}

// errTooMany: the model has more values than the proofs decode.
var errTooMany = &jsonx.Error{Msg: "too many values to decode"}
