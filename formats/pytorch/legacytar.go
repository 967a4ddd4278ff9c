package pytorch

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "pytorch-tar",
		Kinds:    []string{"tar"},
		Priority: 100,
		Match: func(a *archive.Archive) bool {
			return a.Find("sys_info") != nil && a.Find("pickle") != nil && a.Find("storages") != nil
		},
		Analyze: analyzeTar,
	})
}

// analyzeTar reads the oldest torch.save layout: a tar of sys_info (a
// pickle), pickle (the object), storages and tensors (pickles interleaved
// with raw data). torch extracts members by name, so the tar reader's
// duplicate and path checks apply to them.
func analyzeTar(s *formats.Scope, a *archive.Archive) {
	for _, m := range a.Members {
		if m.IsDir || m.IsLink {
			continue
		}
		r, n, err := a.Open(m)
		if err != nil {
			continue
		}
		c := s.Child(m.Name)
		if c == nil {
			continue
		}
		st := &stream{s: c, r: r, size: n}
		switch m.Name {
		case "sys_info", "pickle":
			c.SetFormat("pickle")
			if _, _, ok := st.next(m.Name); ok {
				st.trailing(m.Name)
			}
		case "storages":
			tarStorages(st)
		case "tensors":
			tarTensors(st)
		default:
			s.ScanMember(m.Name, r, n)
		}
	}
}

func tarStorages(st *stream) {
	fi, _, ok := st.next("storage count")
	if !ok {
		return
	}
	if len(fi.Ints) != 1 || fi.Ints[0] < 0 {
		st.s.Reportf("pytorch/malformed", formats.High, 0, "the storage count pickle is not one integer")
		return
	}
	count := fi.Ints[0]
	st.s.Detail("storages", strconv.FormatInt(count, 10))
	for i := int64(0); i < count; i++ {
		at := st.off
		fi, res, ok := st.next(fmt.Sprintf("storage %d header", i))
		if !ok {
			return
		}
		var elem int64
		globals := fi.Globals
		if len(globals) == 0 && res != nil {
			for _, g := range res.Globals {
				globals = append(globals, g.Module+"."+g.Name)
			}
		}
		for _, g := range globals {
			if n, ok := storageElementSize(g); ok {
				elem = n
			}
		}
		if elem == 0 {
			st.s.Reportf("pytorch/unknown-storage-type", formats.High, at, "storage %d names no known torch storage class (%v); its bytes and everything after cannot be located", i, globals)
			return
		}
		if _, ok := st.storage(fmt.Sprintf("storage %d", i), elem); !ok {
			return
		}
	}
	if _, _, ok := st.next("storage views"); ok {
		st.trailing("storages")
	}
}

func tarTensors(st *stream) {
	fi, _, ok := st.next("tensor count")
	if !ok {
		return
	}
	if len(fi.Ints) != 1 || fi.Ints[0] < 0 {
		st.s.Reportf("pytorch/malformed", formats.High, 0, "the tensor count pickle is not one integer")
		return
	}
	count := fi.Ints[0]
	st.s.Detail("tensors", strconv.FormatInt(count, 10))
	for i := int64(0); i < count; i++ {
		if _, _, ok := st.next(fmt.Sprintf("tensor %d header", i)); !ok {
			return
		}
		b, ok := st.raw(fmt.Sprintf("tensor %d rank", i), 8)
		if !ok {
			return
		}
		ndim := int64(int32(binary.LittleEndian.Uint32(b)))
		if ndim < 0 || ndim > 64 {
			st.s.Reportf("pytorch/malformed", formats.High, st.off-8, "tensor %d claims %d dimensions", i, ndim)
			return
		}
		if _, ok := st.raw(fmt.Sprintf("tensor %d shape, strides and offset", i), 16*ndim+8); !ok {
			return
		}
	}
	st.trailing("tensors")
}
