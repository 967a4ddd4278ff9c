package onnx

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
)

// walker visits every message of a ModelProto that can hold a tensor or a
// node: the main graph, subgraphs in If/Loop/Scan attributes, Constant
// node attributes, sparse initializers, model-local functions and training
// graphs. Field numbers are those of onnx.proto (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, SparseTensorProto, FunctionProto,
// TrainingInfoProto, StringStringEntryProto, OperatorSetIdProto).
type walker struct {
	s      *formats.Scope
	win    *protowalk.Window
	onDisk bool

	irVersion    uint64
	producer     string
	opsets       map[string]int64 // model-level opset_import
	funcs        map[string]bool  // "domain\x00name" of model-local functions
	uses         map[opUse]int64  // (domain, op) -> offset of first node using it
	nodes        int
	initializers int
	external     int
	// curFunc is the model-local function whose body is being walked
	// ("domain\x00name"), calls its callees, funcOff where each is defined.
	curFunc string
	calls   map[string]map[string]bool
	funcOff map[string]int64
	nCalls  int
	// lastTensor is the name of the TensorProto tensor() read last; graph()
	// uses it to find initializers defined twice.
	lastTensor string

	perRule    map[string]int
	droppedSev map[string]formats.Severity
	files      map[string]*extFile // external files already checked, by location
	// locs are the external data locations the model names (for the
	// companion-file analyzer); collectOnly: only gather them, nothing
	// is checked or reported.
	locs        map[string]bool
	collectOnly bool
}

type opUse struct{ domain, op string }

func (w *walker) str(f protowalk.Field, what string) (string, error) {
	if !f.IsLen() {
		return "", protowalk.Bad(f.Off, "%s has wire type %d, not a string", what, f.Typ)
	}
	v, cut, err := w.win.Str(f, maxNameLen)
	if cut {
		v += "…"
	}
	return v, err
}

// skipKnown validates the wire type of a field the walk does not need.
func skipKnown(f protowalk.Field, t protowire.Type, packable bool) error {
	return protowalk.Want(f, t, packable)
}

func (w *walker) model(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			if err := protowalk.Want(f, protowire.VarintType, false); err != nil {
				return err
			}
			w.irVersion = f.Val
		case 2:
			v, err := w.str(f, "producer_name")
			if err != nil {
				return err
			}
			w.producer = v + w.producer
		case 3:
			v, err := w.str(f, "producer_version")
			if err != nil {
				return err
			}
			w.producer += " " + v
		case 4, 6:
			return skipKnown(f, protowire.BytesType, false)
		case 5:
			return skipKnown(f, protowire.VarintType, false)
		case 7:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.graph(f.Start, f.End, 1, "graph", true)
		case 8:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			d, v, err := w.opset(f)
			if err != nil {
				return err
			}
			w.opsets[d] = v
		case 14, 26:
			return skipKnown(f, protowire.BytesType, false)
		case 20:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.trainingInfo(f.Start, f.End, 1)
		case 25:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.function(f.Start, f.End, 1)
		}
		return nil
	})
}

func (w *walker) opset(f protowalk.Field) (domain string, version int64, err error) {
	err = w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 1:
			v, err := w.str(g, "opset domain")
			domain = v
			return err
		case 2:
			if err := protowalk.Want(g, protowire.VarintType, false); err != nil {
				return err
			}
			version = int64(g.Val)
		}
		return nil
	})
	return
}

func (w *walker) deeper(depth int, off int64) error {
	if depth > maxDepth {
		return protowalk.Bad(off, "messages nest more than %d deep (graphs inside graphs); protobuf loaders refuse such models", maxDepth)
	}
	return nil
}

func (w *walker) trainingInfo(start, end int64, depth int) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1, 2: // initialization, algorithm graphs
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			name := "training initialization"
			if f.Num == 2 {
				name = "training algorithm"
			}
			return w.graph(f.Start, f.End, depth+1, name, false)
		case 3, 4:
			return skipKnown(f, protowire.BytesType, false)
		}
		return nil
	})
}

func (w *walker) function(start, end int64, depth int) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	var name, domain string
	type pending struct{ start, end int64 }
	var nodes []pending
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		var err error
		switch f.Num {
		case 1:
			name, err = w.str(f, "function name")
		case 10:
			domain, err = w.str(f, "function domain")
		case 4, 5, 6, 8, 13:
			err = skipKnown(f, protowire.BytesType, false)
		case 7:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				nodes = append(nodes, pending{f.Start, f.End})
				if len(nodes) > 1<<20 {
					err = protowalk.Bad(f.Off, "function has more than %d nodes", 1<<20)
				}
			}
		case 9: // opset_import of the function: its domains need judging too
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				var d string
				d, _, err = w.opset(f)
				if err == nil {
					w.use(d, "", f.Off)
				}
			}
		case 11:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				err = w.attribute(f.Start, f.End, depth+1, func() string { return "function attribute" }, &nodeInfo{})
			}
		case 12, 14:
			err = skipKnown(f, protowire.BytesType, false)
		}
		return err
	})
	if err != nil {
		return err
	}
	key := domain + "\x00" + name
	w.funcs[key] = true
	if _, ok := w.funcOff[key]; !ok {
		w.funcOff[key] = start
	}
	prev := w.curFunc
	w.curFunc = key
	defer func() { w.curFunc = prev }()
	where := fmt.Sprintf("function %s.%s", domain, name)
	for _, n := range nodes {
		if err := w.node(n.start, n.end, depth+1, where); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) graph(start, end int64, depth int, where string, main bool) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	// Initializer names seen in this graph. onnxruntime keeps the last of
	// two initializers with one name (with a warning), other readers the
	// first: a second definition lets the weights, or the external file
	// they come from, differ between what was checked and what runs.
	inits := map[string]bool{}
	dupInit := func(off int64) {
		n := w.lastTensor
		if n == "" {
			return
		}
		if inits[n] {
			w.report("onnx/duplicate-initializer", formats.High, off,
				"%s: the initializer %q is defined twice; onnxruntime uses the last definition and other readers the first, so two loaders run different weights", where, n)
		}
		inits[n] = true
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.node(f.Start, f.End, depth+1, where)
		case 2, 10:
			return skipKnown(f, protowire.BytesType, false)
		case 5:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			if main {
				w.initializers++
			}
			if err := w.tensor(f.Start, f.End, depth+1, where+" initializer"); err != nil {
				return err
			}
			dupInit(f.Off)
			return nil
		case 15:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			if main {
				w.initializers++
			}
			if err := w.sparse(f.Start, f.End, depth+1, where+" sparse initializer"); err != nil {
				return err
			}
			dupInit(f.Off)
			return nil
		case 11, 12, 13, 14, 16:
			return skipKnown(f, protowire.BytesType, false)
		}
		return nil
	})
}

// nodeInfo gathers what a node's attributes say about EPContext.
type nodeInfo struct {
	embedMode    int64 // EPContext embed_mode; 1 (embedded) unless set
	embedModeSet bool
	ctxStart     int64 // ep_cache_context payload
	ctxEnd       int64
	ctxSet       bool
	source       string
}

func (w *walker) node(start, end int64, depth int, where string) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	w.nodes++
	var name, op, domain string
	info := &nodeInfo{embedMode: 1}
	// Attributes hold subgraphs; their context names the node, which may
	// come after them on the wire, so they are walked after the node.
	type pending struct{ start, end int64 }
	var attrs []pending
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		var err error
		switch f.Num {
		case 1, 2, 6, 8:
			err = skipKnown(f, protowire.BytesType, false)
		case 3:
			name, err = w.str(f, "node name")
		case 4:
			op, err = w.str(f, "op_type")
		case 7:
			domain, err = w.str(f, "node domain")
		case 5:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				attrs = append(attrs, pending{f.Start, f.End})
				if len(attrs) > 1<<16 {
					err = protowalk.Bad(f.Off, "node has more than %d attributes", 1<<16)
				}
			}
		case 9, 10:
			err = skipKnown(f, protowire.BytesType, false)
		}
		return err
	})
	if err != nil {
		return err
	}
	// The context string is only built when something needs it: most
	// attributes are scalars, and formatting it per node halves the speed.
	here := func() string { return fmt.Sprintf("%s > node %q (%s)", where, name, opName(domain, op)) }
	for _, a := range attrs {
		if err := w.attribute(a.start, a.end, depth+1, here, info); err != nil {
			return err
		}
	}
	w.use(domain, op, start)
	if op == "EPContext" {
		w.epContext(start, here(), domain, info)
	}
	return nil
}

func opName(domain, op string) string {
	if domain == "" {
		return op
	}
	return domain + "." + op
}

func (w *walker) use(domain, op string, off int64) {
	if w.curFunc != "" && op != "" && w.nCalls < maxUses {
		// The call graph between model-local functions (checked for
		// cycles in recursion.go).
		callee := domain + "\x00" + op
		if !w.calls[w.curFunc][callee] {
			if w.calls[w.curFunc] == nil {
				w.calls[w.curFunc] = map[string]bool{}
			}
			w.calls[w.curFunc][callee] = true
			w.nCalls++
		}
	}
	k := opUse{domain, op}
	if _, ok := w.uses[k]; ok || len(w.uses) >= maxUses {
		return
	}
	w.uses[k] = off
}

func (w *walker) attribute(start, end int64, depth int, where func() string, info *nodeInfo) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	var name string
	type pending struct {
		num        protowire.Number
		start, end int64
	}
	var subs []pending
	var sField protowalk.Field
	var sSet, iSet bool
	var iVal int64
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		var err error
		switch f.Num {
		case 1:
			name, err = w.str(f, "attribute name")
		case 21, 13, 9:
			err = skipKnown(f, protowire.BytesType, false)
		case 20:
			err = skipKnown(f, protowire.VarintType, false)
		case 2:
			err = skipKnown(f, protowire.Fixed32Type, false)
		case 3:
			if err = protowalk.Want(f, protowire.VarintType, false); err == nil {
				iVal, iSet = int64(f.Val), true
			}
		case 4:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				sField, sSet = f, true
			}
		case 7:
			err = skipKnown(f, protowire.Fixed32Type, true)
		case 8:
			err = skipKnown(f, protowire.VarintType, true)
		case 14, 15:
			err = skipKnown(f, protowire.BytesType, false)
		case 5, 6, 10, 11, 22, 23:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				subs = append(subs, pending{f.Num, f.Start, f.End})
				if len(subs) > 1<<16 {
					err = protowalk.Bad(f.Off, "attribute holds more than %d tensors or graphs", 1<<16)
				}
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	// Only the int of embed_mode and the string of ep_cache_context/source
	// matter for EPContext; for other attributes, forget them again.
	if name == "embed_mode" && iSet {
		info.embedMode, info.embedModeSet = iVal, true
	}
	if sSet {
		switch name {
		case "ep_cache_context":
			info.ctxStart, info.ctxEnd, info.ctxSet = sField.Start, sField.End, true
		case "source":
			info.source, _ = w.str(sField, "source")
		}
	}
	if len(subs) == 0 {
		return nil
	}
	here := fmt.Sprintf("%s attribute %q", where(), name)
	for _, p := range subs {
		var err error
		switch p.num {
		case 5, 10: // t, tensors: Constant values and the like
			err = w.tensor(p.start, p.end, depth+1, here)
		case 22, 23: // sparse_tensor(s)
			err = w.sparse(p.start, p.end, depth+1, here)
		case 6, 11: // g, graphs: If/Loop/Scan bodies
			err = w.graph(p.start, p.end, depth+1, here, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) sparse(start, end int64, depth int, where string) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	// A sparse initializer is named by its values tensor.
	name := ""
	defer func() { w.lastTensor = name }()
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1, 2: // values, indices: both may be external
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			part := " values"
			if f.Num == 2 {
				part = " indices"
			}
			err := w.tensor(f.Start, f.End, depth+1, where+part)
			if f.Num == 1 {
				name = w.lastTensor
			}
			return err
		case 3:
			return skipKnown(f, protowire.VarintType, true)
		}
		return nil
	})
}

// tensorInfo is what a TensorProto says about where its data lives.
type tensorInfo struct {
	name     string
	external bool // data_location == EXTERNAL
	entries  []extEntry
	off      int64
}

type extEntry struct {
	key, value string
	cut        bool
	off        int64
}

const maxEntries = 64

func (w *walker) tensor(start, end int64, depth int, where string) error {
	if err := w.deeper(depth, start); err != nil {
		return err
	}
	t := tensorInfo{off: start}
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		var err error
		switch f.Num {
		case 1, 7, 11:
			err = skipKnown(f, protowire.VarintType, true)
		case 2:
			err = skipKnown(f, protowire.VarintType, false)
		case 3, 6, 12, 16:
			err = skipKnown(f, protowire.BytesType, false)
		case 4:
			err = skipKnown(f, protowire.Fixed32Type, true)
		case 5:
			err = skipKnown(f, protowire.VarintType, true)
		case 10:
			err = skipKnown(f, protowire.Fixed64Type, true)
		case 8:
			t.name, err = w.str(f, "tensor name")
		case 9: // raw_data: skipped by length, never read
			err = skipKnown(f, protowire.BytesType, false)
		case 13:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				if len(t.entries) >= maxEntries {
					return protowalk.Bad(f.Off, "tensor has more than %d external_data entries", maxEntries)
				}
				var e extEntry
				e, err = w.entry(f)
				t.entries = append(t.entries, e)
			}
		case 14:
			if err = protowalk.Want(f, protowire.VarintType, false); err == nil {
				// Last one wins in protobuf; any EXTERNAL makes us check.
				t.external = t.external || f.Val == 1
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	w.lastTensor = t.name
	if t.external || len(t.entries) > 0 {
		w.external++
		w.checkExternal(&t, fmt.Sprintf("%s tensor %q", where, t.name))
	}
	return nil
}

func (w *walker) entry(f protowalk.Field) (extEntry, error) {
	e := extEntry{off: f.Start}
	err := w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if !g.IsLen() {
			if g.Num == 1 || g.Num == 2 {
				return protowalk.Bad(g.Off, "external_data entry field %d is not a string", g.Num)
			}
			return nil
		}
		switch g.Num {
		case 1:
			v, _, err := w.win.Str(g, 64)
			e.key = v
			return err
		case 2:
			v, cut, err := w.win.Str(g, maxLocationLen)
			e.value, e.cut = v, cut
			return err
		}
		return nil
	})
	return e, err
}
