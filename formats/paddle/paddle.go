// Package paddle reads PaddlePaddle inference programs (.pdmodel, a
// protobuf ProgramDesc, paddle/fluid/framework/framework.proto). The
// program's operators run from Paddle's own registry; the ones that reach
// outside the model are py_func (a Python callable of the loading process)
// and the save/load operators, whose file_path attribute names a file the
// program writes or reads. Parameters (.pdparams, .pdopt) are pickles and
// go to the pickle analyzer by content.
package paddle

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "paddle",
		Extensions: []string{".pdmodel"},
		Priority:   30,
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

// blockStart is how every ProgramDesc begins: blocks (field 1) whose first
// block has idx 0 and parent_idx -1 (both proto2 required, so written).
var blockStart = []byte{0x08, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}

func sniff(p *formats.Probe) bool {
	h := p.Head
	if len(h) < 2 || h[0] != 0x0a {
		return false
	}
	// The length is not checked here: a cut file is reported as a
	// malformed program by the analyzer, not as an unknown file.
	_, n := protowire.ConsumeVarint(h[1:])
	if n < 0 {
		return false
	}
	return bytes.HasPrefix(h[1+n:], blockStart)
}

// opRule says why an operator matters.
type opRule struct {
	rule string
	sev  formats.Severity
	why  string
}

var riskyOps = map[string]opRule{
	// Attack class: a program that calls back into Python (like TF's
	// PyFunc): the callable lives in the loading process.
	"py_func": {"paddle/python-call", formats.High, "calls a Python function of the loading process"},
	// Attack class: writing files where the program says.
	"save":         {"paddle/file-write", formats.High, "writes a file"},
	"save_combine": {"paddle/file-write", formats.High, "writes a file"},
	// Reading files: inference programs do not; training programs load
	// their own checkpoints.
	"load":         {"paddle/file-read", formats.Medium, "reads a file"},
	"load_combine": {"paddle/file-read", formats.Medium, "reads a file"},
	// Attack class: exfiltration of a file the program names. read_file
	// (paddle/fluid/operators/read_file_op.cc) reads its "filename"
	// attribute into a uint8 tensor the model's outputs can carry; the
	// path is baked into the program, not fed by the caller.
	"read_file":         {"paddle/file-read", formats.High, "reads the file its filename attribute names into a tensor"},
	"file_label_reader": {"paddle/file-read", formats.Medium, "reads the files its attributes list"},
	// Attack class: network access from the program. The parameter-server
	// operators serve or call the endpoints their attributes name; an
	// inference program never has them.
	"listen_and_serv":       {"paddle/network", formats.High, "starts a server listening on an endpoint"},
	"heter_listen_and_serv": {"paddle/network", formats.High, "starts a server listening on an endpoint"},
	"send_and_recv":         {"paddle/network", formats.Medium, "sends tensors to and receives them from remote endpoints"},
	"send":                  {"paddle/network", formats.Medium, "sends tensors to remote endpoints"},
	"recv":                  {"paddle/network", formats.Medium, "receives tensors from remote endpoints"},
	"send_barrier":          {"paddle/network", formats.Medium, "talks to remote parameter servers"},
	"fetch_barrier":         {"paddle/network", formats.Medium, "talks to remote parameter servers"},
	"checkpoint_notify":     {"paddle/network", formats.Medium, "asks remote parameter servers to save checkpoints"},
	"recv_save":             {"paddle/file-write", formats.Medium, "receives tensors from remote endpoints and saves them to a file"},
}

// pathAttrs are the attributes whose string names a file an operator opens.
var pathAttrs = map[string]bool{"file_path": true, "filename": true}

const (
	maxDepth   = 32
	maxPerRule = 25
)

type walker struct {
	s      *formats.Scope
	win    *protowalk.Window
	ops    int
	capped *formats.PerRule
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("paddle")
	w := &walker{s: s, win: protowalk.NewWindow(r, size), capped: &formats.PerRule{S: s, Max: maxPerRule}}
	err := w.win.Fields(0, size, func(f protowalk.Field) error {
		if f.Num == 1 {
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.block(f.Start, f.End)
		}
		return nil
	})
	if err != nil {
		off, msg := protowalk.Where(err)
		// paddle/malformed: a program Paddle would reject or misread.
		s.Reportf("paddle/malformed", formats.High, off, "the ProgramDesc protobuf is broken (%s); what follows was not checked", msg)
	}
	w.capped.Close()
	s.Detail("operators", strconv.Itoa(w.ops))
}

func (w *walker) block(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		if f.Num != 4 { // ops
			return nil
		}
		if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
			return err
		}
		return w.op(f)
	})
}

func (w *walker) op(f protowalk.Field) error {
	w.ops++
	var typ, path string
	err := w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 3:
			if !g.IsLen() {
				return protowalk.Bad(g.Off, "op type is not a string")
			}
			v, _, err := w.win.Str(g, 256)
			typ = v
			return err
		case 4: // attrs: name 1, s 5 (string value)
			if !g.IsLen() {
				return protowalk.Bad(g.Off, "op attribute is not a message")
			}
			var name, sval string
			err := w.win.Fields(g.Start, g.End, func(a protowalk.Field) error {
				if a.IsLen() && (a.Num == 1 || a.Num == 5) {
					v, _, err := w.win.Str(a, 1024)
					if a.Num == 1 {
						name = v
					} else {
						sval = v
					}
					return err
				}
				return nil
			})
			if pathAttrs[name] {
				path = sval
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r, ok := riskyOps[typ]; ok {
		extra := ""
		if path != "" {
			extra = fmt.Sprintf(" (file_path %q)", path)
		}
		w.capped.Reportf(r.rule, r.sev, f.Off, "the program has a %q operator, which %s%s", typ, r.why, extra)
	}
	return nil
}
