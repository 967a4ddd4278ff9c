// Package executorch reads ExecuTorch programs (.pte): a FlatBuffer with
// the file identifier "ET" + two digits (pytorch/executorch
// schema/program.fbs), an optional extended header ("eh00") and data
// segments after the FlatBuffer. A program runs kernels looked up by
// operator name in the runtime's registry and hands delegate blobs to
// backends by id. What reaches beyond the file is: operators from
// namespaces no standard kernel library serves (native kernels the
// application must link), delegates to backends that are not ExecuTorch's
// own, and segments addressed outside the file.
package executorch

import (
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "executorch",
		Extensions: []string{".pte"},
		Priority:   45,
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

func sniff(p *formats.Probe) bool {
	return len(p.Head) >= 8 && p.Head[4] == 'E' && p.Head[5] == 'T' && isDigit(p.Head[6]) && isDigit(p.Head[7])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// standardNamespaces are operator namespaces served by kernel libraries
// that ship with ExecuTorch (portable, optimized, quantized, the LLM
// custom ops) and by its own primitives.
var standardNamespaces = map[string]bool{
	"aten": true, "executorch_prim": true, "quantized_decomposed": true, "dim_order_ops": true,
	"quantized": true, "llama": true, "torchao": true, "et_vk": true, "cadence": true,
	"cortex_m": true, // backends/cortex_m
}

// knownBackends are the delegate ids of backends in the ExecuTorch tree.
var knownBackends = map[string]bool{
	"XnnpackBackend": true, "CoreMLBackend": true, "MPSBackend": true, "QnnBackend": true,
	"VulkanBackend": true, "ArmBackend": true, "EthosUBackend": true, "VgfBackend": true,
	"NeuronBackend": true, "OpenvinoBackend": true, "CadenceBackend": true, "SamsungBackend": true,
	"NXPBackend": true, "neutron": true,
}

// Field ids of program.fbs.
// extendedHeaderMagic is "eh00" read as a little-endian uint32.
const extendedHeaderMagic = 'e' | 'h'<<8 | '0'<<16 | '0'<<24

const (
	programPlans    = 1
	programSegments = 4
	planOperators   = 6
	planDelegates   = 7
	maxName         = 512
)

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("executorch")
	malformed := func(err error) {
		// executorch/malformed: the runtime reads the FlatBuffer in place
		// (verification is optional), so broken offsets reach memory
		// outside it.
		s.Reportf("executorch/malformed", formats.High, flatbuf.At(err), "the program's FlatBuffer is broken (%v); the runtime would read outside it or reject it", err)
	}
	b, root, err := flatbuf.Open(s, r, size)
	// The optional extended header ("eh00" at 8) gives the segment base
	// at 24, read with the same bounds checks as the rest.
	segBase := int64(0)
	if magic, err := b.U32(8); err == nil && magic == extendedHeaderMagic {
		if v, err := b.U64(24); err == nil {
			segBase = int64(v)
			if v > uint64(size) {
				s.Reportf("executorch/segment-out-of-range", formats.High, 24, "the extended header puts the segments at offset %d, outside the %d-byte file", v, size)
				segBase = -1
			}
		}
	}
	if err != nil {
		malformed(err)
		return
	}
	custom, backends := map[string]bool{}, map[string]bool{}
	plans, ops := 0, 0
	err = root.Tables(programPlans, func(_ int, plan flatbuf.Table) error {
		plans++
		err := plan.Tables(planOperators, func(_ int, op flatbuf.Table) error {
			ops++
			name, _, err := op.String(0, maxName)
			if err != nil {
				return err
			}
			ns, _, found := strings.Cut(name, "::")
			if !found || !standardNamespaces[ns] {
				custom[name] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		return plan.Tables(planDelegates, func(_ int, d flatbuf.Table) error {
			id, _, err := d.String(0, maxName)
			backends[id] = true
			return err
		})
	})
	if err != nil {
		malformed(err)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		// executorch/custom-op: the kernel is native code the application
		// must register; the program depends on code that is not in it.
		s.Reportf("executorch/custom-op", formats.Medium, formats.NoOffset,
			"the program calls the operator %q, which no kernel library shipped with ExecuTorch provides: it runs whatever native kernel the application registers under that name", name)
	}
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(backends)) {
		ids = append(ids, id)
		if !knownBackends[id] {
			// executorch/unknown-delegate: the delegate blob goes to a
			// backend outside ExecuTorch, native code the app must link.
			s.Reportf("executorch/unknown-delegate", formats.Medium, formats.NoOffset,
				"the program delegates to the backend %q, which is not one of ExecuTorch's; its blob is handed to native code the application links", id)
		}
	}
	if len(ids) > 0 {
		s.Detail("delegates", strings.Join(ids, ","))
	}
	if segBase >= 0 {
		err = root.Tables(programSegments, func(k int, seg flatbuf.Table) error {
			off, err := seg.Uint64(0, 0)
			if err != nil {
				return err
			}
			n, err := seg.Uint64(1, 0)
			if err != nil {
				return err
			}
			left := uint64(size - segBase)
			if off > left || n > left-off {
				// executorch/segment-out-of-range: a segment the runtime
				// maps from past the end of the file.
				s.Reportf("executorch/segment-out-of-range", formats.High, formats.NoOffset,
					"segment %d is at offset %d with %d bytes after the segment base %d, past the end of the %d-byte file", k, off, n, segBase, size)
			}
			return nil
		})
		if err != nil {
			malformed(err)
			return
		}
	}
	s.Detail("execution_plans", strconv.Itoa(plans))
	s.Detail("operators", strconv.Itoa(ops))
}
