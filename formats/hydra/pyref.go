package hydra

import (
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// Pyrefs finds fiddle's Python references in a JSON document walked string
// by string: {"type": "pyref", "module": M, "name": N}. NeMo 2 checkpoints
// keep their whole model and trainer setup this way (context/io.json);
// fiddle's load_json imports every pyref (importlib.import_module(M), then
// getattr for each part of N) and fdl.build calls the ones that are a
// config's function or class: the same instantiation class as _target_.
// Each pyref is judged as a reference (JudgeReference).
type Pyrefs struct {
	s       *formats.Scope
	pending map[string]*pyref
	full    bool
}

type pyref struct {
	typ, module, name string
	done              bool
}

// maxPending caps the objects tracked at once; fiddle JSON has one entry
// per pyref object, other JSON (tokenizer.json) a handful.
const maxPending = 1 << 16

// NewPyrefs starts a collector reporting to s.
func NewPyrefs(s *formats.Scope) *Pyrefs { return &Pyrefs{s: s, pending: map[string]*pyref{}} }

// Visit takes one string value with its path (idx marks array indices), as
// jsonx.Stream hands them out.
func (p *Pyrefs) Visit(path []string, idx []bool, val string) {
	last := len(path) - 1
	if last < 0 || idx[last] {
		return
	}
	k := path[last]
	if k != "type" && k != "module" && k != "name" {
		return
	}
	parent := strings.Join(path[:last], "/")
	r := p.pending[parent]
	if r == nil {
		if len(p.pending) >= maxPending {
			if !p.full && k == "type" && val == "pyref" {
				p.full = true
				p.s.Reportf("hydra/config-too-large", formats.High, formats.NoOffset,
					"the JSON holds more than %d objects with fiddle-style keys; Python references past that were not checked", maxPending)
			}
			return
		}
		r = &pyref{}
		p.pending[parent] = r
	}
	switch k {
	case "type":
		r.typ = val
	case "module":
		r.module = val
	case "name":
		r.name = val
	}
	if !r.done && r.typ == "pyref" && r.module != "" && r.name != "" {
		r.done = true
		reportTarget(p.s, parent, "pyref", r.module+"."+r.name, formats.NoOffset, true)
	}
}
