package paddle

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
)

// Inference parameters (.pdiparams, written by paddle.jit.save and
// save_inference_model): the program's persistable tensors one after the
// other, each a LoDTensor as paddle/fluid/framework/lod_tensor.cc
// serializes it: u32 version (0), u64 LoD level count, per level a u64 byte
// size and that many bytes, then the tensor: u32 version (0), i32 size of a
// TensorDesc protobuf (data_type 1, dims 2), the TensorDesc, and the raw
// data. No code, but the C++ reader trusts these sizes, so every one is
// checked against what remains and the data against dims x element size.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "paddle-params",
		Extensions: []string{".pdiparams"},
		Priority:   30,
		Sniff: func(p *formats.Probe) bool {
			return p.Ext() == ".pdiparams" && len(p.Head) >= 12 && binary.LittleEndian.Uint32(p.Head) == 0
		},
		Analyze: analyzeParams,
	})
}

// varTypeBytes are the element sizes of VarType.Type (framework.proto).
var varTypeBytes = map[uint64]int64{
	0: 1, 1: 2, 2: 4, 3: 8, 4: 2, 5: 4, 6: 8, // BOOL INT16 INT32 INT64 FP16 FP32 FP64
	20: 1, 21: 1, 22: 2, 23: 8, 24: 16, // UINT8 INT8 BF16 COMPLEX64 COMPLEX128
}

const (
	maxLoD       = 16
	maxDesc      = 1 << 20
	maxParams    = 1 << 20
	maxParamDims = 16
)

type paramReader struct {
	r    io.ReaderAt
	size int64
	pos  int64
}

func (d *paramReader) read(n int64) ([]byte, error) {
	if n < 0 || n > d.size-d.pos {
		return nil, fmt.Errorf("at offset %d: %d bytes run past the end of the file (%d remain)", d.pos, n, d.size-d.pos)
	}
	b := make([]byte, n)
	if _, err := d.r.ReadAt(b, d.pos); err != nil && err != io.EOF {
		return nil, fmt.Errorf("at offset %d: %v", d.pos, err)
	}
	d.pos += n
	return b, nil
}

func (d *paramReader) skip(n int64) error {
	if n < 0 || n > d.size-d.pos {
		return fmt.Errorf("at offset %d: %d bytes run past the end of the file (%d remain)", d.pos, n, d.size-d.pos)
	}
	d.pos += n
	return nil
}

func analyzeParams(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("paddle-params")
	d := &paramReader{r: r, size: size}
	n, err := d.tensors()
	if err != nil {
		// paddle/params-malformed: sizes Paddle's C++ reader would trust
		// past the end of the file or the tensor.
		s.Reportf("paddle/params-malformed", formats.High, d.pos, "the parameters do not read as Paddle's LoDTensor sequence (%v); a loader trusting these sizes would read out of bounds", err)
	}
	s.Detail("tensors", strconv.Itoa(n))
}

func (d *paramReader) tensors() (int, error) {
	n := 0
	for d.pos < d.size {
		if n >= maxParams {
			return n, fmt.Errorf("more than %d tensors", maxParams)
		}
		h, err := d.read(12)
		if err != nil {
			return n, err
		}
		if v := binary.LittleEndian.Uint32(h); v != 0 {
			return n, fmt.Errorf("tensor %d: LoDTensor version %d (only 0 exists)", n, v)
		}
		levels := binary.LittleEndian.Uint64(h[4:])
		if levels > maxLoD {
			return n, fmt.Errorf("tensor %d: %d LoD levels", n, levels)
		}
		for range levels {
			b, err := d.read(8)
			if err != nil {
				return n, err
			}
			if err := d.skip(int64(min(binary.LittleEndian.Uint64(b), 1<<62))); err != nil {
				return n, err
			}
		}
		h, err = d.read(8)
		if err != nil {
			return n, err
		}
		if v := binary.LittleEndian.Uint32(h); v != 0 {
			return n, fmt.Errorf("tensor %d: tensor version %d (only 0 exists)", n, v)
		}
		ds := int32(binary.LittleEndian.Uint32(h[4:]))
		if ds < 0 || ds > maxDesc {
			return n, fmt.Errorf("tensor %d: a TensorDesc of %d bytes", n, ds)
		}
		desc, err := d.read(int64(ds))
		if err != nil {
			return n, err
		}
		bytes, err := descBytes(desc)
		if err != nil {
			return n, fmt.Errorf("tensor %d: %v", n, err)
		}
		if err := d.skip(bytes); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// descBytes is the data size a TensorDesc announces.
func descBytes(b []byte) (int64, error) {
	var typ uint64
	typSet := false
	elems, dims := int64(1), 0
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("the TensorDesc is not a protobuf")
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, fmt.Errorf("bad data_type")
			}
			typ, typSet, b = v, true, b[m:]
		case num == 2 && wt == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, fmt.Errorf("bad dimension")
			}
			if dims++; dims > maxParamDims || int64(v) < 0 || (v != 0 && elems > (1<<56)/int64(v)) {
				return 0, fmt.Errorf("dimension %d is out of range", int64(v))
			}
			elems *= int64(v)
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, wt, b)
			if m < 0 {
				return 0, fmt.Errorf("the TensorDesc is not a protobuf")
			}
			b = b[m:]
		}
	}
	w, ok := varTypeBytes[typ]
	if !typSet || !ok {
		return 0, fmt.Errorf("data type %d has no size modelvet knows", typ)
	}
	return elems * w, nil
}
