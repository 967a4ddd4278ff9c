// Package tensorrt recognizes TensorRT engines (serialized plans, "ptrt" or
// "ftrt" at the start, or after the length-prefixed JSON metadata that
// Ultralytics and others put in front). An engine is compiled GPU code for
// one GPU and TensorRT version: deserializing it runs kernels the builder
// produced, and its format is not documented, so modelvet cannot show what
// those kernels do. Plugins are native code: an engine built with
// plugins needs their libraries at load time, and an engine can carry
// plugin libraries inside itself (TensorRT 10 setPluginsToSerialize),
// which the runtime then loads: a shared library in the file.
//
// What is and is not seen: the engine format is undocumented, so plugin
// layers are found by the creator names NVIDIA's plugins carry ("..._TRT");
// a custom plugin with another name is not enumerated, which is why every
// engine is reported (medium) as compiled code that cannot be inspected.
// Shared-library headers are searched in the first 64 MiB.
package tensorrt

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "tensorrt",
		Extensions: []string{".engine", ".plan", ".trt"},
		Priority:   45,
		Sniff:      func(p *formats.Probe) bool { _, ok := engineStart(p.Head); return ok },
		Analyze:    analyze,
	})
}

func isMagic(b []byte) bool {
	return len(b) >= 4 && (bytes.Equal(b[:4], []byte("ptrt")) || bytes.Equal(b[:4], []byte("ftrt")))
}

// engineStart returns where the engine begins: 0, or after a u32 length
// and that many bytes of JSON metadata.
func engineStart(head []byte) (int64, bool) {
	if len(head) < 24 {
		return 0, false
	}
	if isMagic(head) {
		return 0, true
	}
	n := int64(binary.LittleEndian.Uint32(head))
	if head[4] == '{' && n < int64(len(head))-8 && isMagic(head[4+n:]) {
		return 4 + n, true
	}
	return 0, false
}

// scanLimit bounds the search for embedded libraries and plugin names:
// plugin libraries are serialized with the engine's header data, and a
// 2 GB engine is mostly weights.
const scanLimit = 64 << 20

// libraryMagics are the starts of native shared libraries.
var libraryMagics = [][]byte{[]byte("\x7fELF"), []byte("MZ\x90\x00"), {0xcf, 0xfa, 0xed, 0xfe}}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("tensorrt")
	head := make([]byte, min(size, formats.HeadSize))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the engine header: %v", err)
		return
	}
	start, _ := engineStart(head)
	if start > 0 {
		s.Detail("metadata_bytes", strconv.FormatInt(start-4, 10))
	}
	// tensorrt/compiled-engine: the engine is compiled GPU code that runs
	// when it is deserialized; its content cannot be inspected, so it is
	// only as trustworthy as whoever built it.
	s.Reportf("tensorrt/compiled-engine", formats.Medium, start,
		"a TensorRT engine is compiled GPU code for one GPU and TensorRT version; deserializing it runs the builder's kernels, which cannot be inspected. Load engines only from builds you trust, or rebuild from the ONNX model")
	n := min(size, scanLimit)
	buf := make([]byte, 1<<20)
	var carry []byte
	found := map[string]bool{}
	for off := int64(0); off < n; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		if k <= 0 {
			if err != nil && err != io.EOF {
				s.Reportf("formats/read-error", formats.High, off, "cannot read the engine: %v", err)
			}
			break
		}
		chunk := append(carry, buf[:k]...)
		base := off - int64(len(carry))
		for _, m := range libraryMagics {
			if i := bytes.Index(chunk, m); i >= 0 && base+int64(i) > start && !found[string(m)] {
				found[string(m)] = true
				// tensorrt/embedded-library: a shared library inside the
				// engine (serialized plugin libraries), which the runtime
				// loads: native code shipped in the model.
				s.Reportf("tensorrt/embedded-library", formats.High, base+int64(i),
					"the engine contains a native shared library (%q header); TensorRT loads serialized plugin libraries when it deserializes the engine, so this is native code in the model", m)
			}
		}
		if i := bytes.Index(chunk, []byte("_TRT")); i >= 0 && !found["plugin"] {
			found["plugin"] = true
			// tensorrt/plugin: plugin layers run the native plugin code the
			// application (or the engine) provides.
			s.Reportf("tensorrt/plugin", formats.High, base+int64(i),
				"the engine references TensorRT plugin layers (%q); plugins are native code outside TensorRT that runs when the engine executes", string(chunk[i:min(len(chunk), i+32)]))
		}
		if len(chunk) > 8 {
			carry = append([]byte(nil), chunk[len(chunk)-8:]...)
		}
		off += int64(k)
	}
	if size > scanLimit {
		s.Detail("scanned_bytes", strconv.FormatInt(scanLimit, 10))
	}
}
