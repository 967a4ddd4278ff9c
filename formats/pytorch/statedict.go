package pytorch

// Report-only decoding of a state dict's structure (tensor names, shapes,
// dtypes) with gopickle. gopickle is not safe on hostile input (it panics
// on opcode 0xFF, a zero-length LONG1 or odd SETITEMS, and allocates a
// BINUNICODE's declared length before reading it), so it only ever sees
// a data.pkl that modelvet's own reader accepted (no finding at or above
// Medium), that is small, and that runs under a recover, an opcode cap
// and a deadline. It never loads classes: every global resolves to an
// inert Go placeholder. Nothing it says is a verdict; on any failure
// nothing is recorded.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

const (
	// Caps on what is handed to gopickle. Real data.pkl files hold only
	// structure (~30 opcodes, ~100 bytes per tensor; tensor bytes live in
	// data/), so these admit ~16K tensors while bounding gopickle's
	// memory (it allocates a Go object, up to a few hundred bytes, per
	// opcode) to tens of MiB and its time to the deadline.
	maxDecodeBytes = 16 << 20
	maxDecodeOps   = 1 << 19
	decodeTimeout  = 5 * time.Second
	// Walking the decoded value: nested checkpoint dicts, bounded.
	maxWalkDepth   = 8
	maxWalkEntries = 1 << 20
	sampleTensors  = 5
)

// decodeHook, when set (tests only), is called each time bytes are about
// to be handed to gopickle.
var decodeHook func()

// tensorInfo is one tensor found in the decoded structure.
type tensorInfo struct {
	Name  string
	Dtype string
	Shape []int
	Numel uint64
	Ok    bool // Numel did not overflow
}

// stateDictSummary is what the report shows of a state dict.
type stateDictSummary struct {
	Tensors    []tensorInfo
	Parameters uint64
	Overflow   bool
}

// details renders the summary as report details.
func (sum *stateDictSummary) details() map[string]string {
	d := map[string]string{"state_dict_tensors": strconv.Itoa(len(sum.Tensors))}
	if sum.Overflow {
		d["parameters"] = "overflow"
	} else {
		d["parameters"] = strconv.FormatUint(sum.Parameters, 10)
	}
	counts := map[string]int{}
	for _, t := range sum.Tensors {
		counts[t.Dtype]++
	}
	var dt []string
	for k, n := range counts {
		dt = append(dt, fmt.Sprintf("%s:%d", k, n))
	}
	sort.Strings(dt)
	d["dtypes"] = strings.Join(dt, ",")
	var sample []string
	for _, t := range sum.Tensors[:min(len(sum.Tensors), sampleTensors)] {
		dims := make([]string, len(t.Shape))
		for i, v := range t.Shape {
			dims[i] = strconv.Itoa(v)
		}
		name := t.Name
		if len(name) > 80 {
			name = name[:80] + "..."
		}
		sample = append(sample, fmt.Sprintf("%s[%s]", name, strings.Join(dims, " ")))
	}
	d["tensor_sample"] = strings.Join(sample, ", ")
	return d
}

// decodeStateDict decodes size bytes of an accepted pickle with gopickle
// and summarizes the tensors in it; ok is false when the pickle is too
// big, gopickle fails or panics, the deadline passes, or the value is not
// a dict holding tensors.
func decodeStateDict(r io.ReaderAt, size, ops int64) (sum *stateDictSummary, ok bool) {
	if size <= 0 || size > maxDecodeBytes || ops > maxDecodeOps || !decodable(r, size, maxDecodeOps) {
		return nil, false
	}
	if decodeHook != nil {
		decodeHook()
	}
	defer func() {
		// gopickle panics on some inputs; a report detail is not worth a
		// crash.
		if recover() != nil {
			sum, ok = nil, false
		}
	}()
	br := &boundedReader{r: bufio.NewReader(io.NewSectionReader(r, 0, size)), deadline: time.Now().Add(decodeTimeout)}
	u := pickle.NewUnpickler(br)
	u.FindClass = findPlaceholder
	u.PersistentLoad = loadPlaceholderStorage
	v, err := u.Load()
	if err != nil {
		return nil, false
	}
	w := &walker{seen: map[string]int{}}
	if !isDict(v) {
		return nil, false
	}
	w.walk("", v, 0)
	if w.stop || len(w.out.Tensors) == 0 {
		return nil, false
	}
	w.out.total()
	return &w.out, true
}

// boundedReader caps the opcodes gopickle may execute (each reads at
// least one byte through ReadByte) and stops it at a deadline: a pickle
// that makes gopickle do quadratic work (its Dict lookups are linear)
// ends with an error instead of a hang.
type boundedReader struct {
	r        *bufio.Reader
	n        int64
	deadline time.Time
}

var errDecodeBound = fmt.Errorf("decode bound reached")

func (b *boundedReader) tick() error {
	b.n++
	if b.n > 4*maxDecodeOps {
		return errDecodeBound
	}
	if b.n&1023 == 0 && time.Now().After(b.deadline) {
		return errDecodeBound
	}
	return nil
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if err := b.tick(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *boundedReader) ReadByte() (byte, error) {
	if err := b.tick(); err != nil {
		return 0, err
	}
	return b.r.ReadByte()
}

// placeholder stands for any global the pickle names. It is inert: calling
// it, instantiating it or setting its state builds another placeholder.
type placeholder struct{ module, name string }

func (p *placeholder) Call(args ...any) (any, error) { return &placeholder{p.module, p.name}, nil }
func (p *placeholder) PyNew(args ...any) (any, error) {
	return &placeholder{p.module, p.name}, nil
}
func (p *placeholder) PySetState(any) error { return nil }

// storageClass is torch.FloatStorage and its kin.
type storageClass struct{ dtype string }

func (c *storageClass) Call(args ...any) (any, error) { return &storage{c.dtype}, nil }

// storage is what a persistent id resolves to: its dtype only.
type storage struct{ dtype string }

// rebuildTensor is torch._utils._rebuild_tensor_v2 (and _rebuild_tensor):
// (storage, storage_offset, size, stride, ...) -> tensor.
type rebuildTensor struct{}

// tensor is a rebuilt tensor: dtype and shape, no data.
type tensor struct {
	dtype string
	shape []int
}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("rebuild_tensor: %d arguments", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("rebuild_tensor: storage is %T", args[0])
	}
	size, ok := args[2].(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("rebuild_tensor: size is %T", args[2])
	}
	shape := make([]int, 0, min(size.Len(), 64))
	for i := 0; i < size.Len(); i++ {
		d, ok := size.Get(i).(int)
		if !ok || d < 0 {
			return nil, fmt.Errorf("rebuild_tensor: dimension %d is %v", i, size.Get(i))
		}
		shape = append(shape, d)
	}
	return &tensor{dtype: st.dtype, shape: shape}, nil
}

// rebuildParameter is torch._utils._rebuild_parameter*: (data, ...) ->
// data, so an nn.Parameter counts as its tensor.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("rebuild_parameter: no arguments")
	}
	return args[0], nil
}

// findPlaceholder resolves a global to an inert placeholder; it never
// looks anything up beyond these names.
func findPlaceholder(module, name string) (any, error) {
	if module == "torch._utils" {
		switch name {
		case "_rebuild_tensor_v2", "_rebuild_tensor":
			return rebuildTensor{}, nil
		case "_rebuild_parameter", "_rebuild_parameter_with_state":
			return rebuildParameter{}, nil
		}
	}
	if _, ok := storageElementSize(module + "." + name); ok {
		return &storageClass{dtype: storageDtype(name)}, nil
	}
	return &placeholder{module, name}, nil
}

// loadPlaceholderStorage resolves ('storage', class, key, location, numel)
// to a storage of that class's dtype. Bytes are never read.
func loadPlaceholderStorage(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return nil, fmt.Errorf("persistent id is %T", id)
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id kind is %v", t.Get(0))
	}
	c, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, fmt.Errorf("storage class is %T", t.Get(1))
	}
	return &storage{c.dtype}, nil
}

// storageDtypes names the dtype of a typed storage class as torch prints
// it; other classes drop "Storage" and are lowercased.
var storageDtypes = map[string]string{
	"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
	"BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
	"ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
	"BoolStorage": "bool", "ComplexFloatStorage": "complex64",
	"ComplexDoubleStorage": "complex128", "ComplexHalfStorage": "complex32",
	"UntypedStorage": "uint8",
}

func storageDtype(class string) string {
	if d, ok := storageDtypes[class]; ok {
		return d
	}
	return strings.ToLower(strings.TrimSuffix(class, "Storage"))
}

// walker collects the tensors of nested dicts under dotted names.
type walker struct {
	out     stateDictSummary
	seen    map[string]int // name -> index in out.Tensors
	entries int
	stop    bool
}

func isDict(v any) bool {
	switch v.(type) {
	case *types.Dict, *types.OrderedDict:
		return true
	}
	return false
}

func (w *walker) walk(prefix string, v any, depth int) {
	if w.stop || depth > maxWalkDepth {
		return
	}
	visit := func(k, val any) {
		w.entries++
		if w.entries > maxWalkEntries {
			w.stop = true
			return
		}
		var key string
		switch x := k.(type) {
		case string:
			key = x
		case int:
			key = strconv.Itoa(x)
		case *big.Int:
			key = x.String()
		default:
			return // a key a report cannot name
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		switch x := val.(type) {
		case *tensor:
			w.add(key, x)
		case *types.Dict, *types.OrderedDict:
			w.walk(key, x, depth+1)
		}
	}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			if w.stop {
				return
			}
			visit(e.Key, e.Value)
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil && !w.stop; el = el.Next() {
			if e, ok := el.Value.(*types.OrderedDictEntry); ok {
				visit(e.Key, e.Value)
			}
		}
	}
}

func (w *walker) add(name string, t *tensor) {
	info := tensorInfo{Name: name, Dtype: t.dtype, Shape: t.shape, Numel: 1, Ok: true}
	for _, d := range t.shape {
		if d != 0 && info.Numel > math.MaxUint64/uint64(d) {
			info.Ok = false
			break
		}
		info.Numel *= uint64(d)
	}
	// A dict key set twice keeps its first place and its last value, as
	// in Python.
	if i, ok := w.seen[name]; ok {
		w.out.Tensors[i] = info
	} else {
		w.seen[name] = len(w.out.Tensors)
		w.out.Tensors = append(w.out.Tensors, info)
	}
}

// total sums the elements of all tensors.
func (sum *stateDictSummary) total() {
	sum.Parameters, sum.Overflow = 0, false
	for _, t := range sum.Tensors {
		if !t.Ok || sum.Parameters > math.MaxUint64-t.Numel {
			sum.Overflow = true
		}
		sum.Parameters += t.Numel
	}
}
